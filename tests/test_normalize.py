from __future__ import annotations

import gc
import subprocess
import sys
import tracemalloc
import weakref

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flask_perfkit.normalize import LARGE_CACHE_CHARS
from flask_perfkit.normalize import MAX_PATTERN_LENGTH
from flask_perfkit.normalize import MAX_TAIL_LENGTH
from flask_perfkit.normalize import MAX_TOKENS
from flask_perfkit.normalize import WITHHELD_NOTE
from flask_perfkit.normalize import PatternCache
from flask_perfkit.normalize import dialect_of
from flask_perfkit.normalize import normalize
from flask_perfkit.normalize import query_id
from tests.conftest import AppFactory

DIALECTS = ["postgresql", "mysql", "sqlite", "generic"]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(
    ("statement", "pattern"),
    [
        ("SELECT * FROM users WHERE email='a@x'", "SELECT * FROM users WHERE email=?"),
        ("SELECT * FROM users WHERE email = 'b@y'", "SELECT * FROM users WHERE email = ?"),
        ("SELECT id FROM t WHERE id IN (1)", "SELECT id FROM t WHERE id IN (...)"),
        ("SELECT id FROM t WHERE id in (?, ?, ?)", "SELECT id FROM t WHERE id IN (...)"),
        (
            "SELECT id FROM t WHERE id IN (%(id_1_1)s, %(id_1_2)s)",
            "SELECT id FROM t WHERE id IN (...)",
        ),
        (
            "select x from t where a = :a and b = $1 and c = %s and d = ? and e = %(e)s",
            "select x from t where a = ? and b = ? and c = ? and d = ? and e = ?",
        ),
        ("SELECT 'it''s', 0xFF, 1.5e10, 1e5, .5, 7., -3, TRUE", "SELECT ?, ?, ?, ?, ?, ?, -?, ?"),
        (
            "SELECT * FROM t WHERE x IS NULL AND y IS NOT NULL AND z = NULL",
            "SELECT * FROM t WHERE x IS NULL AND y IS NOT NULL AND z = ?",
        ),
        ("INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y')", "INSERT INTO t (a, b) VALUES (...)"),
        ("INSERT INTO t (a, b) VALUES (?, ?)", "INSERT INTO t (a, b) VALUES (...)"),
        (
            "SELECT t1.col2 FROM table1 t1 /* c 'x' */ WHERE t1.col2 = 5 -- 7 'y",
            "SELECT t1.col2 FROM table1 t1 WHERE t1.col2 = ?",
        ),
        ("SELECT  a,\n\t b   FROM t", "SELECT a, b FROM t"),
        # A keyword glued to a quote.
        (
            "SELECT'x'AS a FROM t WHERE b LIKE'x%' AND'y'=c OR d IN('z')",
            "SELECT ? AS a FROM t WHERE b LIKE ? AND ?=c OR d IN (...)",
        ),
        ("SELECT CASE WHEN a THEN'x' ELSE'y' END", "SELECT CASE WHEN a THEN ? ELSE ? END"),
        ("SELECT X'ab', x'CD'", "SELECT ?, ?"),
    ],
)
def test_literals_and_placeholders_become_question_marks(
    dialect: str, statement: str, pattern: str
) -> None:
    assert normalize(statement, dialect) == pattern


