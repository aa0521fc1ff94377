"""The cache endpoints of the health blueprint, and the cache health check."""

from __future__ import annotations

import os
import typing as t

from flask import Response
from flask import request

from ._state import get_state
from ._state import iso_time
from .cache import Tier
from .cache import TieredCache
from .checks import CheckResult
from .checks import Status
from .errors import InvalidParameter
from .health import bp
from .health import details_allowed
from .health import health_response
from .health import require_admin

#: Lookups a tier needs before a low hit rate makes the cache check warn.
MIN_LOOKUPS = 100
#: A hit rate below this, with enough lookups, makes the cache check warn.
LOW_HIT_RATE = 0.1


def cache_status(cache: TieredCache) -> tuple[Status, str | None]:
    """``fail`` while the breaker is open, ``warn`` for a very low hit rate, else ``pass``."""
    if cache.circuit_open:
        return Status.FAIL, cache.last_error or "backend failing"
    for tier, stats in cache.tier_stats().items():
        if stats.lookups >= MIN_LOOKUPS and (stats.hit_rate or 0) < LOW_HIT_RATE:
            return Status.WARN, f"hit rate of the {tier.value} tier is {stats.hit_rate:.0%}"
    return Status.PASS, None


def cache_check(cache: TieredCache) -> t.Callable[[], CheckResult]:
    """The non-critical health check of the cache backend: one read, past the breaker."""

    def check() -> CheckResult:
        latency = cache.probe()
        status, output = cache_status(cache)
        return CheckResult(status, output=output, observed_value=latency, observed_unit="ms")

    return check


def _cache() -> TieredCache:
    cache = get_state().cache
    assert cache is not None, "the blueprint is mounted only when PerfKit is enabled"
    return cache


def _tier_arg() -> Tier | None:
    raw = request.args.get("tier")
    if raw is None:
        return None
    try:
        return Tier(raw)
    except ValueError:
        allowed = ", ".join(tier.value for tier in Tier)
        raise InvalidParameter(f"'tier' must be one of {allowed}.", param="tier") from None


@bp.get("/cache", endpoint="cache")
def cache_health() -> Response:
    """Per-tier statistics and the backend's status; ``?tier=`` narrows to one tier."""
    tier = _tier_arg()
    cache = _cache()
    status, output = cache_status(cache)
    if not details_allowed():
        return health_response({"status": status.value}, status)
    tiers = {
        name.value: {**stats.to_dict(), "timeout": cache.timeouts[name]}
        for name, stats in cache.tier_stats().items()
        if tier is None or name is tier
    }
    body = {
        "status": status.value,
        "output": output,
        **cache.backend_status(),
        "tiers": tiers,
        "pid": os.getpid(),
        "since": iso_time(cache.since),
    }
    return health_response(body, status)


@bp.post("/cache/clear", endpoint="cache_clear")
@require_admin
def cache_clear() -> Response:
    """Drop PerfKit's entries (of one tier with ``?tier=``); nothing else in the backend."""
    tier = _tier_arg()
    cleared = _cache().invalidate(tier=tier)
    body = {"status": "pass", "cleared": cleared, "tier": tier.value if tier else None}
    return health_response({**body, "pid": os.getpid()}, Status.PASS)


@bp.post("/cache/reset-stats", endpoint="cache_reset_stats")
@require_admin
def cache_reset_stats() -> Response:
    """Set every tier's counts back to 0. Admin only."""
    _cache().reset_stats()
    return health_response({"status": "pass", "reset": True, "pid": os.getpid()}, Status.PASS)
