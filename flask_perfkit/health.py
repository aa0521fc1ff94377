"""The ``perfkit`` health blueprint, its details policy and its admin guard.

Liveness (``GET /health``) does no I/O. Every other view runs its checks through the state's
:class:`~flask_perfkit.checks.CheckRunner`, so it answers within ``PERFKIT_HEALTH_TIMEOUT``
whatever a dependency does.
"""

from __future__ import annotations

import dataclasses
import functools
import hmac
import json
import os
import typing as t

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import request

from . import database
from ._state import PerfKitState
from ._state import get_state
from ._state import iso_time
from .checks import CheckResult
from .checks import HealthCheck
from .checks import Status
from .checks import aggregate
from .config import ShowDetails
from .errors import AdminDisabled
from .errors import AuthenticationRequired
from .errors import MetricsUnavailable
from .signals import health_changed

if t.TYPE_CHECKING:
    from .extension import PerfKit

bp = Blueprint("perfkit", __name__)

HEALTH_CONTENT_TYPE = "application/health+json"
_HEADERS = {"Cache-Control": "no-store"}
_HEALTH_HEADERS = [("Cache-Control", "no-store"), ("Content-Type", HEALTH_CONTENT_TYPE)]
_LIVE_BODY = b'{"status":"pass"}'
# Time kept back from the budget to build and send the response.
_RESPONSE_MARGIN = 0.05


F = t.TypeVar("F", bound=t.Callable[..., t.Any])


def _extension() -> PerfKit:
    return t.cast("PerfKit", current_app.extensions["perfkit"])


def is_authorized() -> bool:
    """Whether the current request carries the admin token or passes the auth callback.

    The bearer token is compared in constant time.
    """
    state = get_state()
    token = state.config.health.admin_token
    if token is not None:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), token.encode()
        ):
            return True
    callback = _extension()._authorize
    return callback is not None and bool(callback())


def details_allowed(state: PerfKitState | None = None) -> bool:
    """Whether the current request may see details, by ``PERFKIT_HEALTH_SHOW_DETAILS``."""
    policy = (state or get_state()).config.health.show_details
    if policy is ShowDetails.ALWAYS:
        return True
    if policy is ShowDetails.NEVER:
        return False
    return is_authorized()


def require_admin(view: F) -> F:
    """Guard a view so only admins reach it.

    With neither ``PERFKIT_ADMIN_TOKEN`` nor an auth callback configured, it answers 403 and
    says how to enable admin endpoints. Otherwise a request without a valid
    ``Authorization: Bearer`` token (or that the callback refuses) gets 401.
    """

    @functools.wraps(view)
    def guarded(*args: t.Any, **kwargs: t.Any) -> t.Any:
        _check_admin(
            "Admin endpoints are disabled. Set PERFKIT_ADMIN_TOKEN, or pass authorize= to"
            " PerfKit, to enable them.",
            "This endpoint needs an 'Authorization: Bearer <PERFKIT_ADMIN_TOKEN>' header.",
        )
        return view(*args, **kwargs)

    return t.cast(F, guarded)


def _check_admin(disabled: str, unauthorized: str, *, off: bool = False) -> None:
    """Raise 403 with ``disabled`` when admin access is off (``off``, or no token nor callback
    is configured), else 401 with ``unauthorized`` unless the request is an admin's."""
    if off or (get_state().config.health.admin_token is None and _extension()._authorize is None):
        raise AdminDisabled(disabled)
    if not is_authorized():
        if request.headers.get("Authorization"):
            unauthorized += " The Authorization header of this request was not accepted."
        raise AuthenticationRequired(unauthorized)


def health_response(body: t.Mapping[str, t.Any], status: Status) -> Response:
    """A health response: ``application/health+json``, never cached, 503 only on ``fail``."""
    return _encoded_response(json.dumps(body, separators=(",", ":")).encode(), status)


def run_checks(
    state: PerfKitState, checks: list[HealthCheck]
) -> tuple[Status, dict[str, CheckResult]]:
    """Run ``checks`` within the health budget, signal status changes, and aggregate."""
    results = _collect(state, checks)
    return _conclude(state, checks, results), results


def _collect(state: PerfKitState, checks: list[HealthCheck]) -> dict[str, CheckResult]:
    budget = max(state.config.health.timeout - _RESPONSE_MARGIN, 0.01)
    return state.runner.run(checks, budget)


