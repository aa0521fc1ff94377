"""The cache endpoints of the health blueprint, and the cache health check."""

from __future__ import annotations

import typing as t

from flask import Blueprint
from flask import Response
from flask import request

from ._respond import answer
from ._respond import done
from ._respond import require_admin
from ._state import get_state
from .cache import Tier
from .cache import TieredCache
from .checks import CheckResult
from .checks import Status
from .errors import InvalidParameter

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


def add_views(bp: Blueprint) -> None:
    """Add ``GET /cache`` and the admin ``POST /cache/clear`` and ``/cache/reset-stats``."""
    bp.add_url_rule("/cache", "cache", cache_health, methods=["GET"])
    bp.add_url_rule("/cache/clear", "cache_clear", cache_clear, methods=["POST"])
    bp.add_url_rule("/cache/reset-stats", "cache_reset_stats", cache_reset_stats, methods=["POST"])


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


def cache_health() -> Response:
    """Per-tier statistics and the backend's status; ``?tier=`` narrows to one tier."""
    tier = _tier_arg()
    cache = _cache()
    status, output = cache_status(cache)
    return answer(status, lambda: _details(cache, tier, output), cache.since)


def _details(cache: TieredCache, tier: Tier | None, output: str | None) -> dict[str, t.Any]:
    tiers = {
        name.value: {**stats.to_dict(), "timeout": cache.timeouts[name]}
        for name, stats in cache.tier_stats().items()
        if tier is None or name is tier
    }
    return {"output": output, **cache.backend_status(), "tiers": tiers}


@require_admin
def cache_clear() -> Response:
    """Drop PerfKit's entries (of one tier with ``?tier=``); nothing else in the backend."""
    tier = _tier_arg()
    cleared = _cache().invalidate(tier=tier)
    return done(cleared=cleared, tier=tier.value if tier else None)


@require_admin
def cache_reset_stats() -> Response:
    """Set every tier's counts back to 0. Admin only."""
    _cache().reset_stats()
    return done(reset=True)
