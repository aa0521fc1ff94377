"""Running health checks for a request, and the bodies of their results."""

from __future__ import annotations

import json
import typing as t

from flask import Response
from flask import current_app

from ._respond import details_allowed
from ._respond import encoded_response
from ._respond import stamped
from ._state import PerfKitState
from .checks import CheckResult
from .checks import HealthCheck
from .checks import Status
from .checks import aggregate
from .signals import health_changed

# Time kept back from the budget to build and send the response.
_RESPONSE_MARGIN = 0.05


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
    since: float | None = None,
) -> dict[str, t.Any]:
    """The detailed body of a check run: each check's result, ``extra``, ``pid`` and ``since``.

    :param since: When the numbers of ``extra`` started counting; by default when the app's
        PerfKit state was made.
    """
    body = {
        "status": status.value,
        "checks": {c.name: _check_body(c, results[c.name]) for c in checks},
        **(extra or {}),
    }
    return stamped(body, state.started if since is None else since)


def public_body(status: Status, results: t.Mapping[str, CheckResult]) -> dict[str, t.Any]:
    """The body of a check run for callers who may not see details: statuses only."""
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
        return encoded_response(memo[3], memo[2])
    status = _conclude(state, checks, results)
    if not detailed:
        body = public_body(status, results)
    else:
        body = checks_body(state, checks, status, results, extra() if extra is not None else {})
    encoded = json.dumps(body, separators=(",", ":")).encode()
    if extra is None:
        if len(state.body_memo) > 32:
            state.body_memo.clear()
        state.body_memo[key] = (checks, fresh, status, encoded)
    return encoded_response(encoded, status)


def _same(old: tuple[CheckResult, ...], new: tuple[CheckResult, ...]) -> bool:
    return len(old) == len(new) and all(a is b for a, b in zip(old, new, strict=True))
