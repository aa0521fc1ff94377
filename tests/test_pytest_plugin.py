"""The pytest plugin, run with pytester on a small Flask-SQLAlchemy project.

Each test writes the project (``tests/plugin_app.py``) and a test module into pytester's
directory and runs pytest there, on SQLite and, where the database matters, on PostgreSQL.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests import plugin_app
from tests.conftest import POSTGRES_URL
from tests.conftest import require

pytest_plugins = ["pytester"]

#: The peers the benchmarks compare with are pytest plugins too, and also know
#: ``max_queries``: they stay off in these runs.
PEERS = ("-p", "no:querycount", "-p", "no:queryguard")

N_PLUS_ONE = """
def test_posts(client, perfkit_queries):
    assert client.get("/posts").json == [1, 1, 1, 1, 1, 1]
"""


@pytest.fixture(params=["sqlite", "postgres"])
def project(
    request: pytest.FixtureRequest, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    """pytester's directory holding the project, on SQLite or PostgreSQL."""
    if request.param == "postgres":
        require("PostgreSQL", POSTGRES_URL)
        monkeypatch.setenv("PLUGIN_DATABASE_URL", POSTGRES_URL)
    else:
        monkeypatch.setenv("PLUGIN_DATABASE_URL", f"sqlite:///{pytester.path / 'app.db'}")
    return _write_project(pytester)


@pytest.fixture
def sqlite_project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PLUGIN_DATABASE_URL", f"sqlite:///{pytester.path / 'app.db'}")
    return _write_project(pytester)


def _write_project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(app=plugin_app.APP, conftest=plugin_app.CONFTEST)
    pytester.makeini("[pytest]\nfilterwarnings =\n    error\n")
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """Run pytest in this process; flask_perfkit is imported already, so pytest cannot
    rewrite its asserts, and says so."""
    rewrite = ("-W", "ignore::pytest.PytestAssertRewriteWarning")
    return pytester.runpytest(*PEERS, *rewrite, "-p", "no:cacheprovider", *args)


def test_n_plus_one_fails_naming_the_pattern_and_the_users_line(project: pytest.Pytester) -> None:
    project.makepyfile(test_views=N_PLUS_ONE)
    result = run(project)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*N+1 queries: 6 executions of one SELECT in GET /posts",
            "*FROM plugin_comment WHERE ?* = plugin_comment.post_id",
            "*issued from app.py:* in posts: return jsonify(*# the N+1 line",
            "*add selectinload() for that relationship*",
            "*query id *; @pytest.mark.allow_n_plus_one accepts it)",
        ]
    )
    # No bound value of the lazy loads is shown.
    assert "plugin_comment.post_id = 1" not in result.stdout.str()


def test_the_same_view_with_selectinload_passes(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_views="""
        def test_posts(client, perfkit_queries):
            with perfkit_queries() as q:
                assert client.get("/posts-eager").json == [1, 1, 1, 1, 1, 1]
            q.assert_count(2)
            q.assert_max(2)
        """
    )
    run(project).assert_outcomes(passed=1)


def test_max_queries_passes_and_fails(sqlite_project: pytest.Pytester) -> None:
    sqlite_project.makepyfile(
        test_views="""
        import pytest

        @pytest.mark.max_queries(2)
        def test_within(client):
            client.get("/posts-eager")

        @pytest.mark.max_queries(1)
        def test_over(client):
            client.get("/posts-eager")

        @pytest.mark.max_queries(1, bind="default")
        def test_over_on_the_bind(client):
            client.get("/posts-eager")

        @pytest.mark.max_queries(0, bind="audit")
        def test_other_bind_ran_nothing(client):
            client.get("/posts-eager")
        """
    )
    result = run(sqlite_project)
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*2 queries ran where @pytest.mark.max_queries allows 1:",
            "*1 x SELECT plugin_post.id, plugin_post.title FROM plugin_post ORDER BY*",
            "*2 queries ran on the bind 'default' where @pytest.mark.max_queries allows 1:",
        ]
    )