def _conclude(
    state: PerfKitState, checks: list[HealthCheck], results: dict[str, CheckResult]
) -> Status:
    """Signal and log status changes, and aggregate."""
    changes = state.runner.changes(results)
    if changes:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        for name, old, new in changes:
            log = current_app.logger.warning if new is not Status.PASS else current_app.logger.info
            if old is None:
                log("Health check %r is %s on its first run.", name, new.value)
            else:
                log("Health check %r is now %s (was %s).", name, new.value, old.value)
            health_changed.send(app, check=name, old=old.value if old else None, new=new.value)
    return aggregate(checks, results)


def _check_body(check: HealthCheck, result: CheckResult) -> dict[str, t.Any]:
    return {
        "status": result.status.value,
        "output": result.output,
        "observedValue": result.observed_value,
        "observedUnit": result.observed_unit,
        "componentType": check.component_type,
        "critical": check.is_critical(result),
        "duration_ms": result.duration_ms,
        "time": result.time,
    }


def checks_body(
    state: PerfKitState,
    checks: list[HealthCheck],
    status: Status,
    results: t.Mapping[str, CheckResult],
    extra: t.Mapping[str, t.Any] | None = None,
) -> dict[str, t.Any]:
    """The detailed body of a check run: each check's result, ``extra``, ``pid`` and ``since``."""
    return {
        "status": status.value,
        "checks": {c.name: _check_body(c, results[c.name]) for c in checks},
        **(extra or {}),
        "pid": os.getpid(),
        "since": state.since,
    }


def _public_body(status: Status, results: t.Mapping[str, CheckResult]) -> dict[str, t.Any]:
    return {
        "status": status.value,
        "checks": {name: {"status": r.status.value} for name, r in results.items()},
    }


def checks_response(
    state: PerfKitState,
    checks: list[HealthCheck],
    extra: t.Callable[[], dict[str, t.Any]] | None = None,
) -> Response:
    """Run ``checks`` and answer with their results, detailed only for those allowed.

    :param extra: Makes further detail fields, only for callers who see details.
    """
    results = _collect(state, checks)
    detailed = details_allowed(state)
    # Results reused within PERFKIT_HEALTH_CHECK_TTL are the same objects, so their status
    # and body are the same: conclude and encode once per fresh set of results.
    key = (id(checks), detailed)
    fresh = tuple(results.values())
    memo = state.body_memo.get(key)
    if extra is None and memo is not None and memo[0] is checks and _same(memo[1], fresh):
        return _encoded_response(memo[3], memo[2])
    status = _conclude(state, checks, results)
    if not detailed:
        body = _public_body(status, results)
    else:
        body = checks_body(state, checks, status, results, extra() if extra is not None else {})
    encoded = json.dumps(body, separators=(",", ":")).encode()
    if extra is None:
        if len(state.body_memo) > 32:
            state.body_memo.clear()
        state.body_memo[key] = (checks, fresh, status, encoded)
    return _encoded_response(encoded, status)


def _same(old: tuple[CheckResult, ...], new: tuple[CheckResult, ...]) -> bool:
    return len(old) == len(new) and all(a is b for a, b in zip(old, new, strict=True))


def _encoded_response(body: bytes, status: Status) -> Response:
    return Response(body, 503 if status is Status.FAIL else 200, _HEALTH_HEADERS)


@bp.after_app_request
def _no_store_on_routing_errors(response: Response) -> Response:
    """Keep shared caches from storing the 404 and 405 answers under the health prefix.

    PerfKit's own views set ``Cache-Control: no-store``; a request that matched no route
    (a GET on an admin endpoint, a mistyped path) never reaches them, nor does an ``OPTIONS``
    request, which Flask answers itself. The app's own error body is left as it is.
    """
    if "Cache-Control" in response.headers:
        return response
    if request.url_rule is None:
        prefix = get_state().config.health.url_prefix
        path = request.path
        if prefix is not None and (path == prefix or path.startswith(prefix.rstrip("/") + "/")):
            response.headers["Cache-Control"] = "no-store"
    elif request.blueprint == bp.name:
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("", endpoint="live")
def live() -> Response:
    """Liveness: the process answers. Touches no dependency; always 200."""
    return _encoded_response(_LIVE_BODY, Status.PASS)


@bp.get("/ready", endpoint="ready")
def ready() -> Response:
    """Readiness: every readiness check, 200 for ``pass`` and ``warn``, 503 for ``fail``."""
    state = get_state()
    return checks_response(state, state.readiness_checks())