@pytest.mark.parametrize(
    ("dialect", "statement", "pattern"),
    [
        # PostgreSQL: standard_conforming_strings is on, so "\" ends nothing in '..'.
        ("postgresql", r"SELECT 'C:\' AS a, 'LEAK' AS b", "withheld"),
        ("postgresql", r"SELECT 'a\b' AS a", "SELECT ? AS a"),
        ("postgresql", r"SELECT E'a\'b' AS a, e'c\\' AS b", "SELECT ? AS a, ? AS b"),
        ("postgresql", "SELECT $$it's ' a $ dollar$$, $tag$ x $$ $tag$ AS a", "SELECT ?, ? AS a"),
        ("postgresql", "SELECT $1, $2::int", "SELECT ?, ?::int"),
        ("postgresql", r"SELECT U&'d\0061t\+000061' UESCAPE '!'", "SELECT ? UESCAPE ?"),
        ("postgresql", "SELECT N'x', B'1010', X'1F'", "SELECT ?, ?, ?"),
        ("postgresql", 'SELECT "Weird ""1""", U&"d\\0061t" FROM t', None),
        ("postgresql", "SELECT 1 /* a /* nested 'x */ still */ AS a", "SELECT ? AS a"),
        ("postgresql", "SELECT a::text FROM t WHERE b ? 'k'", "SELECT a::text FROM t WHERE b ? ?"),
        ("postgresql", "SELECT ARRAY[1, 2, 3], ARRAY['a']", "SELECT ARRAY[...], ARRAY[...]"),
        ("postgresql", "SELECT `x`", "withheld"),
        ("postgresql", "SELECT $unterminated$ x", "withheld"),
        ("postgresql", "SELECT a$b$c FROM t", "SELECT a$b$c FROM t"),
        # MySQL and MariaDB: backslash escapes and "x" strings by default.
        ("mysql", r'SELECT "secret" AS a, "it""s", "a\\b"', "SELECT ? AS a, ?, ?"),
        ("mysql", r'SELECT "a\"b"', "withheld"),
        ("mysql", r"SELECT 'a\\', 'b' AS c", "SELECT ?, ? AS c"),
        ("mysql", r"SELECT 'it\'s' AS c", "withheld"),  # NO_BACKSLASH_ESCAPES reads it otherwise
        ("mysql", "SELECT _utf8mb4'x', _binary\"y\", N'z' AS c", "SELECT ?, ?, ? AS c"),
        (
            "mysql",
            "SELECT 0b101, b'101', X'ab', 0xab, 1 # it's 'x'\nAS c",
            "SELECT ?, ?, ?, ?, ? AS c",
        ),
        ("mysql", "SELECT 1 -- it's 'x'\nAS c", "SELECT ? AS c"),
        ("mysql", "SELECT 1--1 AS c", "SELECT ?--? AS c"),
        ("mysql", "SELECT /*!50000 'x' AS */ c", "SELECT ? AS c"),
        ("mysql", "SELECT /*!50000 'x' /* y */ AS */ c", "withheld"),
        ("mysql", "SELECT /*!50000 'x' AS c", "withheld"),
        ("mysql", "SELECT `it's`.`a``b` FROM `t`", "SELECT `it's`.`a``b` FROM `t`"),
        ("mysql", "SELECT 2*/*x*/3", "SELECT ?* ?"),
        ("mysql", "SELECT @a := 1, @@session.sql_mode", "SELECT @a := ?, @@session.sql_mode"),
        ("mysql", "SELECT $id FROM t", "SELECT $id FROM t"),
        # SQLite: "x" is a string where no column x is in scope.
        ("sqlite", 'SELECT "secret" AS a', "SELECT ? AS a"),
        ("sqlite", 'SELECT "t"."c", t."d" FROM "t" WHERE "t"."x" = ?', None),
        ("sqlite", 'INSERT INTO "order" ("from", "to") SELECT ?', None),
        ("sqlite", "SELECT [it's], `a`, 'b' AS c", "SELECT [it's], `a`, ? AS c"),
        ("sqlite", "SELECT ?1, :a, @b, $c", "SELECT ?, ?, ?, ?"),
        ("sqlite", r"SELECT 'C:\' AS a, 'x' AS b", "SELECT ? AS a, ? AS b"),
        ("sqlite", "SELECT 1 /* unterminated 'x", "SELECT ?"),
        ("sqlite", "SELECT [unterminated", "withheld"),
        # Unknown databases: every reading of backslashes and double quotes.
        ("generic", r"SELECT 'a\'b'", "withheld"),
        ("generic", 'SELECT "secret" AS a FROM "t"', 'SELECT ? AS a FROM "t"'),
        ("generic", "SELECT $$x$$ AS a", "SELECT ? AS a"),
        ("generic", "SELECT q'[a'b'c]' AS a", "withheld"),
    ],
)
def test_each_dialect_reads_its_own_quotes(dialect: str, statement: str, pattern: str) -> None:
    found = normalize(statement, dialect)
    if pattern == "withheld":
        assert found == f"SELECT {WITHHELD_NOTE}"
    elif pattern is None:
        assert found == " ".join(statement.split())
    else:
        assert found == pattern


