"""The database endpoints of the health blueprint: ``/database`` and ``/database/events``."""

from __future__ import annotations

import dataclasses
import typing as t

from flask import Blueprint
from flask import Response

from .._respond import answer
from .._respond import details_allowed
from .._respond import health_response
from .._run import checks_body
from .._run import public_body
from .._run import run_checks
from .._state import get_state
from ..checks import CheckResult
from ..checks import Status
from ..pool import EngineMonitor
from .database_checks import check_name
from .database_checks import pool_check_status
from .database_checks import recommendations as pool_recommendations

if t.TYPE_CHECKING:
    from .database import DatabaseCapability


def add_views(bp: Blueprint) -> None:
    """Add ``GET /database`` and ``GET /database/events`` to ``bp``."""
    bp.add_url_rule("/database", "database", database_health, methods=["GET"])
    bp.add_url_rule("/database/events", "database_events", database_events, methods=["GET"])


def database_health() -> Response:
    """Pool status, connectivity and recommendations of every engine."""
    state = get_state()
    database = state.database
    checks = database.health_checks()
    status, results = run_checks(state, checks)
    if not details_allowed(state):
        return health_response(public_body(status, results), status)
    engines = {
        name: _engine_body(database, monitor, results)
        for name, monitor in database.monitors.items()
    }
    advice = [r for engine in engines.values() for r in engine["recommendations"]]
    extra = {"engines": engines, "recommendations": advice}
    return health_response(
        checks_body(state, checks, status, results, extra, database.since), status
    )


def _engine_body(
    database: DatabaseCapability, monitor: EngineMonitor, results: t.Mapping[str, CheckResult]
) -> dict[str, t.Any]:
    pool = monitor.status()
    connectivity = results.get(check_name(monitor.name))
    pool_result = results.get(f"{check_name(monitor.name)}:connections")
    engine_status = Status.worst(r.status for r in (connectivity, pool_result) if r is not None)
    return {
        "status": engine_status.value,
        "dialect": monitor.engine.dialect.name,
        "driver": monitor.engine.dialect.driver,
        "pool": dataclasses.asdict(pool),
        "connectivity": {
            "status": connectivity.status.value if connectivity else "pass",
            "output": connectivity.output if connectivity else None,
            "latency_ms": connectivity.observed_value if connectivity else None,
        },
        "server_max_connections": monitor.server_max_connections,
        "checkout_timeouts": database.checkout_timeouts,
        "breaker": database.guards[monitor.name].breaker.status(),
        "recommendations": [
            dataclasses.asdict(r)
            for r in pool_recommendations(monitor, pool, database.checkout_timeouts)
        ],
    }


def database_events() -> Response:
    """Pool event counts of every engine, and checkout timeouts. Does no I/O."""
    database = get_state().database
    monitors = database.monitors
    status = Status.worst(pool_check_status(m.status()) for m in monitors.values())
    if status is Status.FAIL:
        status = Status.WARN
    return answer(
        status,
        lambda: {
            "engines": {
                name: {**m.event_counts(), "checked_out": m.status().checked_out}
                for name, m in monitors.items()
            },
            "checkout_timeouts": database.checkout_timeouts,
        },
        database.since,
    )