def test_allow_n_plus_one(sqlite_project: pytest.Pytester) -> None:
    sqlite_project.makepyfile(
        test_views="""
        import pytest

        @pytest.mark.allow_n_plus_one
        def test_any(client, perfkit_queries):
            client.get("/posts")

        @pytest.mark.allow_n_plus_one("plugin_comment")
        def test_this_one(client, perfkit_queries):
            client.get("/posts")

        @pytest.mark.allow_n_plus_one("some_other_table")
        def test_another(client, perfkit_queries):
            client.get("/posts")
        """
    )
    result = run(sqlite_project)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["FAILED test_views.py::test_another*"])


@pytest.mark.parametrize(
    ("args", "ini"),
    [(("--perfkit-n-plus-one=warn",), ""), ((), "perfkit_n_plus_one = warn")],
    ids=["option", "ini"],
)
def test_warn_mode(sqlite_project: pytest.Pytester, args: tuple[str, ...], ini: str) -> None:
    # Under pytest's usual filters, not the "error" of this suite, which an in-process run
    # inherits.
    sqlite_project.makeini(f"[pytest]\nfilterwarnings =\n    default\n{ini}\n")
    sqlite_project.makepyfile(test_views=N_PLUS_ONE)
    result = run(sqlite_project, *args)
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(["*NPlusOneWarning: N+1 queries: 6 executions*"])


def test_off_mode(sqlite_project: pytest.Pytester) -> None:
    sqlite_project.makepyfile(test_views=N_PLUS_ONE)
    result = run(sqlite_project, "--perfkit-n-plus-one=off")
    result.assert_outcomes(passed=1)
    assert "N+1" not in result.stdout.str()


def test_a_test_using_none_of_it_is_left_alone(sqlite_project: pytest.Pytester) -> None:
    sqlite_project.makepyfile(
        test_views="""
        def test_posts(client):
            assert client.get("/posts").json == [1, 1, 1, 1, 1, 1]
        """
    )
    result = run(sqlite_project)
    result.assert_outcomes(passed=1)
    assert "perfkit:" not in result.stdout.str()
    assert not (sqlite_project.path / ".perfkit-queries.json").exists()


def test_turned_off_with_p_no_perfkit(sqlite_project: pytest.Pytester) -> None:
    sqlite_project.makepyfile(
        test_views="""
        def test_posts(client):
            assert client.get("/posts").json == [1, 1, 1, 1, 1, 1]
        """
    )
    sqlite_project.makepyfile(test_lazy=N_PLUS_ONE)
    result = run(sqlite_project, "-p", "no:perfkit")
    # Without the plugin there is no perfkit_queries fixture, and no N+1 check.
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*fixture 'perfkit_queries' not found"])
    assert "flask-perfkit" not in result.stdout.str()
    assert "N+1" not in result.stdout.str()
    result = run(sqlite_project, "-p", "no:perfkit", "--perfkit-record")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert not (sqlite_project.path / ".perfkit-queries.json").exists()


def test_record_then_growth_fails_and_shrinkage_passes(project: pytest.Pytester) -> None:
    head, body = "def test_posts(client):\n", '    client.get("/posts-eager")\n'
    project.makepyfile(test_views=head + body * 2)
    run(project, "--perfkit-record").assert_outcomes(passed=1)
    path = project.path / ".perfkit-queries.json"
    first = path.read_text()
    records = json.loads(first)["tests"]
    assert records["test_views.py::test_posts"]["count"] == 4
    run(project, "--perfkit-record").assert_outcomes(passed=1)
    assert path.read_text() == first

    project.makepyfile(test_views=head + body * 3)
    grown = run(project)
    grown.assert_outcomes(failed=1)
    grown.stdout.fnmatch_lines(
        [
            "*6 queries ran where 4 are recorded; added:",
            "*+1   SELECT plugin_post.id, plugin_post.title FROM plugin_post ORDER BY*(2 -> 3)",
            "*run with --perfkit-record to accept the new count*",
        ]
    )

    project.makepyfile(test_views=head + body)
    shrunk = run(project)
    shrunk.assert_outcomes(passed=1)
    shrunk.stdout.fnmatch_lines(
        ["*perfkit: fewer queries than recorded*", "*test_views.py::test_posts: 4 -> 2"]
    )
    assert path.read_text() == first


