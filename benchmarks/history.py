"""The history: serving a day of points, and what rolling them up adds to each query.

- ``GET /health/history?range=24h`` with a full day of coarse points (1,440) of a busy app,
  against encoding the same points on each request with :func:`flask.json.dumps`, the way a
  store of dicts or rows would serve them. Target: at most 5 ms.
- A request that runs statements through Flask-SQLAlchemy on SQLite, with PerfKit's history
  on against off: the rollup is a clock comparison after each request, plus a reading once
  per interval. Target: at most 1.05x per query.
"""

from __future__ import annotations

import functools
import json
import tempfile
import time
import typing as t
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_perfkit import PerfKit
from flask_perfkit._state import get_state
from flask_perfkit.capabilities.history import HistoryCapability
from flask_perfkit.history import History
from flask_perfkit.history import Reading
from flask_perfkit.metrics import BOUNDS

from ._harness import Case
from ._harness import measure
from ._harness import report
from .health import _caller

TOKEN = "bench"
PATTERNS = tuple(f"{i:016x}" for i in range(1000))


def busy_reading(step: int) -> Reading:
    """The totals after ``step`` intervals of an app that runs all five operations on two
    binds, with three cache tiers and 1,000 patterns."""
    queries = {}
    for k, op in enumerate(("select", "insert", "update", "delete", "other")):
        count = step * 1000 // (k + 1)
        buckets = [count * min(j, 7) // 7 for j in range(len(BOUNDS))]
        queries[op] = {"count": count, "sum": count * 0.002, "buckets": buckets}
    totals = {
        "queries": queries,
        "counters": {"slow": step, "very_slow": step // 2, "errors": step % 3},
        "pools": {
            bind: {"size": 20, "checked_out": step % 20, "overflow": 3, "waiters": 1}
            for bind in ("default", "analytics")
        },
        "cache": {
            tier: {"hit": step * 9, "miss": step, "errors": 0}
            for tier in ("short", "medium", "long")
        },
        "breakers": {"default": {"state": "closed"}, "analytics": {"state": "closed"}},
    }
    patterns = {
        qid: (step * (i % 97 + 1), step * 0.0012 * (i % 89 + 1)) for i, qid in enumerate(PATTERNS)
    }
    checks = {"db": "pass", "db.analytics": "pass", "cache": "pass", "profiling": "warn"}
    return Reading(totals, patterns, checks, 1)


def fill_a_day(history: History) -> None:
    """Roll up a day of points of a busy app, ending now."""
    start = time.time() - 86400
    for step in range(1, 24 * 360 + 1):
        history.roll(start + step * 10, functools.partial(busy_reading, step))


def _query_app(name: str, uri: str, **config: t.Any) -> tuple[Flask, SQLAlchemy]:
    app = Flask(name)
    app.config.update(SQLALCHEMY_DATABASE_URI=uri, **config)
    db = SQLAlchemy()
    PerfKit(app, db=db)
    db.init_app(app)

    @app.get("/q/<int:n>")
    def q(n: int) -> str:
        for _ in range(n):
            db.session.execute(sa.text("SELECT 1"))
        return "ok"

    return app, db


def _serving(uri: str) -> list[str]:
    app, db = _query_app(
        "history", uri, PERFKIT_HEALTH_SHOW_DETAILS="always", PERFKIT_ADMIN_TOKEN=TOKEN
    )
    capability = get_state(app).registry[HistoryCapability.name]
    assert isinstance(capability, HistoryCapability) and capability.history is not None
    history = capability.history
    fill_a_day(history)
    assert len(history.coarse.points) == 1440, len(history.coarse.points)
    points = [json.loads(p[1:]) for p in history.coarse.points]
    body = json.loads(t.cast(bytes, _caller(app, "/health/history?range=24h")()))
    assert len(body["points"]) >= 1440, len(body["points"])

    def dicts() -> object:
        return json.dumps({"status": "pass", "points": points}, separators=(",", ":"))

    dicts_name = "the same points encoded per request"
    cases = [
        Case(dicts_name, dicts),
        Case(
            "GET /health/history?range=24h, 1,440 points",
            _caller(app, "/health/history?range=24h"),
            baseline=dicts_name,
            limit_us=5000,
        ),
        Case("GET /health/history?range=1h, 360 points", _caller(app, "/health/history")),
    ]
    missed = report(
        "History: a day of a busy app (5 operations, 2 binds, 3 tiers, 1,000 patterns)",
        measure(cases, number=50, repeat=15, warmup=10),
        note=f"{history.nbytes() / 2**20:.2f} MiB for the 1,800 points of a day"
        " (target: at most 2 MiB).",
    )
    if history.nbytes() > 2 * 2**20:
        missed.append("history memory over 2 MiB")
    with app.app_context():
        db.engine.dispose()
    return missed


def _per_query(uri: str) -> list[str]:
    on, on_db = _query_app("history_on", uri)
    off, off_db = _query_app("history_off", uri, PERFKIT_HISTORY_ENABLED=False)
    cases = []
    for n in (1, 10):
        off_name = f"{n} statement(s) per request, history off"
        cases += [
            Case(off_name, _caller(off, f"/q/{n}")),
            Case(
                f"{n} statement(s) per request, history on",
                _caller(on, f"/q/{n}"),
                baseline=off_name,
                target=1.05,
            ),
        ]
    missed = report(
        "What the history adds to a request's statements (SQLite file, PerfKit on both)",
        measure(cases, number=500, repeat=15, warmup=100),
        note="History on takes a reading once per PERFKIT_HISTORY_RESOLUTION (10 s), within"
        " the timed requests.",
    )
    for app, db in ((on, on_db), (off, off_db)):
        with app.app_context():
            db.engine.dispose()
    return missed


def run() -> list[str]:
    with tempfile.TemporaryDirectory() as folder:
        uri = f"sqlite:///{Path(folder) / 'bench.db'}"
        return _serving(uri) + _per_query(uri)
