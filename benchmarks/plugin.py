"""The cost the pytest plugin adds to each statement of a test, against pytest-querycount.

The same small suite runs in three pytest processes, round-robin, several times: with
neither plugin (the baseline), with PerfKit's plugin alone and with pytest-querycount alone.
Each of its tests carries ``@pytest.mark.max_queries``, which both plugins read, so both
record every statement of every test. The suite's tests run their statements on an
in-memory SQLite database through a Flask-SQLAlchemy session inside an app context, half in
the test body and half in requests to a view; PerfKit's N+1 check is off, as
pytest-querycount's is without its marker. Only the time of the tests' call phase is
summed (by a plugin of the suite's own), so pytest's start-up weighs on no case.

Added cost per statement is a case's time minus the baseline's, over the statements run.
Target: PerfKit's added cost at most that of pytest-querycount.
"""

from __future__ import annotations

import json
import pathlib
import statistics
import subprocess
import sys
import tempfile

TESTS = 20
#: Statements per test: half in the test body, half in requests.
STATEMENTS = 400
ROUNDS = 5

CONFTEST = """
import json, os, pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
import sqlalchemy as sa

db = SQLAlchemy()
_call = []


def pytest_runtest_logreport(report):
    if report.when == "call":
        _call.append(report.duration)


def pytest_sessionfinish(session):
    with open(os.environ["BENCH_OUT"], "w") as out:
        json.dump(sum(_call), out)


@pytest.fixture(scope="session")
def app():
    app = Flask("bench")
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    db.init_app(app)

    @app.get("/n/<int:n>")
    def view(n):
        for i in range(n):
            db.session.execute(sa.text("SELECT :i"), {"i": i}).scalar()
        return "ok"

    return app
"""

TEST = """
import pytest
import sqlalchemy as sa
from conftest import db


@pytest.mark.max_queries(100000)
@pytest.mark.parametrize("n", range({tests}))
def test_queries(app, n):
    client = app.test_client()
    with app.app_context():
        for i in range({half}):
            db.session.execute(sa.text("SELECT :i"), {{"i": i}}).scalar()
    for _ in range({half} // 20):
        client.get("/n/20")
"""

INI = """[pytest]
markers =
    max_queries(n): a query budget.
"""

CASES = {
    "no plugin": ["-p", "no:perfkit", "-p", "no:querycount"],
    "PerfKit plugin": ["-p", "no:querycount", "-o", "perfkit_n_plus_one=off"],
    "pytest-querycount": ["-p", "no:perfkit"],
}


def _suite(where: pathlib.Path) -> None:
    (where / "conftest.py").write_text(CONFTEST)
    (where / "test_bench.py").write_text(TEST.format(tests=TESTS, half=STATEMENTS // 2))
    (where / "pytest.ini").write_text(INI)


def _time(where: pathlib.Path, args: list[str]) -> float:
    out = where / "out.json"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=where,
        env={**_env(), "BENCH_OUT": str(out)},
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return float(json.loads(out.read_text()))


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}


def run() -> list[str]:
    try:
        import pytest_querycount  # noqa: F401
    except ImportError:
        print("\npytest plugin: pytest-querycount is not installed (the bench extra); skipped")
        return []
    with tempfile.TemporaryDirectory() as tmp:
        where = pathlib.Path(tmp)
        _suite(where)
        samples: dict[str, list[float]] = {name: [] for name in CASES}
        for _ in range(ROUNDS):
            for name, args in CASES.items():
                samples[name].append(_time(where, args))
    times = {name: statistics.median(values) for name, values in samples.items()}
    statements = TESTS * STATEMENTS
    base = times["no plugin"]
    added = {name: (value - base) / statements for name, value in times.items()}
    print(f"\npytest plugin: {TESTS} tests of {STATEMENTS} statements on SQLite, {ROUNDS} rounds")
    print(f"{'case':<44} {'per statement':>14} {'added':>10}")
    for name, value in times.items():
        print(f"{name:<44} {value / statements * 1e6:>11.2f} us {added[name] * 1e6:>7.2f} us")
    ratio = added["PerfKit plugin"] / added["pytest-querycount"]
    verdict = "PASS" if ratio <= 1.0 else "MISS"
    print(f"PerfKit plugin added cost <= pytest-querycount's: {ratio:.2f}x of it {verdict}")
    return [] if verdict == "PASS" else ["PerfKit plugin added cost vs pytest-querycount"]