def test_queries_have_the_production_query_ids(sqlite_project: pytest.Pytester) -> None:
    sqlite_project.makepyfile(
        test_views="""
        from conftest import seeded
        from flask_perfkit import PerfKit

        def test_ids(perfkit_queries):
            app = seeded(perfkit=True)
            client = app.test_client()
            with perfkit_queries() as q, perfkit_queries(bind="default") as on_default:
                client.get("/posts-eager")
            with perfkit_queries(bind="audit") as elsewhere:
                client.get("/posts-eager")
            with app.app_context():
                profiled = app.extensions["perfkit"].profiler.patterns()
            production = {p.query: p.query_id for p in profiled}
            assert q.count == 2 and on_default.count == 2 and elsewhere.count == 0
            assert {p.query: p.query_id for p in q.patterns}.items() <= production.items()
            assert [p.count for p in q.patterns] == [1, 1]
        """
    )
    run(sqlite_project).assert_outcomes(passed=1)


def test_a_plain_app_factory_and_an_app_with_perfkit(sqlite_project: pytest.Pytester) -> None:
    sqlite_project.makepyfile(
        test_views="""
        import pytest
        from conftest import seeded

        @pytest.mark.parametrize("perfkit", [False, True])
        def test_posts(perfkit, perfkit_queries):
            seeded(perfkit).test_client().get("/posts")
        """
    )
    result = run(sqlite_project)
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*N+1 queries: 6 executions*"] * 2)


def test_terminal_summary_and_quiet(sqlite_project: pytest.Pytester) -> None:
    sqlite_project.makepyfile(
        test_views="""
        import pytest

        @pytest.mark.max_queries(10)
        def test_eager(client):
            client.get("/posts-eager")
        """
    )
    result = run(sqlite_project)
    result.stdout.fnmatch_lines(
        [
            "*= perfkit: SQL queries =*",
            "2 queries in 1 watched test, * ms of SQL",
            "most queries:",
            "*2  test_views.py::test_eager",
            "most repeated patterns:",
            "*1  SELECT plugin_post.id, plugin_post.title FROM plugin_post ORDER BY * (1 test)",
        ]
    )
    assert "perfkit" not in run(sqlite_project, "-q").stdout.str()