def test_sqlite_double_quotes_are_strings_unless_they_can_only_be_names() -> None:
    assert (
        normalize('SELECT "t"."c", t."d", "e" FROM "t" JOIN "u" ON "u".id = "z"', "sqlite")
        == 'SELECT "t"."c", t."d", ? FROM "t" JOIN "u" ON "u".id = ?'
    )


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(
    "statement",
    [
        "SELECT 'unterminated",
        "SELECT 'a' AS x, 'b",
        'SELECT "unterminated',
        "SELECT `unterminated",
        "SELECT 'x' AS a, 'y'' AS b",
    ],
)
def test_unsure_statements_are_withheld_and_grouped(dialect: str, statement: str) -> None:
    pattern = normalize(statement, dialect)
    assert pattern == f"SELECT {WITHHELD_NOTE}"
    assert "unterminated" not in pattern and "'" not in pattern


def test_withheld_patterns_name_only_known_operations() -> None:
    assert normalize("UPDATE t SET a = 'x", "postgresql") == f"UPDATE {WITHHELD_NOTE}"
    assert normalize("secret 'x", "postgresql") == f"OTHER {WITHHELD_NOTE}"
    assert normalize("/* c */ insert into t values ('x", "sqlite") == f"INSERT {WITHHELD_NOTE}"


def test_dialects_of_sqlalchemy_names() -> None:
    assert dialect_of("postgresql") == "postgresql"
    assert dialect_of("mariadb") == dialect_of("mysql") == "mysql"
    assert dialect_of("sqlite") == "sqlite"
    assert dialect_of("mssql") == dialect_of("oracle") == "generic"
    # An unknown name is read with the cautious rules.
    assert normalize('SELECT "x"', "somedb") == normalize('SELECT "x"', "generic") == "SELECT ?"


@pytest.mark.parametrize("size", [1, 2, 50, 500])
def test_in_lists_of_any_length_fold_together(size: int) -> None:
    items = ", ".join(str(i) for i in range(size))
    assert (
        normalize(f"SELECT a FROM t WHERE b IN ({items})", "postgresql")
        == "SELECT a FROM t WHERE b IN (...)"
    )


def test_in_lists_with_casts_fold() -> None:
    assert (
        normalize(
            "SELECT a FROM t WHERE b IN (%(b_1)s::INTEGER, %(b_2)s::VARCHAR(20))", "postgresql"
        )
        == "SELECT a FROM t WHERE b IN (...)"
    )


@pytest.mark.parametrize("dialect", DIALECTS)
def test_no_literal_survives(dialect: str) -> None:
    statement = (
        "UPDATE users SET note = 's3cr3t-pii', n = 42, h = x'ff', m = 0x1f"
        " WHERE email = 'victim@example.com'"
    )
    pattern = normalize(statement, dialect)
    assert pattern == "UPDATE users SET note = ?, n = ?, h = ?, m = ? WHERE email = ?"


def test_huge_statements_are_cut() -> None:
    pattern = normalize("SELECT " + ", ".join(f"col{i}" for i in range(5000)) + " FROM t")
    assert len(pattern) == MAX_PATTERN_LENGTH
    assert pattern.endswith("...")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_bulk_insert_reads_a_bounded_prefix_and_groups_whatever_its_literals(
    dialect: str,
) -> None:
    def insert(rows: int, width: int) -> str:
        values = ", ".join(f"({i}, '{'v' * width}{i}')" for i in range(rows))
        return f"INSERT INTO t (a, b) VALUES {values} RETURNING a"

    short = normalize(insert(20_000, 1), dialect)
    long = normalize(insert(20_000, 50), dialect)
    other = normalize(insert(MAX_TOKENS, 3), dialect)
    assert short == long == other == "INSERT INTO t (a, b) VALUES (...) ..."
    assert normalize(insert(10, 3), dialect) == "INSERT INTO t (a, b) VALUES (...) RETURNING a"


