"""The cost and the safety of statement normalization, against the old normalizer and two lexers.

Cases, each turning a statement into a pattern (literals as ``?``):

- before: the single regular expression PerfKit used before it tokenized by dialect
  (``benchmarks/_normalize_before.py``);
- after: :func:`flask_perfkit.normalize.normalize`, by the statement's dialect, uncached;
- after, cached: :class:`~flask_perfkit.normalize.PatternCache` on a repeated statement, which
  is what PerfKit pays per execution;
- sqlglot: its tokenizer for the dialect, literal tokens joined as ``?`` (the least a
  normalizer built on it would do);
- sqlparse: its lexer, the same way.

Timed on the corpus of real statements (``benchmarks/corpus``: every distinct statement the
test suite and the example app run on SQLite, PostgreSQL and MariaDB; ``python -m
benchmarks.normalize --capture`` records it again) and on one 20,000-row bulk insert with
literal values. Then the bulk insert is run on SQLite with PerfKit on and off.

Safety: hostile statements with a marker in every literal, for each dialect; the table counts
the patterns that still hold the marker (a leak), and the ones withheld.

Targets: after costs at most 1.5x before per corpus statement; the cached lookup is at least
20x faster than before; on the bulk insert after is at least 10x faster than before; running
PerfKit adds at most 0.5 ms to each execution of the bulk insert when its text repeats, and
when each text is new at most 5 % of what the old normalizer cost on it; and after leaks
nothing.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import typing as t

import sqlalchemy as sa
from flask import Flask

from flask_perfkit import PerfKit
from flask_perfkit.normalize import PatternCache
from flask_perfkit.normalize import normalize

from . import _normalize_before
from ._capture import CORPUS
from ._harness import Case
from ._harness import Result
from ._harness import measure

Normalizer = t.Callable[[str, str], str]

_SQLGLOT_DIALECTS = {"postgresql": "postgres", "mysql": "mysql", "sqlite": "sqlite"}


def _sqlglot() -> Normalizer:
    from sqlglot import TokenType
    from sqlglot.dialects.dialect import Dialect
    from sqlglot.errors import TokenError

    literals = {
        TokenType.STRING,
        TokenType.NUMBER,
        TokenType.NATIONAL_STRING,
        TokenType.HEX_STRING,
        TokenType.BIT_STRING,
        TokenType.BYTE_STRING,
        TokenType.RAW_STRING,
        TokenType.HEREDOC_STRING,
        TokenType.UNICODE_STRING,
        TokenType.PARAMETER,
        TokenType.PLACEHOLDER,
        TokenType.TRUE,
        TokenType.FALSE,
    }
    dialects = {name: Dialect.get_or_raise(peer) for name, peer in _SQLGLOT_DIALECTS.items()}
    generic = Dialect.get_or_raise(None)

    def run(statement: str, dialect: str) -> str:
        try:
            tokens = dialects.get(dialect, generic).tokenize(statement)
        except TokenError:
            return "withheld"
        return " ".join("?" if tok.token_type in literals else tok.text for tok in tokens)

    return run


def _sqlparse() -> Normalizer:
    from sqlparse import tokens
    from sqlparse.lexer import Lexer

    lexer = Lexer.get_default_instance()  # type: ignore[no-untyped-call]
    skipped = (tokens.Comment, tokens.Whitespace, tokens.Newline)

    def run(statement: str, dialect: str) -> str:
        return " ".join(
            "?" if kind in tokens.Literal else value
            for kind, value in lexer.get_tokens(statement)
            if not any(kind in skip for skip in skipped)
        )

    return run


def _peers() -> dict[str, Normalizer]:
    cache = PatternCache()
    peers: dict[str, Normalizer] = {
        "before (one regex)": lambda statement, dialect: _normalize_before.normalize(statement),
        "after (by dialect, uncached)": normalize,
        "after, cached (per execution)": lambda s, d: cache.get(s, d).text,
    }
    for name, make in (("sqlglot tokenizer", _sqlglot), ("sqlparse lexer", _sqlparse)):
        try:
            peers[name] = make()
        except ImportError:
            print(f"{name}: not installed (pip install -e '.[bench]'), left out")
    return peers


def load_corpus() -> list[tuple[str, str]]:
    """The captured ``(dialect, statement)`` pairs."""
    with gzip.open(CORPUS, "rt", encoding="utf-8") as file:
        return [(dialect, statement) for dialect, statement in json.load(file)]


def bulk_insert(rows: int = 20_000, seed: int = 0) -> str:
    """An INSERT of ``rows`` rows with literal values."""
    values = ", ".join(f"({i}, 'name {i + seed}', {i * 0.5})" for i in range(rows))
    return f"INSERT INTO bulk (id, name, score) VALUES {values}"


MARK = "LEAK"
HOSTILE = {
    "postgresql": [
        f"SELECT 'C:\\' AS a, '{MARK}' AS b",
        f"SELECT'{MARK}'AS a",
        f"SELECT 1 WHERE 'x' LIKE'{MARK}%' AND'{MARK}'='y'",
        f"SELECT CASE WHEN true THEN'{MARK}' END",
        f"SELECT E'{MARK}\\'s'",
        f"SELECT $${MARK}'$$, $t${MARK}$t$",
        f"SELECT U&'{MARK}\\0041'",
        f"SELECT N'{MARK}'",
        f"SELECT '{MARK}",
    ],
    "mysql": [
        f'SELECT "{MARK}"',
        f"SELECT _utf8mb4'{MARK}'",
        f"SELECT X'{MARK.encode().hex()}', 0x{MARK.encode().hex()}",
        "SELECT 0b1010110111011",
        f"SELECT 'it\\'s {MARK}'",
        f"SELECT 1 # '{MARK}\n",
        f"SELECT /*!50000 '{MARK}' */ 1",
        f"SELECT'{MARK}'AS a",
    ],
    "sqlite": [
        f'SELECT "{MARK}"',
        f"SELECT'{MARK}'AS a",
        f"SELECT 'C:\\', '{MARK}'",
        f"SELECT X'{MARK.encode().hex()}'",
        f"SELECT [it's], '{MARK}'",
    ],
}
_SECRETS = (MARK, MARK.encode().hex(), "1010110111011")


def _safety(peers: dict[str, Normalizer]) -> list[str]:
    cases = [(dialect, s) for dialect, statements in HOSTILE.items() for s in statements]
    print(f"\nSafety: {len(cases)} hostile statements, each with a literal marker")
    print(f"{'normalizer':<36} {'leaked':>7} {'withheld':>9}")
    missed = []
    for name, run in peers.items():
        leaked = withheld = 0
        for dialect, statement in cases:
            try:
                pattern = run(statement, dialect)
            except Exception:
                pattern = "withheld"
            if "withheld" in pattern:
                withheld += 1
            elif any(secret in pattern for secret in _SECRETS):
                leaked += 1
        print(f"{name:<36} {leaked:>7} {withheld:>9}")
        if name.startswith("after") and leaked:
            missed.append(f"{name} leaked")
    return missed


def _table(title: str, results: list[Result], per: int, unit: str = "us") -> dict[str, float]:
    scale = 1000 if unit == "us" else 1_000_000
    times = {r.case.name: r.median_ns / per for r in results}
    base = times["before (one regex)"]
    print(f"\n{title}")
    print(f"{'normalizer':<36} {'per statement':>14} {'vs before':>10}")
    for name, value in times.items():
        print(f"{name:<36} {value / scale:>11.2f} {unit} {value / base:>9.2f}x")
    return times


def _perfkit_overhead() -> list[float]:
    """The time PerfKit adds to each execution, in ms: a repeated text, then new texts."""
    repeated = [bulk_insert(seed=i) for i in range(3)]
    calls = 3 + 4 * 21
    unique = [bulk_insert(seed=i) for i in range(3, 3 + calls)]

    def runner(profiled: bool, statements: list[str]) -> t.Callable[[], object]:
        engine = sa.create_engine("sqlite://")
        app = Flask("bulk")
        profiler = None
        if profiled:
            perfkit = PerfKit(app, engine=engine)
            with app.app_context():
                profiler = perfkit.profiler
        conn = engine.connect()
        conn.exec_driver_sql("CREATE TABLE bulk (id INTEGER, name TEXT, score REAL)")
        turn = iter(range(1_000_000))

        def run() -> object:
            conn.exec_driver_sql(statements[next(turn) % len(statements)])
            conn.exec_driver_sql("DELETE FROM bulk")
            if profiler is not None:  # group now, so the normalization is timed too
                with app.app_context():
                    profiler.flush_pending()
            return None

        return run

    print("\nRunning a 20,000-row bulk insert (literal values) on SQLite")
    print(f"{'statements':<28} {'PerfKit off':>12} {'PerfKit on':>12} {'ratio':>8} {'added':>10}")
    added = []
    for title, statements in (
        ("three texts in turn", repeated),
        ("a new text every time", unique),
    ):
        results = measure(
            [
                Case("off", runner(False, statements)),
                Case("on", runner(True, list(statements))),
            ],
            number=4,
            repeat=21,
            warmup=3,
        )
        off, on = (r.median_ns / 1e6 for r in results)
        print(f"{title:<28} {off:>9.1f} ms {on:>9.1f} ms {on / off:>7.3f}x {on - off:>7.2f} ms")
        added.append(on - off)
    return added


def capture() -> None:
    """Run the test suite with :mod:`benchmarks._capture` to record the corpus again."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "benchmarks._capture",
            "--ignore=tests/test_normalize.py",
            "--ignore=tests/test_normalize_fuzz.py",
        ],
        check=True,
    )


