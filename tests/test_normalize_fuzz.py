"""Literals the real databases accept never reach a pattern.

Hypothesis writes literals in every form each database has (strings with quotes, backslashes,
dollars, comments and unicode inside; prefixed strings; dollar quotes; numbers; bit and hex
strings), puts them in statements (also glued to keywords), has the database run each one,
and checks the pattern is the statement's shape with ``?`` in place of the literal, or the
withheld pattern: never a character of the literal.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from hypothesis import HealthCheck
from hypothesis import assume
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from flask_perfkit.normalize import WITHHELD_NOTE
from flask_perfkit.normalize import PatternCache
from flask_perfkit.normalize import dialect_of
from flask_perfkit.normalize import normalize
from tests.conftest import MYSQL_URL
from tests.conftest import POSTGRES_URL
from tests.conftest import AppFactory
from tests.conftest import require

FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Characters that end, escape or open something in one dialect or another.
HOSTILE = "'\"`\\$#-/*;:?%()[]{}\n\r\t EeNnXxBbUu&_01aé€😀"
content = st.text(alphabet=st.sampled_from(HOSTILE) | st.characters(codec="utf-8"), max_size=24)
content = content.filter(lambda text: "\x00" not in text)
digits = st.integers(min_value=0, max_value=10**30)


def _doubled(text: str, quote: str = "'") -> str:
    return quote + text.replace(quote, quote * 2) + quote


@st.composite
def postgresql_literal(draw: st.DrawFn) -> str:
    text = draw(content)
    form = draw(st.sampled_from(["plain", "n", "e", "dollar", "unicode", "number", "bits"]))
    if form == "plain":
        return _doubled(text)
    if form == "n":
        return draw(st.sampled_from("Nn")) + _doubled(text)
    if form == "e":
        escaped = "".join(
            draw(st.sampled_from([f"\\{c}", f"\\x{ord(c):02x}", c * 2]))
            if c in "'\\"
            else draw(st.sampled_from([c, f"\\u{ord(c):04x}"]))
            if ord(c) < 0x10000 and c.isalnum()
            else c
            for c in text
        )
        return draw(st.sampled_from("Ee")) + "'" + escaped + "'"
    if form == "dollar":
        tag = draw(st.sampled_from(["", "tag", "_q1", "é"]))
        quote = f"${tag}$"
        assume((text + quote).find(quote) == len(text))
        return quote + text + quote
    if form == "unicode":
        escaped = "".join(
            "\\\\"
            if c == "\\"
            else draw(st.sampled_from([c, f"\\{ord(c):04x}"]))
            if ord(c) < 0x10000
            else f"\\+{ord(c):06x}"
            for c in text
        )
        return "U&" + _doubled(escaped)
    if form == "number":
        return draw(_number())
    return draw(st.sampled_from(["B", "b"])) + _doubled(draw(st.text("01", max_size=12)))


def _number() -> st.SearchStrategy[str]:
    return st.one_of(
        digits.map(str),
        st.tuples(digits, digits).map(lambda p: f"{p[0]}.{p[1]}"),
        digits.map(lambda n: f".{n}"),
        st.tuples(digits, st.integers(-300, 300)).map(lambda p: f"{p[0]}e{p[1]}"),
        st.tuples(digits, st.integers(0, 30)).map(lambda p: f"{p[0]}.E+{p[1]}"),
    )


@st.composite
def mysql_literal(draw: st.DrawFn) -> str:
    text = draw(content)
    form = draw(
        st.sampled_from(["single", "double", "introducer", "national", "hex", "bits", "number"])
    )
    if form == "number":
        return draw(_number())
    if form in {"single", "double", "introducer", "national"}:
        quote = '"' if form == "double" else draw(st.sampled_from(["'", '"']))
        escaped = "".join(
            draw(st.sampled_from([f"\\{c}", c * 2] if c == quote else [f"\\{c}"]))
            if c in {quote, "\\"}
            else draw(st.sampled_from([c, "\\n" if c == "\n" else c, "\\t" if c == "\t" else c]))
            for c in text
        )
        literal = quote + escaped + quote
        if form == "introducer":
            return draw(st.sampled_from(["_utf8mb4", "_binary", "_latin1"])) + literal
        if form == "national":
            return draw(st.sampled_from("Nn")) + literal
        return literal
    if form == "hex":
        hexed = text.encode().hex()
        return draw(st.sampled_from([f"X'{hexed}'", f"x'{hexed}'", f"0x{hexed or '00'}"]))
    if form == "bits":
        bits = draw(st.text("01", min_size=1, max_size=12))
        return draw(st.sampled_from([f"b'{bits}'", f"B'{bits}'", f"0b{bits}"]))
    raise AssertionError(form)  # pragma: no cover


@st.composite
def sqlite_literal(draw: st.DrawFn) -> str:
    text = draw(content)
    form = draw(st.sampled_from(["single", "double", "blob", "hex", "number"]))
    if form == "single":
        return _doubled(text)
    if form == "double":
        return _doubled(text, '"')
    if form == "blob":
        return draw(st.sampled_from("Xx")) + _doubled(text.encode().hex())
    if form == "hex":
        return hex(draw(st.integers(0, 2**63 - 1)))
    return draw(_number())


# Statements around the literal {0}; the second kind glues it to keywords.
TEMPLATES = [
    "SELECT {0} AS v",
    "SELECT 1 AS v /* it's */ WHERE {0} IS NOT NULL -- '\n",
    "SELECT CASE WHEN 1 = 1 THEN {0} END AS v",
]
GLUED = [
    "SELECT{0}AS v",
    "SELECT 1 AS v WHERE 1 = 1 AND{0}IS NOT NULL",
    "SELECT CASE WHEN 1 = 1 THEN{0}END AS v",
    "SELECT 'a' AS v WHERE 'a' LIKE{0}OR 1 = 1",
]


@st.composite
def statement_of(draw: st.DrawFn, literal: st.SearchStrategy[str]) -> tuple[str, str]:
    value = draw(literal)
    quoted = value[:1] in {"'", '"'} and value[-1:] in {"'", '"'}
    template = draw(st.sampled_from(TEMPLATES + GLUED if quoted else TEMPLATES))
    return template, value


@pytest.fixture(params=["sqlite", "postgres", "mysql"])
def connection(request: pytest.FixtureRequest) -> Iterator[sa.Connection]:
    if request.param == "sqlite":
        engine = sa.create_engine("sqlite://")
    elif request.param == "postgres":
        require("PostgreSQL", POSTGRES_URL)
        engine = sa.create_engine(POSTGRES_URL)
    else:
        require("MariaDB", MYSQL_URL)
        engine = sa.create_engine(MYSQL_URL, connect_args={"charset": "utf8mb4"})
    with engine.connect() as conn:
        yield conn
    engine.dispose()


LITERALS: dict[str, st.SearchStrategy[str]] = {
    "sqlite": sqlite_literal(),
    "postgresql": postgresql_literal(),
    "mysql": mysql_literal(),
}


def _accepted(conn: sa.Connection, statement: str) -> bool:
    """Whether the database runs ``statement``, sent as it is (no driver parameters)."""
    raw = conn.connection.dbapi_connection
    assert raw is not None
    cursor = raw.cursor()
    try:
        cursor.execute(statement)
        cursor.fetchall()
    except Exception as exc:
        if not isinstance(exc, conn.dialect.loaded_dbapi.Error):
            raise
        raw.rollback()
        return False
    finally:
        cursor.close()
    raw.rollback()
    return True


def test_literals_the_database_accepts_never_reach_the_pattern(connection: sa.Connection) -> None:
    dialect = dialect_of(connection.dialect.name)
    accepted: list[str] = []

    @FUZZ
    @given(statement_of(LITERALS[dialect]))
    def check(case: tuple[str, str]) -> None:
        template, value = case
        statement = template.format(value)
        assume(_accepted(connection, statement))
        accepted.append(value)
        pattern = normalize(statement, dialect)
        expected = normalize(template.format("?"), dialect)
        assert "?" in expected
        assert pattern in {expected, f"SELECT {WITHHELD_NOTE}"}, (statement, pattern)

    check()
    # The fuzz ran on literals the database took, in every form.
    assert len(accepted) > 100


@pytest.mark.parametrize(
    "value",
    ["s3cr3t", "it's", "C:\\", "a\\'b", "$$x$$", "é😀", "--x", "/*x", '"q"', "`b`"],
)
def test_rendered_literals_of_every_engine_never_reach_the_pattern(
    connection: sa.Connection, value: str
) -> None:
    # What SQLAlchemy writes with literal_binds, as in a logged or compiled statement.
    marker = "zq" + value
    statement = str(
        sa.select(sa.literal(marker, sa.String()).label("v")).compile(
            dialect=connection.dialect, compile_kwargs={"literal_binds": True}
        )
    )
    assert _accepted(connection, statement.replace("%%", "%"))
    pattern = normalize(statement, dialect_of(connection.dialect.name))
    assert "zq" not in pattern
    assert pattern in {"SELECT ? AS v", f"SELECT {WITHHELD_NOTE}"}


MARKER = "PLANTED"
HEX_MARKER = MARKER.encode().hex()
PLANTED = {
    "sqlite": [
        f'SELECT "{MARKER}" AS a',
        f"SELECT'{MARKER}'AS a",
        f"SELECT X'{HEX_MARKER}' AS a",
        f"SELECT 'C:\\' AS a, '{MARKER}' AS b",
        f"SELECT 1 AS a WHERE 'x' LIKE'{MARKER}%' OR 1 = 1",
    ],
    "postgresql": [
        f"SELECT 'C:\\' AS a, '{MARKER}' AS b",
        f"SELECT'{MARKER}'AS a",
        f"SELECT CASE WHEN true THEN'{MARKER}' END AS a",
        f"SELECT 1 AS a WHERE true AND'{MARKER}' LIKE'{MARKER}%'",
        f"SELECT E'{MARKER}\\'s' AS a",
        f"SELECT $${MARKER}'$$ AS a, $t${MARKER}$$ $t$ AS b",
        f"SELECT U&'{MARKER}\\0041' AS a, N'{MARKER}' AS b",
        f"SELECT X'{HEX_MARKER}' AS a",
    ],
    "mysql": [
        f'SELECT "{MARKER}" AS a',
        f"SELECT _utf8mb4'{MARKER}' AS a, N'{MARKER}' AS b",
        f"SELECT X'{HEX_MARKER}' AS a, 0x{HEX_MARKER} AS b",
        f"SELECT 'it\\'s {MARKER}' AS a",
        f"SELECT /*!50000 '{MARKER}' AS */ a",
        f"SELECT 1 AS a # '{MARKER}\n",
        f"SELECT'{MARKER}'AS a",
    ],
}


def _served(client: FlaskClient) -> list[str]:
    """The bodies of every profiling endpoint."""
    bodies = []
    for path in (
        "/health/profiling",
        "/health/profiling/queries?limit=1000",
        "/health/profiling/slow-queries?limit=1000",
        "/health/profiling/n-plus-one",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        bodies.append(response.get_data(as_text=True))
    return bodies


def test_planted_literals_are_never_served(make_app: AppFactory, database_url: str) -> None:
    app, db, _ = make_app(
        database_url,
        PERFKIT_SLOW_QUERY_MS=0,
        PERFKIT_HEALTH_SHOW_DETAILS="always",
        PERFKIT_N_PLUS_ONE_THRESHOLD=2,
    )
    with app.app_context():
        statements = PLANTED[dialect_of(db.engine.dialect.name)]

    @app.get("/plant")
    def plant() -> dict[str, int]:
        with db.engine.connect() as conn:
            for statement in statements:
                for _ in range(3):
                    conn.execute(sa.text(statement)).fetchall()
        return {"ran": len(statements)}

    client = app.test_client()
    assert client.get("/plant").status_code == 200
    bodies = _served(client)
    assert all(MARKER not in body and HEX_MARKER not in body for body in bodies)
    queries = client.get("/health/profiling/queries?limit=1000").get_json()["queries"]
    assert sum(q["calls"] for q in queries) >= 3 * len(statements)
    slow = client.get("/health/profiling/slow-queries?limit=1000").get_json()
    assert len(slow["slow_queries"]) >= len(statements)


def test_each_bind_is_read_by_its_own_dialect(make_app: AppFactory) -> None:
    require("PostgreSQL", POSTGRES_URL)
    require("MariaDB", MYSQL_URL)
    app, db, perfkit = make_app("sqlite://", SQLALCHEMY_BINDS={"pg": POSTGRES_URL, "my": MYSQL_URL})
    statement = 'SELECT "kept" FROM (SELECT 1 AS kept) AS s'
    with app.app_context():
        for bind in ("pg", "my"):
            with db.engines[bind].connect() as conn:
                ran = conn.execute(sa.text(statement.replace('"', "" if bind == "my" else '"')))
                assert ran.scalar() == 1
        with db.engine.connect() as conn:
            assert conn.execute(sa.text(f'SELECT "{MARKER}" AS v')).scalar() == MARKER
        with db.engines["my"].connect() as conn:
            assert conn.execute(sa.text(f'SELECT "{MARKER}" AS v')).scalar() == MARKER
        queries = {p.query: p.calls for p in perfkit.profiler.patterns()}
    # A name on PostgreSQL, a string on SQLite and MariaDB.
    assert queries['SELECT "kept" FROM (SELECT ? AS kept) AS s'] == 1
    assert queries["SELECT ? AS v"] == 2
    assert not any(MARKER in query for query in queries)


def test_the_cache_gives_every_thread_the_same_patterns() -> None:
    cache = PatternCache(limit=64)
    statements = [(d, f"SELECT 'x{i}' AS \"c{i % 7}\"") for i in range(400) for d in LITERALS]
    expected = [normalize(statement, dialect) for dialect, statement in statements]
    results: list[list[str]] = []

    def work() -> None:
        results.append([cache.get(statement, dialect).text for dialect, statement in statements])

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 8
    stats = cache.stats()
    assert stats["size"] <= 64
    assert stats["evictions"] > 0


# Settings take a value as a bare word or a quoted name as well as a string: the value is a
# literal whatever its quoting. Statements the database refuses are timed and served too.
ROLE = "perfkit_t12_role"
SETTINGS = {
    "sqlite": [
        f"PRAGMA perfkit_none = {MARKER}",
        f'PRAGMA perfkit_none = "{MARKER}"',
        f"PRAGMA perfkit_none({MARKER})",
    ],
    "postgresql": [
        f"SET app.perfkit_key TO {MARKER}",
        f'SET app.perfkit_key = "{MARKER}"',
        f"SET SESSION app.perfkit_key TO {MARKER}, other",
        f"SET LOCAL app.perfkit_key = {MARKER}",
        f"ALTER ROLE {ROLE} SET app.perfkit_key TO {MARKER}",
        f'ALTER ROLE {ROLE} IN DATABASE postgres SET app.perfkit_key = "{MARKER}"',
    ],
    "mysql": [
        f"SET @perfkit_v = {MARKER}",
        f"SET @perfkit_v = 1, @perfkit_w = {MARKER}",
        f"SET SESSION sql_mode = {MARKER}",
        f"SET @@session.sql_mode = `{MARKER}`",
        f"SET @perfkit_v := ${MARKER}",
    ],
}


def test_setting_values_are_never_served(make_app: AppFactory, database_url: str) -> None:
    app, db, _ = make_app(
        database_url, PERFKIT_SLOW_QUERY_MS=0, PERFKIT_HEALTH_SHOW_DETAILS="always"
    )
    with app.app_context():
        dialect = dialect_of(db.engine.dialect.name)
        engine = db.engine
    statements = SETTINGS[dialect]
    if dialect == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS {ROLE}")
            conn.exec_driver_sql(f"CREATE ROLE {ROLE}")

    @app.get("/set")
    def set_values() -> dict[str, int]:
        refused = 0
        for statement in statements:
            with engine.connect() as conn:
                try:
                    conn.exec_driver_sql(statement)
                except sa.exc.DBAPIError:
                    refused += 1
        return {"refused": refused}

    client = app.test_client()
    try:
        assert client.get("/set").status_code == 200
    finally:
        if dialect == "postgresql":
            with engine.begin() as conn:
                conn.exec_driver_sql(f"DROP ROLE IF EXISTS {ROLE}")
    assert all(MARKER not in body for body in _served(client))
    patterns = {q["query"] for q in client.get("/health/profiling/queries").get_json()["queries"]}
    assert {normalize(statement, dialect) for statement in statements} <= patterns