def test_query_id_is_stable_across_processes() -> None:
    text = "SELECT * FROM users WHERE id = ?"
    other = subprocess.run(
        [
            sys.executable,
            "-c",
            f"from flask_perfkit.normalize import query_id; print(query_id({text!r}))",
        ],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345"},
    ).stdout.strip()
    assert other == query_id(text)
    assert len(other) == 16


def test_pattern_cache_is_a_bounded_lru_and_counts_evictions() -> None:
    cache = PatternCache(limit=10)
    first = cache.get("SELECT 1", "sqlite")
    for i in range(50):
        cache.get(f"SELECT {i} FROM t{i}", "sqlite")
        assert cache.get("SELECT 1", "sqlite") is first  # recently used: kept
    stats = cache.stats()
    assert stats["size"] == 10
    assert stats["evictions"] == 41
    assert stats["hits"] == 50
    assert cache.get("SELECT 0 FROM t0", "sqlite").text == "SELECT ? FROM t0"
    assert cache.stats()["misses"] == 52
    assert first.operation == "SELECT" and first.is_select
    assert cache.get("WITH x AS (SELECT 1) SELECT * FROM x").is_select
    assert not cache.get("UPDATE t SET a = 1").is_select


def test_pattern_cache_keys_by_dialect() -> None:
    cache = PatternCache()
    assert cache.get('SELECT "x" FROM t', "postgresql").text == 'SELECT "x" FROM t'
    assert cache.get('SELECT "x" FROM t', "sqlite").text == "SELECT ? FROM t"
    assert cache.get('SELECT "x" FROM t', "mysql").text == "SELECT ? FROM t"


def test_pattern_cache_counts_withheld_statements_once_each() -> None:
    cache = PatternCache()
    for _ in range(3):
        assert cache.get("SELECT 'x", "postgresql").withheld
    assert not cache.get("SELECT 'x'", "postgresql").withheld
    assert cache.stats()["withheld"] == 1


