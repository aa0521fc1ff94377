"""The dashboard: the server's time to render ``GET /health/dashboard`` for an app with 1,000
patterns and a day of history, against the profiling report's JSON of the same app.

Target: at most 20 ms. The page's charts are drawn in the browser from ``/health/history``,
which :mod:`benchmarks.history` times; the page itself renders the checks and the tables.
"""

from __future__ import annotations

import tempfile
import typing as t
from pathlib import Path

import sqlalchemy as sa

from flask_perfkit._state import get_state
from flask_perfkit.capabilities.history import HistoryCapability

from ._harness import Case
from ._harness import measure
from ._harness import report
from .health import _caller
from .history import _query_app
from .history import fill_a_day


def run() -> list[str]:
    with tempfile.TemporaryDirectory() as folder:
        uri = f"sqlite:///{Path(folder) / 'bench.db'}"
        app, db = _query_app(
            "dashboard", uri, PERFKIT_HEALTH_SHOW_DETAILS="always", PERFKIT_SLOW_QUERY_MS=0
        )
        with app.app_context():
            for i in range(1000):
                db.session.execute(sa.text(f"SELECT {i} AS c{i}"))
        state = get_state(app)
        capability = t.cast(HistoryCapability, state.registry[HistoryCapability.name])
        assert capability.history is not None
        fill_a_day(capability.history)
        assert len(state.profiler.patterns()) >= 1000
        report_name = "GET /health/profiling (the report as JSON)"
        cases = [
            Case(report_name, _caller(app, "/health/profiling")),
            Case(
                "GET /health/dashboard",
                _caller(app, "/health/dashboard"),
                baseline=report_name,
                limit_us=20000,
            ),
        ]
        missed = report(
            "Dashboard: rendering the page with 1,000 patterns and a day of history",
            measure(cases, number=20, repeat=15, warmup=5),
        )
        with app.app_context():
            db.engine.dispose()
        return missed