def run() -> list[str]:
    corpus = load_corpus()
    peers = _peers()
    missed = _safety(peers)

    def over_corpus(func: Normalizer) -> t.Callable[[], object]:
        return lambda: [func(statement, dialect) for dialect, statement in corpus]

    for func in peers.values():  # fill the cache, and warm everything up
        over_corpus(func)()
    results = measure(
        [Case(name, over_corpus(func)) for name, func in peers.items()],
        number=1,
        repeat=9,
        warmup=1,
    )
    times = _table(
        f"Per statement, over the corpus of {len(corpus)} statements", results, len(corpus)
    )
    before, after = times["before (one regex)"], times["after (by dialect, uncached)"]
    cached = times["after, cached (per execution)"]
    if after > 1.5 * before:
        missed.append("after vs before on the corpus")
    if before / cached < 20:
        missed.append("cached lookup vs before")

    bulk = bulk_insert()
    print(f"\nThe bulk insert: {len(bulk):,} characters")

    def on_bulk(func: Normalizer) -> t.Callable[[], object]:
        return lambda: func(bulk, "sqlite")

    results = measure(
        [Case(name, on_bulk(func)) for name, func in peers.items()],
        number=1,
        repeat=3,
        warmup=1,
    )
    times = _table("One 20,000-row bulk insert", results, 1, unit="ms")
    if times["before (one regex)"] / times["after (by dialect, uncached)"] < 10:
        missed.append("after vs before on the bulk insert")

    repeated, unique = _perfkit_overhead()
    if repeated > 0.5:
        missed.append("repeated bulk insert with PerfKit")
    if unique > 0.05 * times["before (one regex)"] / 1e6:
        missed.append("new bulk insert texts with PerfKit")
    return missed


if __name__ == "__main__":
    if sys.argv[1:] == ["--capture"]:
        capture()
    else:
        from . import __main__

        sys.exit(__main__.main(["normalize"]))