def test_pytest_xdist(sqlite_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("xdist")
    # A database in memory for each worker.
    monkeypatch.setenv("PLUGIN_DATABASE_URL", "sqlite://")
    sqlite_project.makepyfile(
        test_views="""
        import pytest

        @pytest.mark.parametrize("n", range(4))
        def test_eager(client, n):
            for _ in range(n):
                client.get("/posts-eager")

        def test_lazy(client, perfkit_queries):
            client.get("/posts")
        """
    )
    result = sqlite_project.runpytest_subprocess(*PEERS, "-n", "2", "--perfkit-record")
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines(["*N+1 queries: 6 executions*", "19 queries in 5 watched tests*"])
    records = json.loads((sqlite_project.path / ".perfkit-queries.json").read_text())["tests"]
    counts = {nodeid.partition("::")[2]: r["count"] for nodeid, r in records.items()}
    assert counts == {f"test_eager[{n}]": 2 * n for n in range(4)}


def test_explain_warns_about_sequential_scans(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    require("PostgreSQL", POSTGRES_URL)
    monkeypatch.setenv("PLUGIN_DATABASE_URL", POSTGRES_URL)
    _write_project(pytester)
    pytester.makeini("[pytest]\nfilterwarnings =\n    default\nperfkit_explain_min_rows = 500\n")
    pytester.makepyfile(test_scans=EXPLAINED)
    result = run(pytester, "--perfkit-explain")
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(
        [
            "*SeqScanWarning: Sequential scan on public.plugin_big (more than 500 rows) with the"
            " filter ((plugin_big.tag)::text = ?::text), for: SELECT plugin_big.code,"
            " plugin_big.tag FROM plugin_big WHERE plugin_big.tag = ?::VARCHAR.*"
        ]
    )
    assert "'needle'" not in result.stdout.str()


CATALOG = """
import sqlalchemy as sa
from conftest import seeded
from app import db


def test_reflection(perfkit_queries):
    app = seeded()
    with app.app_context():
        inspector = sa.inspect(db.engine)
        for n in range(8):
            assert not inspector.has_table(f"plugin_missing_{n}")
        db.engine.dispose()
"""


def test_reading_the_catalog_table_by_table_is_no_n_plus_one(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    require("PostgreSQL", POSTGRES_URL)
    monkeypatch.setenv("PLUGIN_DATABASE_URL", POSTGRES_URL)
    _write_project(pytester)
    pytester.makepyfile(test_catalog=CATALOG)
    run(pytester).assert_outcomes(passed=1)


EXPLAINED = """
import sqlalchemy as sa
from conftest import seeded
from app import db


def test_scans():
    app = seeded()
    with app.app_context():
        db.session.execute(sa.text("DROP TABLE IF EXISTS plugin_big"))
        db.session.execute(sa.text(
            "CREATE TABLE plugin_big (id serial PRIMARY KEY, code int, tag varchar(20))"
        ))
        db.session.execute(sa.text("CREATE INDEX plugin_big_code ON plugin_big (code)"))
        db.session.execute(sa.text(
            "INSERT INTO plugin_big (code, tag)"
            " SELECT n, 'tag' || n FROM generate_series(1, 2000) n"
        ))
        db.session.execute(sa.text("ANALYZE plugin_big"))
        big = sa.table("plugin_big", sa.column("code"), sa.column("tag", sa.String))
        db.session.execute(sa.select(big).where(big.c.tag == "needle")).all()
        db.session.execute(sa.select(big).where(big.c.code == 5)).all()
        db.session.execute(sa.select(big).where(big.c.tag == "needle")).all()
        db.session.rollback()
        db.drop_all()
        db.engine.dispose()
"""


@pytest.mark.parametrize("watched", [False, True], ids=["plain", "watched"])
def test_a_crashed_xdist_worker_is_reported_as_without_the_plugin(
    sqlite_project: pytest.Pytester, watched: bool
) -> None:
    pytest.importorskip("xdist")
    fixture = "perfkit_queries" if watched else ""
    sqlite_project.makepyfile(
        test_crash=f"""
        import os

        def test_ok({fixture}):
            pass

        def test_crash():
            os._exit(1)

        def test_ok2({fixture}):
            pass
        """
    )
    result = sqlite_project.runpytest_subprocess(*PEERS, "-n", "2")
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(["*worker 'gw*' crashed while running*test_crash*"])
    result.assert_outcomes(passed=2, failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_importing_the_plugin_imports_neither_flask_nor_sqlalchemy() -> None:
    code = (
        "import sys\n"
        "import flask_perfkit.pytest_plugin\n"
        "heavy = ('flask', 'sqlalchemy', 'werkzeug', 'flask_perfkit.extension')\n"
        "print([name for name in heavy if name in sys.modules])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("marker", "shown"),
    [
        ('max_queries("3")', "max_queries('3')"),
        ("max_queries", "max_queries"),
        ("max_queries(1.5)", "max_queries(1.5)"),
        ("max_queries(n=2)", "max_queries(n=2)"),
        ("max_queries(2, 3)", "max_queries(2, 3)"),
        ("max_queries(-1)", "max_queries(-1)"),
        ("max_queries(True)", "max_queries(True)"),
        ("max_queries(2, bind=3)", "max_queries(2, bind=3)"),
        ("allow_n_plus_one(3)", "allow_n_plus_one(3)"),
    ],
)
def test_bad_marker_arguments_stop_the_test_before_it_runs(
    sqlite_project: pytest.Pytester, marker: str, shown: str
) -> None:
    sqlite_project.makepyfile(
        test_views=f"""
        import pytest

        @pytest.mark.{marker}
        def test_posts(client):
            print("the body ran")
        """
    )
    result = run(sqlite_project, "-s")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [f"test_views.py::test_posts: @pytest.mark.{shown} is not usable: *."]
    )
    assert "the body ran" not in result.stdout.str()
    assert "Traceback" not in result.stdout.str()


def test_the_closest_max_queries_marker_wins(sqlite_project: pytest.Pytester) -> None:
    sqlite_project.makepyfile(
        test_views="""
        import pytest

        pytestmark = pytest.mark.max_queries(1)

        @pytest.mark.max_queries(10)
        def test_function_allows_more(client):
            client.get("/posts-eager")

        @pytest.mark.max_queries(10)
        class TestClass:
            @pytest.mark.max_queries(1)
            def test_function_allows_less(self, client):
                client.get("/posts-eager")

            @pytest.mark.max_queries(0, bind="audit")
            def test_another_bind_keeps_the_class_budget(self, client):
                client.get("/posts-eager")
        """
    )
    result = run(sqlite_project)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["FAILED *test_function_allows_less*"])


def test_a_bind_budget_lists_only_that_binds_patterns(sqlite_project: pytest.Pytester) -> None:
    sqlite_project.makepyfile(
        test_views="""
        import pytest

        @pytest.mark.max_queries(1, bind="audit")
        def test_audit(client):
            client.get("/audit")
        """
    )
    result = run(sqlite_project)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*2 queries ran on the bind 'audit' where @pytest.mark.max_queries allows 1:",
            "*1 x SELECT plugin_audit.id FROM plugin_audit",
            "*1 x SELECT plugin_audit.id FROM plugin_audit WHERE *",
        ]
    )
    failure = result.stdout.str().partition("perfkit: SQL queries")[0]
    assert "FROM plugin_post" not in failure