@bp.get("/full", endpoint="full")
def full() -> Response:
    """Every check, readiness or not, and a summary of each component.

    Anonymous callers under ``when_authorized`` get the statuses only.
    """
    state = get_state()
    return checks_response(state, state.all_checks(), lambda: {"components": components(state)})


def components(state: PerfKitState) -> dict[str, t.Any]:
    """A summary of the pools, the cache and the query statistics. Does no I/O."""
    cache = state.cache
    profiler = state.profiler
    summary = profiler.summary()
    return {
        "database": {
            name: {
                "dialect": monitor.engine.dialect.name,
                "pool": dataclasses.asdict(monitor.status()),
                "checkout_timeouts": state.checkout_timeouts,
                "breaker": state.guards[name].breaker.status(),
            }
            for name, monitor in state.monitors.items()
        },
        "cache": None
        if cache is None
        else {**cache.backend_status(), "tiers": cache.stats(), "since": iso_time(cache.since)},
        "profiling": {
            **dataclasses.asdict(summary),
            "n_plus_one_suspects": len(profiler.suspects()),
        },
    }


@bp.get("/database", endpoint="database")
def database_health() -> Response:
    """Pool status, connectivity and recommendations of every engine."""
    state = get_state()
    checks = state.database_checks()
    status, results = run_checks(state, checks)
    if not details_allowed():
        return health_response(_public_body(status, results), status)
    engines: dict[str, t.Any] = {}
    advice: list[dict[str, str]] = []
    for name, monitor in state.monitors.items():
        pool = monitor.status()
        connectivity = results.get(database.check_name(name))
        pool_result = results.get(f"{database.check_name(name)}:connections")
        engine_status = Status.worst(r.status for r in (connectivity, pool_result) if r is not None)
        recommendations = [
            {"severity": r.severity, "message": r.message}
            for r in database.recommendations(monitor, pool, state.checkout_timeouts)
        ]
        advice.extend(recommendations)
        engines[name] = {
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
            "checkout_timeouts": state.checkout_timeouts,
            "breaker": state.guards[name].breaker.status(),
            "recommendations": recommendations,
        }
    body = checks_body(
        state, checks, status, results, {"engines": engines, "recommendations": advice}
    )
    return health_response({**body, "since": _pool_since(state)}, status)


@bp.get("/database/events", endpoint="database_events")
def database_events() -> Response:
    """Pool event counts of every engine, and checkout timeouts. Does no I/O."""
    state = get_state()
    status = Status.worst(database.pool_check_status(m.status()) for m in state.monitors.values())
    if status is Status.FAIL:
        status = Status.WARN
    if not details_allowed():
        return health_response({"status": status.value}, status)
    body = {
        "status": status.value,
        "engines": {
            name: {**m.event_counts(), "checked_out": m.status().checked_out}
            for name, m in state.monitors.items()
        },
        "checkout_timeouts": state.checkout_timeouts,
        "pid": os.getpid(),
        "since": _pool_since(state),
    }
    return health_response(body, status)


def _pool_since(state: PerfKitState) -> str:
    """When the oldest pool's event counts started."""
    return iso_time(min((m.since for m in state.monitors.values()), default=state.started))


@bp.get("/metrics", endpoint="metrics")
def metrics() -> Response:
    """Prometheus text exposition of the query, cache, pool and health metrics.

    Metrics are details: under ``when_authorized`` Prometheus sends the admin token as a
    bearer token; under ``never`` the endpoint is off.
    """
    state = get_state()
    if not details_allowed(state):
        _check_admin(
            "Metrics are details, which PERFKIT_HEALTH_SHOW_DETAILS does not show to this"
            " caller. Set PERFKIT_ADMIN_TOKEN and scrape with it as a bearer token.",
            "Metrics need an 'Authorization: Bearer <PERFKIT_ADMIN_TOKEN>' header.",
            off=state.config.health.show_details is ShowDetails.NEVER,
        )
    try:
        from . import metrics as _metrics

        _, results = run_checks(state, state.all_checks())
        text, content_type = _metrics.exposition(
            state,
            state.metrics_writer,
            {name: result.status for name, result in results.items()},
            request.headers.get("Accept", ""),
        )
    except ImportError:
        raise MetricsUnavailable(
            "GET /health/metrics needs prometheus_client: pip install 'flask-perfkit[prometheus]'."
        ) from None
    return Response(text, headers=_HEADERS, content_type=content_type)
