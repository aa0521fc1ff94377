"""The cost of the database circuit breaker on a healthy pool checkout.

Three engines with the same QueuePool settings (pre-ping off, so the checkout itself is timed
rather than a network round trip): a plain SQLAlchemy engine, the same with PerfKit's
:class:`~flask_perfkit.breaker.EngineGuard` (connect timeouts and the circuit breaker), and
one set up by PerfKit entirely (breaker, pool event counters and query profiling). Each case
checks a connection out of the warm pool and returns it.
"""

from __future__ import annotations

import os
import tempfile
import typing as t
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from flask_perfkit import PerfKit
from flask_perfkit import breaker as _breaker
from flask_perfkit import config as _config

from ._harness import Case
from ._harness import listening
from ._harness import measure
from ._harness import report

POSTGRES_URL = os.environ.get(
    "PERFKIT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PLAIN = "plain SQLAlchemy pool checkout + return"
OPTIONS: dict[str, t.Any] = {"pool_size": 5, "max_overflow": 0, "pool_pre_ping": False}


def _checkout(engine: sa.Engine) -> t.Callable[[], object]:
    pool = engine.pool

    def call() -> object:
        connection = pool.connect()
        connection.close()
        return connection

    return call


def _bench(name: str, url: str) -> list[str]:
    plain = sa.create_engine(url, **OPTIONS)
    guarded = sa.create_engine(url, **OPTIONS)
    app = Flask("bench_breaker")
    app.config.update(PERFKIT_POOL_SIZE=5, PERFKIT_POOL_MAX_OVERFLOW=0)
    app.config["PERFKIT_POOL_PRE_PING"] = False
    full = sa.create_engine(url, **OPTIONS)
    PerfKit(app, engine=full)
    _config.apply_defaults(app.config)
    _breaker.guard_engine(guarded, "bench", _config.resolve(app.config))
    engines = (plain, guarded, full)
    try:
        for engine in engines:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        cases = [
            Case(PLAIN, _checkout(plain)),
            Case("  with PerfKit's breaker", _checkout(guarded), PLAIN, target=1.1),
            Case("  with all of PerfKit (counters, profiler)", _checkout(full), PLAIN),
        ]
        return report(f"Healthy pool checkout on {name}", measure(cases, number=5000, repeat=31))
    finally:
        for engine in engines:
            engine.dispose()


def run() -> list[str]:
    with tempfile.TemporaryDirectory(prefix="perfkit-bench-") as directory:
        missed = _bench("SQLite", f"sqlite:///{Path(directory) / 'bench.db'}")
    if listening(5432):
        missed += _bench("PostgreSQL", POSTGRES_URL)
    else:
        print("\nPostgreSQL is not reachable at 127.0.0.1:5432; its cases were not run.")
    return missed