def test_an_unknown_bind_fails_the_test(sqlite_project: pytest.Pytester) -> None:
    sqlite_project.makepyfile(
        test_views="""
        import pytest

        def test_recorder(client, perfkit_queries):
            with perfkit_queries(bind="typo") as q:
                client.get("/posts-eager")
            q.assert_max(0)

        @pytest.mark.max_queries(2, bind="nope")
        def test_marker(client):
            client.get("/posts-eager")

        def test_known_bind_that_ran_nothing(app, perfkit_queries):
            with perfkit_queries(bind="audit") as q:
                pass
            q.assert_count(0)
        """
    )
    result = run(sqlite_project)
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*No engine of the apps this test used has the bind 'typo' *;"
            " the binds known are: 'audit', 'default'.",
            "*No engine of the apps this test used has the bind 'nope' *",
        ]
    )


def test_explain_never_runs_a_statement_again(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    require("PostgreSQL", POSTGRES_URL)
    monkeypatch.setenv("PLUGIN_DATABASE_URL", POSTGRES_URL)
    _write_project(pytester)
    pytester.makepyfile(
        test_multi="""
        import sqlalchemy as sa
        from app import db

        def test_multi(app):
            db.session.execute(sa.text("CREATE TABLE IF NOT EXISTS plugin_audit_log (n int)"))
            db.session.execute(sa.text("DELETE FROM plugin_audit_log"))
            db.session.connection().exec_driver_sql(
                "SELECT id FROM plugin_post WHERE title = 'x'; INSERT INTO plugin_audit_log"
                " VALUES (1)"
            )
            db.session.connection().exec_driver_sql(
                "SELECT 1; DO $$ BEGIN INSERT INTO plugin_audit_log VALUES (2); END $$"
            )
            found = db.session.scalars(sa.text("SELECT n FROM plugin_audit_log ORDER BY n"))
            rows = list(found)
            db.session.execute(sa.text("DROP TABLE plugin_audit_log"))
            db.session.commit()
            assert rows == [1, 2]
        """
    )
    run(pytester, "--perfkit-explain").assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("statement", "explained"),
    [
        ("SELECT 1", True),
        ("select 1;\n", True),
        ("/* a comment */ (SELECT 1) UNION (SELECT 2)", True),
        ("-- a comment\nWITH a AS (SELECT 1) SELECT * FROM a", True),
        ("SELECT id FROM post; INSERT INTO audit VALUES (1)", False),
        ("SELECT ';'", False),
        ("DO $$ BEGIN PERFORM 1; END $$", False),
        ("CALL refresh()", False),
        ("COPY post TO STDOUT", False),
        ("SET search_path TO public", False),
        ("CREATE TABLE copy AS SELECT 1", False),
        ("/* /* nested */ */ SELECT 1", False),
    ],
)
def test_explainable_statements(statement: str, explained: bool) -> None:
    from flask_perfkit.testing.explain import explainable

    assert explainable(statement) is explained


