from __future__ import annotations

import subprocess
import sys

import pytest

from flask_perfkit.normalize import MAX_PATTERN_LENGTH
from flask_perfkit.normalize import PatternCache
from flask_perfkit.normalize import normalize
from flask_perfkit.normalize import query_id


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
        (
            "SELECT 'it''s', E'a\\'b', $$dollar ' quoted$$, $tag$ x $tag$, 0xFF, 1.5e10, -3, TRUE",
            "SELECT ?, ?, ?, ?, ?, ?, -?, ?",
        ),
        (
            "SELECT * FROM t WHERE x IS NULL AND y IS NOT NULL AND z = NULL",
            "SELECT * FROM t WHERE x IS NULL AND y IS NOT NULL AND z = ?",
        ),
        ("INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y')", "INSERT INTO t (a, b) VALUES (...)"),
        ("INSERT INTO t (a, b) VALUES (?, ?)", "INSERT INTO t (a, b) VALUES (...)"),
        (
            "SELECT t1.col2, \"Weird 1\" FROM table1 t1 /* c 'x' */ WHERE t1.col2::int = 5 -- 7",
            'SELECT t1.col2, "Weird 1" FROM table1 t1 WHERE t1.col2::int = ?',
        ),
        (
            "SELECT * FROM t WHERE id = ANY(ARRAY[1,2,3])",
            "SELECT * FROM t WHERE id = ANY(ARRAY[...])",
        ),
        ("SELECT  a,\n\t b   FROM t", "SELECT a, b FROM t"),
        (
            "SELECT a FROM t WHERE b IN (%(b_1)s::INTEGER, %(b_2)s::VARCHAR(20))",
            "SELECT a FROM t WHERE b IN (...)",
        ),
        ("SELECT a FROM t WHERE b = 'unterminated", "SELECT a FROM t WHERE b = ?"),
    ],
)
def test_literals_and_placeholders_become_question_marks(statement: str, pattern: str) -> None:
    assert normalize(statement) == pattern


@pytest.mark.parametrize("size", [1, 2, 50, 500])
def test_in_lists_of_any_length_fold_together(size: int) -> None:
    items = ", ".join(str(i) for i in range(size))
    assert normalize(f"SELECT a FROM t WHERE b IN ({items})") == "SELECT a FROM t WHERE b IN (...)"


def test_no_literal_survives() -> None:
    statement = (
        "UPDATE users SET note = 's3cr3t-pii', code = E'pw\\'123', n = 42, h = x'ff'"
        " WHERE email = 'victim@example.com' AND token = $q$hunter2$q$"
    )
    pattern = normalize(statement)
    for secret in ("s3cr3t", "pw", "123", "42", "victim", "hunter2", "ff'"):
        assert secret not in pattern


def test_huge_statements_are_cut() -> None:
    pattern = normalize("SELECT " + ", ".join(f"col{i}" for i in range(5000)) + " FROM t")
    assert len(pattern) == MAX_PATTERN_LENGTH
    assert pattern.endswith("...")


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


def test_pattern_cache_is_bounded_and_returns_equal_patterns() -> None:
    cache = PatternCache(limit=10)
    first = cache.get("SELECT 1")
    for i in range(50):
        cache.get(f"SELECT {i} FROM t{i}")
    assert len(cache._cache) <= 10
    again = cache.get("SELECT 1")
    assert again == first
    assert again.operation == "SELECT" and again.is_select
    assert cache.get("WITH x AS (SELECT 1) SELECT * FROM x").is_select
    assert not cache.get("UPDATE t SET a = 1").is_select