def test_long_statements_are_cached_within_a_character_budget() -> None:
    cache = PatternCache()
    statement = "INSERT INTO t (a) VALUES " + ", ".join(f"({i})" for i in range(20_000))
    first = cache.get(statement, "postgresql")
    assert first.text == "INSERT INTO t (a) VALUES (...)"
    # A copy, not the same object: found by value, not normalized again.
    assert cache.get("".join(list(statement)), "postgresql") is first
    # Distinct long statements evict the oldest when the budget is spent.
    filler = "SELECT 1 AS x -- " + "y" * (LARGE_CACHE_CHARS // 16)
    for i in range(20):
        cache.get(f"{filler}{i}", "postgresql")
    stats = cache.stats()
    assert stats["evictions"] > 0
    assert stats["size"] <= 20
    assert cache.get(statement, "postgresql") is not first
    cache.clear()
    assert cache.stats() == {
        "size": 0, "limit": 4096, "hits": 0, "misses": 0, "evictions": 0, "withheld": 0
    }  # fmt: skip


def test_a_repeated_bulk_insert_is_normalized_once(make_app: AppFactory) -> None:
    # No slow queries: each slow execution looks its pattern up once more, at once.
    app, db, perfkit = make_app(
        "sqlite://", PERFKIT_SLOW_QUERY_MS=10**6, PERFKIT_VERY_SLOW_QUERY_MS=10**6
    )
    rows = ", ".join(f"({i}, 'row {i}')" for i in range(20_000))
    statement = f"INSERT INTO bulk (id, name) VALUES {rows}"

    @app.post("/bulk")
    def bulk() -> dict[str, int]:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS bulk (id INTEGER, name TEXT)")
            conn.exec_driver_sql("DELETE FROM bulk")
            # A new string object each time, as a driver or an app would build it.
            conn.exec_driver_sql((" " + statement)[1:])
            return {"rows": conn.exec_driver_sql("SELECT count(*) FROM bulk").scalar_one()}

    client = app.test_client()
    with app.app_context():
        before = perfkit.profiler.summary().normalization
    for _ in range(5):
        assert client.post("/bulk").get_json() == {"rows": 20_000}
    with app.app_context():
        after = perfkit.profiler.summary().normalization
        patterns = {p.query: p.calls for p in perfkit.profiler.patterns()}
    # Four distinct statements, each normalized once; every later execution is a cache hit.
    assert after["misses"] - before["misses"] == 4
    assert after["hits"] - before["hits"] == 16
    assert patterns["INSERT INTO bulk (id, name) VALUES (...) ..."] == 5
    with app.app_context():
        perfkit.profiler.reset()
        cleared = perfkit.profiler.summary().normalization
    assert cleared == {
        "size": 0, "limit": 4096, "hits": 0, "misses": 0, "evictions": 0, "withheld": 0
    }  # fmt: skip


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_rest_of_a_huge_statement_is_read_only_up_to_a_bound(dialect: str) -> None:
    # Numbers only, so no string or comment stops the one-pass read: its length does.
    def insert(rows: int) -> str:
        values = ", ".join(f"({i}, {i * 7}, {i}.5)" for i in range(rows))
        return f"INSERT INTO t (a, b, c) VALUES {values}"

    within = insert(5 * MAX_TOKENS)
    assert len(within) < MAX_TAIL_LENGTH
    assert normalize(within, dialect) == "INSERT INTO t (a, b, c) VALUES (...)"
    for rows in (MAX_TAIL_LENGTH // 10, MAX_TAIL_LENGTH // 2):
        statement = insert(rows)
        assert len(statement) > MAX_TAIL_LENGTH
        assert normalize(statement, dialect) == "INSERT INTO t (a, b, c) VALUES (...) ..."


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("rows", [3, MAX_TOKENS, 5 * MAX_TOKENS])
def test_large_batches_of_parameters_are_read_to_the_end(dialect: str, rows: int) -> None:
    values = ", ".join(f"(%(a__{i})s, {i}, TRUE, ?, :b__{i}, 1.5e+{i % 9})" for i in range(rows))
    statement = f"INSERT INTO t (a, b, c, d, e, f) VALUES {values} RETURNING t.id, t.b2"
    assert (
        normalize(statement, dialect)
        == "INSERT INTO t (a, b, c, d, e, f) VALUES (...) RETURNING t.id, t.b2"
    )
    listed = ", ".join(str(i) for i in range(rows))
    assert (
        normalize(f"SELECT a FROM t WHERE b IN ({listed}) ORDER BY t.a LIMIT 10", dialect)
        == "SELECT a FROM t WHERE b IN (...) ORDER BY t.a LIMIT ?"
    )


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(
    "statement",
    [
        "SELECT '{0}' AS v",
        "SELECT 'x''{0}''' AS v",
        "SELECT E'\\\\\\'{0}' AS v",
        'SELECT "{0}" AS v',
        "SELECT `{0}` AS v",
        "SELECT '{0}",
        "SELECT 1 /* {0}",
        "SELECT $${0}$$ AS v",
    ],
)
def test_a_huge_literal_is_read_in_one_pass(dialect: str, statement: str) -> None:
    text = statement.format("a" * 2_000_000)
    peaks = []
    gc.collect()
    for _ in range(2):  # the lower of two, as other threads allocate too
        tracemalloc.start()
        try:
            pattern = normalize(text, dialect)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    peak = min(peaks)
    # A regular expression that backtracks keeps state for each character: hundreds of MB.
    assert peak < 4 * len(text)
    assert len(pattern) <= MAX_PATTERN_LENGTH


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(
    "statement",
    [
        " " * 100_000 + "'x",
        "(" * 100_000 + "'x",
        "%(" * 100_000,
        "$a$" * 100_000,
        "/*" * 100_000,
        "'" + "''" * 100_000,
        "SELECT " + "IN (?, " * 100_000,
        "SELECT " + '"a" ' * 100_000,
    ],
)
def test_hostile_shapes_cost_one_pass(dialect: str, statement: str) -> None:
    # Each would take minutes or never end with a regular expression that backtracks.
    pattern = normalize(statement, dialect)
    assert len(pattern) <= MAX_PATTERN_LENGTH
    assert "x" not in pattern


def test_a_pattern_cache_is_freed_without_the_garbage_collector() -> None:
    cache = PatternCache()
    cache.get("SELECT 1", "sqlite")
    ref = weakref.ref(cache)
    gc.disable()
    try:
        del cache
        assert ref() is None
    finally:
        gc.enable()


@pytest.mark.parametrize(
    ("statement", "pattern"),
    [
        ("SET app.key TO s3cr3t", "SET app.key TO ?"),
        ('SET app.key = "s3cr3t"', "SET app.key = ?"),
        ("SET search_path TO s3cr3t, other", "SET search_path TO ?, ?"),
        ("SET @a = 1, @b = s3cr3t", "SET @a = ?, @b = ?"),
        ("SET SESSION sql_mode = s3cr3t", "SET SESSION sql_mode = ?"),
        ("ALTER ROLE r SET app.key TO s3cr3t", "ALTER ROLE r SET app.key TO ?"),
        ("ALTER SYSTEM SET app.key = s3cr3t", "ALTER SYSTEM SET app.key = ?"),
        ("ALTER DATABASE d SET app.key TO s3cr3t", "ALTER DATABASE d SET app.key TO ?"),
        (
            "CREATE FUNCTION f() RETURNS int SET app.key = s3cr3t AS 'SELECT 1' LANGUAGE sql",
            "CREATE FUNCTION f() RETURNS int SET app.key = ? AS ? LANGUAGE sql",
        ),
        ("PRAGMA key = s3cr3t", "PRAGMA key = ?"),
        ("PRAGMA key(s3cr3t)", "PRAGMA key(?)"),
        ("SELECT 1; SET app.key = s3cr3t", "SELECT ?; SET app.key = ?"),
        ("SET app.key = s3cr3t::text", "SET app.key = ?::text"),
        ("SET @a := 1, @b := s3cr3t", "SET @a := ?, @b := ?"),
        # Names stay: variables, functions, columns of UPDATE and INSERT ... SET.
        ("SET @a = CONCAT(b, c)", "SET @a = CONCAT(b, c)"),
        ("SET @@session.x = @@global.y", "SET @@session.x = @@global.y"),
        ("UPDATE t SET a = b", "UPDATE t SET a = b"),
        ("SET x = 1; UPDATE t SET a = b", "SET x = ?; UPDATE t SET a = b"),
        ("INSERT INTO t SET a = b", "INSERT INTO t SET a = b"),
        ("SET TRANSACTION ISOLATION LEVEL READ COMMITTED", None),
        ("SET NAMES utf8mb4", None),
    ],
)
def test_a_settings_value_is_a_literal_however_it_is_quoted(
    statement: str, pattern: str | None
) -> None:
    # On SQLite, @name is a parameter, not a variable.
    dialects = [d for d in DIALECTS if not (d == "sqlite" and "@" in statement)]
    for dialect in dialects:
        assert normalize(statement, dialect) == (statement if pattern is None else pattern), dialect


_SETTING_FORMS = [
    "SET app.key TO {}",
    "SET app.key = {}",
    "SET SESSION app.key TO other, {}",
    "SET @a = 1, @b = {}",
    "SET GLOBAL x = -{}",
    "ALTER ROLE r SET app.key TO {}",
    "ALTER DATABASE d SET app.key = {}",
    "CREATE FUNCTION f() RETURNS int SET app.key = {} AS 'SELECT 1' LANGUAGE sql",
    "PRAGMA key = {}",
    "PRAGMA main.key({})",
    "SELECT 1; SET app.key = {}",
]


@given(
    form=st.sampled_from(_SETTING_FORMS),
    dialect=st.sampled_from(DIALECTS),
    word=st.text(alphabet=st.sampled_from("abcXYZ019_$é€"), min_size=1, max_size=12).map(
        lambda text: "zq" + text
    ),
    quote=st.sampled_from(["", '"', "`"]),
)
def test_a_settings_value_never_reaches_the_pattern(
    form: str, dialect: str, word: str, quote: str
) -> None:
    pattern = normalize(form.format(f"{quote}{word}{quote}"), dialect)
    assert "zq" not in pattern, pattern