RECORDS_PROBLEMS = [
    ('{"version": 1}', 'must be an object with the keys "version" and "tests" only'),
    ('{"version": 2, "tests": {}}', '"version" is 2, where this flask-perfkit reads 1'),
    ('{"version": 1, "tests": null}', '"tests" must be an object of records'),
    ('{"version": 1, "tests": []}', '"tests" must be an object of records'),
    ('{"version": 1, "tests": {"t.py::t": null}}', "the record of 't.py::t' must be an object*"),
    (
        '{"version": 1, "tests": {"t.py::t": {"count": "3", "patterns": {}}}}',
        "the record of 't.py::t' has the count '3', not a whole number*",
    ),
    ('{"version": 1, "tests": {"t.py::t": {"count": 3}}}', "the record of 't.py::t' must be*"),
    (
        '{"version": 1, "tests": {"t.py::t": {"count": 0, "patterns": []}}}',
        "the record of 't.py::t' \"patterns\" must be an object*",
    ),
    ('{"version": 1, "tests": {', "cannot be read: *"),
    ("[" * 100_000 + "]" * 100_000, "cannot be read: *"),
]


@pytest.mark.parametrize(("text", "problem"), RECORDS_PROBLEMS)
@pytest.mark.parametrize("record", [False, True], ids=["check", "record"])
def test_a_bad_records_file_stops_the_run_naming_it(
    sqlite_project: pytest.Pytester, text: str, problem: str, record: bool
) -> None:
    sqlite_project.makepyfile(test_views="def test_nothing():\n    pass\n")
    path = sqlite_project.path / ".perfkit-queries.json"
    path.write_text(text, encoding="utf-8")
    result = run(sqlite_project, *(["--perfkit-record"] if record else []))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: The query-count records file {path} *{problem}*"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert path.read_text(encoding="utf-8") == text


def test_an_unreadable_records_file_stops_the_run_naming_it(
    sqlite_project: pytest.Pytester,
) -> None:
    sqlite_project.makepyfile(test_views="def test_nothing():\n    pass\n")
    path = sqlite_project.path / ".perfkit-queries.json"
    path.write_bytes(b'{"version": 1, "tests": {"t.py::\xff": {}}}')
    result = run(sqlite_project)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: The query-count records file {path} cannot be read: *"])
    path.unlink()
    path.mkdir()
    result = run(sqlite_project, "--perfkit-record")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: The query-count records file {path} cannot be read: *"])
    assert path.is_dir()


def test_a_records_file_with_a_byte_order_mark_is_read(sqlite_project: pytest.Pytester) -> None:
    sqlite_project.makepyfile(test_views="def test_nothing():\n    pass\n")
    path = sqlite_project.path / ".perfkit-queries.json"
    records = {"test_views.py::test_nothing": {"count": 1, "patterns": {"SELECT ?": 1}}}
    path.write_text("\ufeff" + json.dumps({"version": 1, "tests": records}), encoding="utf-8")
    result = run(sqlite_project)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_views.py::test_nothing: 1 -> 0"])


def test_the_apps_threshold_holds_outside_requests(sqlite_project: pytest.Pytester) -> None:
    sqlite_project.makepyfile(
        test_views="""
        import pytest
        from app import count_comments
        from conftest import seeded

        @pytest.fixture(params=[5, 10])
        def threshold(request):
            return request.param

        def test_app_context(threshold, perfkit_queries):
            app = seeded(perfkit=True, PERFKIT_N_PLUS_ONE_THRESHOLD=threshold)
            with app.app_context():
                assert count_comments() == [1] * 6

        def test_cli(threshold, perfkit_queries):
            app = seeded(perfkit=True, PERFKIT_N_PLUS_ONE_THRESHOLD=threshold)
            assert app.test_cli_runner().invoke(args=["count-comments"]).exit_code == 0
        """
    )
    result = run(sqlite_project)
    result.assert_outcomes(passed=2, failed=2)
    failed = {line.split()[1] for line in result.outlines if line.startswith("FAILED")}
    assert failed == {"test_views.py::test_app_context[5]", "test_views.py::test_cli[5]"}


def test_a_loop_of_plain_statements_is_told_to_fetch_the_rows_at_once(
    sqlite_project: pytest.Pytester,
) -> None:
    sqlite_project.makepyfile(
        test_views="""
        import sqlalchemy as sa

        def test_loop(app, perfkit_queries):
            engine = sa.create_engine("sqlite://")
            with engine.connect() as connection:
                for i in range(6):
                    connection.execute(sa.text("select :i"), {"i": i})
        """
    )
    result = run(sqlite_project)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*The same statement runs once per row: fetch the rows in one statement instead*"]
    )
    assert "selectinload" not in result.stdout.str()


