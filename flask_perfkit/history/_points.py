"""One point of history: what changed between two snapshots of the totals.

A snapshot is what ``/health/metrics`` exposes (:func:`flask_perfkit.metrics.snapshot`,
merged over processes in multiprocess mode), so a point reads the statistics PerfKit keeps
anyway and adds nothing to the path of a query.
"""

from __future__ import annotations

import math
import typing as t
from collections.abc import Mapping

from ..metrics import BOUNDS
from ..metrics import Snapshot

#: The percentiles of each operation's latency in a point, after its count.
QUANTILES = (0.5, 0.95, 0.99)
#: How many patterns a point names: the ones that took the most time in its interval.
TOP_PATTERNS = 8
#: Status and breaker state names, least severe first.
STATUS_ORDER = ("pass", "warn", "fail")
BREAKER_ORDER = ("closed", "half_open", "open")


def _grown(now: float, before: float) -> float:
    """How much a total grew; a total that shrank was reset, and all of it is new."""
    return now - before if now >= before else now


def quantile_ms(cumulative: t.Sequence[int], count: int, fraction: float) -> float:
    """The duration below which ``fraction`` of ``count`` durations fall, in milliseconds.

    :param cumulative: The count of durations up to each of :data:`~flask_perfkit.metrics.BOUNDS`.
    :param count: All the durations, those beyond the last bound too.
    :param fraction: Between 0 and 1.

    Read between the bounds of its bucket on a log scale, so within a factor of 1.42 of the
    exact value; durations beyond the last bound read as that bound.
    """
    wanted = fraction * count
    below = 0
    for i, seen in enumerate(cumulative):
        if seen >= wanted and seen > below:
            upper = BOUNDS[i]
            lower = BOUNDS[i - 1] if i else upper / 2
            share = (wanted - below) / (seen - below)
            return float(round(lower * math.pow(upper / lower, share) * 1000, 3))
        below = seen
    return float(round(BOUNDS[-1] * 1000, 3))


def _latency(now: Snapshot, before: Snapshot) -> tuple[int, dict[str, list[float]]]:
    total = 0
    latency = {}
    old_queries = before.get("queries", {})
    for op, data in now.get("queries", {}).items():
        old = old_queries.get(op)
        if old is None or data["count"] < old["count"]:
            count, buckets = data["count"], data["buckets"]
        else:
            count = data["count"] - old["count"]
            buckets = [a - b for a, b in zip(data["buckets"], old["buckets"], strict=True)]
        if count <= 0:
            continue
        total += count
        latency[op] = [count, *(quantile_ms(buckets, count, q) for q in QUANTILES)]
    return total, latency


def _cache(now: Snapshot, before: Snapshot) -> dict[str, dict[str, int]]:
    old_tiers = before.get("cache", {})
    tiers = {}
    for tier, counts in now.get("cache", {}).items():
        old = old_tiers.get(tier, {})
        tiers[tier] = {
            "hits": int(_grown(counts["hit"], old.get("hit", 0))),
            "misses": int(_grown(counts["miss"], old.get("miss", 0))),
            "errors": int(_grown(counts["errors"], old.get("errors", 0))),
        }
    return tiers


def _pools(now: Snapshot) -> dict[str, dict[str, int | None]]:
    return {
        bind: {
            "checked_out": pool["checked_out"],
            "size": pool["size"],
            "overflow": pool["overflow"],
            "waiters": pool.get("waiters", 0),
        }
        for bind, pool in now.get("pools", {}).items()
    }


def top_patterns(
    now: Mapping[str, t.Sequence[float]], before: Mapping[str, t.Sequence[float]]
) -> dict[str, list[float]]:
    """The :data:`TOP_PATTERNS` patterns that took the most time between two sets of
    per-pattern totals (``query_id: (calls, seconds)``), each with ``[calls, milliseconds]``."""
    grown = []
    for qid, (calls, seconds) in now.items():
        old = before.get(qid)
        if old is None or calls < old[0]:
            delta_calls, delta_seconds = calls, seconds
        else:
            delta_calls, delta_seconds = calls - old[0], seconds - old[1]
        if delta_calls > 0:
            grown.append((delta_seconds, qid, delta_calls))
    grown.sort(reverse=True)
    return {
        qid: [int(calls), round(seconds * 1000, 3)] for seconds, qid, calls in grown[:TOP_PATTERNS]
    }


def point(
    now: Snapshot,
    before: Snapshot,
    *,
    end: float,
    seconds: float,
    checks: Mapping[str, str],
    patterns: dict[str, list[float]],
) -> dict[str, t.Any]:
    """The point of history for the interval between the snapshots ``before`` and ``now``.

    :param end: When the interval ended, in seconds since the epoch.
    :param seconds: How long the interval was.
    :param checks: The status of each health check at its end.
    :param patterns: What :func:`top_patterns` found for the interval.
    """
    queries, latency = _latency(now, before)
    counters, old_counters = now.get("counters", {}), before.get("counters", {})

    def grown(name: str) -> int:
        return int(_grown(counters.get(name, 0), old_counters.get(name, 0)))

    return {
        "end": end,
        "seconds": round(seconds, 3),
        "queries": queries,
        "qps": round(queries / seconds, 3) if seconds > 0 else 0.0,
        "latency_ms": latency,
        "slow": grown("slow"),
        "very_slow": grown("very_slow"),
        "errors": grown("errors"),
        "checkout_timeouts": grown("checkout_timeouts"),
        "pools": _pools(now),
        "cache": _cache(now, before),
        "breakers": {bind: b["state"] for bind, b in now.get("breakers", {}).items()},
        "checks": dict(checks),
        "patterns": patterns,
    }


def worst(order: tuple[str, ...], first: str | None, second: str | None) -> str | None:
    """The more severe of two names of ``order``; ``None`` and unknown names rank lowest."""
    if first not in order:
        return second
    if second not in order:
        return first
    return first if order.index(first) >= order.index(second) else second


class Peaks:
    """The peaks of the gauges and the worst states over the fine points of one coarse
    interval, which a coarse point shows in place of its last sample."""

    def __init__(self) -> None:
        self.pools: dict[str, dict[str, int | None]] = {}
        self.breakers: dict[str, str | None] = {}
        self.checks: dict[str, str | None] = {}

    def clear(self) -> None:
        """Start over, for the next coarse interval."""
        self.pools = {}
        self.breakers = {}
        self.checks = {}

    def add(self, fine: Mapping[str, t.Any]) -> None:
        """Fold in one fine point."""
        for bind, pool in fine["pools"].items():
            into = self.pools.setdefault(bind, dict(pool))
            for name, value in pool.items():
                if value is not None and (into[name] is None or value > t.cast(int, into[name])):
                    into[name] = value
        for bind, state in fine["breakers"].items():
            self.breakers[bind] = worst(BREAKER_ORDER, self.breakers.get(bind), state)
        for name, status in fine["checks"].items():
            self.checks[name] = worst(STATUS_ORDER, self.checks.get(name), status)

    def apply(self, coarse: dict[str, t.Any]) -> None:
        """Put the peaks into the coarse point ``coarse`` and start over."""
        for bind, pool in self.pools.items():
            coarse["pools"][bind] = pool
        coarse["breakers"].update({b: s for b, s in self.breakers.items() if s is not None})
        coarse["checks"].update({c: s for c, s in self.checks.items() if s is not None})
        self.clear()