def test_an_n_plus_one_in_a_template_string_names_the_line_that_renders_it(
    sqlite_project: pytest.Pytester,
) -> None:
    sqlite_project.makepyfile(
        test_views="""
        from flask import render_template_string
        from app import Post, db

        PAGE = "{% for post in posts %}\\n{{ post.comments|length }}{% endfor %}"

        def test_page(app, perfkit_queries):
            @app.get("/page")
            def page():
                found = db.session.scalars(db.select(Post)).all()
                return render_template_string(PAGE, posts=found)

            app.test_client().get("/page")
        """
    )
    result = run(sqlite_project)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*issued from test_views.py:10 in page (line 2 of the template string it renders):"
            " return render_template_string(PAGE, posts=found)"
        ]
    )


def test_the_warnings_point_at_the_test(sqlite_project: pytest.Pytester) -> None:
    sqlite_project.makeini("[pytest]\nfilterwarnings =\n    default\n")
    sqlite_project.makepyfile(test_views="# The views.\n" + N_PLUS_ONE)
    result = run(sqlite_project, "--perfkit-n-plus-one=warn")
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(["*/test_views.py:3: NPlusOneWarning: N+1 queries: 6 executions*"])
    assert "session.py" not in result.stdout.str()


def test_recorder_misuse_is_refused_clearly(sqlite_project: pytest.Pytester) -> None:
    sqlite_project.makepyfile(
        test_views="""
        import pytest

        def test_nested(app, perfkit_queries):
            q = perfkit_queries()
            with q:
                with pytest.raises(RuntimeError, match="recording already"):
                    with q:
                        pass

        def test_not_a_number(app, perfkit_queries):
            with perfkit_queries() as q:
                pass
            with pytest.raises(TypeError, match="a whole number of statements.*not '3'"):
                q.assert_max("3")
            with pytest.raises(TypeError, match="not True"):
                q.assert_count(True)
        """
    )
    run(sqlite_project).assert_outcomes(passed=2)


def test_messages_of_one_query(sqlite_project: pytest.Pytester) -> None:
    head, body = "def test_one(client):\n", '    client.get("/audit")\n'
    sqlite_project.makepyfile(
        test_views="""
        import pytest
        import sqlalchemy as sa

        @pytest.mark.max_queries(0)
        def test_one(app):
            with sa.create_engine("sqlite://").connect() as connection:
                connection.execute(sa.text("select 1"))
        """
    )
    result = run(sqlite_project)
    result.stdout.fnmatch_lines(
        ["1 query ran where @pytest.mark.max_queries allows 0:", "1 query in 1 watched test, *"]
    )
    path = sqlite_project.path / ".perfkit-queries.json"
    records = {"test_views.py::test_one": {"count": 1, "patterns": {"SELECT ?": 1}}}
    path.write_text(json.dumps({"version": 1, "tests": records}))
    sqlite_project.makepyfile(test_views=head + body)
    run(sqlite_project).stdout.fnmatch_lines(["3 queries ran where 1 is recorded; added:"])


def test_allow_n_plus_one_ignores_case(sqlite_project: pytest.Pytester) -> None:
    sqlite_project.makepyfile(
        test_views="""
        import pytest

        @pytest.mark.allow_n_plus_one("from PLUGIN_COMMENT where")
        def test_posts(client, perfkit_queries):
            client.get("/posts")
        """
    )
    run(sqlite_project).assert_outcomes(passed=1)


def test_record_drops_the_records_of_deleted_test_files(sqlite_project: pytest.Pytester) -> None:
    path = sqlite_project.path / ".perfkit-queries.json"
    gone = {"count": 1, "patterns": {"SELECT ?": 1}}
    path.write_text(json.dumps({"version": 1, "tests": {"test_gone.py::test_x": gone}}))
    sqlite_project.makepyfile(test_views="def test_nothing():\n    pass\n")
    run(sqlite_project, "--perfkit-record").assert_outcomes(passed=1)
    assert json.loads(path.read_text())["tests"] == {
        "test_views.py::test_nothing": {"count": 0, "patterns": {}}
    }
