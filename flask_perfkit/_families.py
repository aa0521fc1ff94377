"""The Prometheus metric families of a (merged) metrics snapshot, one function per area.

Each capability yields its families from
:meth:`~flask_perfkit.capability.Capability.metric_families`, calling the functions here;
:func:`families` puts them in order with the memory and health families. Imported only when
``/health/metrics`` is scraped, as it needs prometheus_client.
"""

from __future__ import annotations

import typing as t
from collections.abc import Iterator
from collections.abc import Mapping

from prometheus_client.core import CounterMetricFamily
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.core import HistogramMetricFamily

from .capability import MEMORY_RANK
from .checks import Status

if t.TYPE_CHECKING:
    from .capability import Capability

Snapshot = Mapping[str, t.Any]

QUERY_COUNTERS = (
    ("perfkit_slow_queries", "slow", "Statements at or above PERFKIT_SLOW_QUERY_MS."),
    (
        "perfkit_very_slow_queries",
        "very_slow",
        "Statements at or above PERFKIT_VERY_SLOW_QUERY_MS.",
    ),
    ("perfkit_query_errors", "errors", "Statements that failed."),
    ("perfkit_pattern_evictions", "evictions", "Statement patterns evicted from the stats."),
    (
        "perfkit_n_plus_one_requests",
        "n_plus_one_requests",
        "Requests that ran one SELECT pattern at least PERFKIT_N_PLUS_ONE_THRESHOLD times.",
    ),
)
POOL_COUNTERS = (
    (
        "perfkit_db_checkout_timeouts",
        "checkout_timeouts",
        "Requests that waited out the pool timeout.",
    ),
)

_POOL_GAUGES = (
    ("size", "perfkit_db_pool_size", "Connections the pool keeps."),
    ("checked_out", "perfkit_db_pool_checked_out", "Connections in use."),
    ("overflow", "perfkit_db_pool_overflow", "Connections beyond the pool size."),
    (
        "utilization",
        "perfkit_db_pool_utilization",
        "Connections in use over the pool's capacity, 0 to 1.",
    ),
)


def families(
    data: Snapshot,
    health: Mapping[str, Status],
    registry: t.Iterable[type[Capability]],
) -> Iterator[t.Any]:
    """Every metric family of ``data`` and of the health statuses ``health``: each
    capability's of ``registry`` and the memory families, by rank, then the health family.
    """
    ranked = [(MEMORY_RANK, family) for family in memory(data)]
    for capability in registry:
        ranked.extend(capability.metric_families(data))
    ranked.sort(key=_rank)
    for _, family in ranked:
        yield family
    yield _health(health)


def _rank(item: tuple[int, t.Any]) -> int:
    return item[0]


def duration(data: Snapshot, bounds: tuple[float, ...]) -> t.Any:
    """The histogram of statement durations, with upper bounds ``bounds`` in seconds."""
    duration = HistogramMetricFamily(
        "perfkit_query_duration_seconds",
        "Duration of SQL statements by operation.",
        labels=["operation"],
    )
    for op, q in data.get("queries", {}).items():
        buckets = [(repr(bound), count) for bound, count in zip(bounds, q["buckets"], strict=True)]
        buckets.append(("+Inf", q["count"]))
        duration.add_metric([op], buckets, q["sum"])
    return duration


def counters(data: Snapshot, table: tuple[tuple[str, str, str], ...]) -> Iterator[t.Any]:
    """A counter family for each ``(metric name, key in counters, help)`` of ``table``."""
    values = data["counters"]
    for name, key, text in table:
        yield CounterMetricFamily(name, text, value=values.get(key, 0))


def suspects(data: Snapshot) -> t.Any:
    """The gauge of N+1 suspects."""
    return GaugeMetricFamily(
        "perfkit_n_plus_one_suspects",
        "Distinct (endpoint, pattern) N+1 suspects.",
        value=data.get("n_plus_one_suspects", 0),
    )


def memory(data: Snapshot) -> Iterator[t.Any]:
    """The entries and evictions of each bounded in-memory structure."""
    entries = GaugeMetricFamily(
        "perfkit_memory_entries",
        "Entries in each bounded in-memory structure.",
        labels=["structure"],
    )
    evictions = CounterMetricFamily(
        "perfkit_memory_evictions",
        "Entries each bounded in-memory structure dropped to stay within its limit.",
        labels=["structure"],
    )
    for structure, usage in data["memory"].items():
        entries.add_metric([structure], usage["entries"])
        evictions.add_metric([structure], usage["evictions"])
    yield entries
    yield evictions


def cache(data: Snapshot) -> Iterator[t.Any]:
    """The tiered cache's lookups and errors by tier."""
    requests = CounterMetricFamily(
        "perfkit_cache_requests",
        "Tiered cache lookups by tier and result.",
        labels=["tier", "result"],
    )
    errors = CounterMetricFamily(
        "perfkit_cache_errors", "Cache backend errors by tier.", labels=["tier"]
    )
    for tier, counts in data.get("cache", {}).items():
        requests.add_metric([tier, "hit"], counts["hit"])
        requests.add_metric([tier, "miss"], counts["miss"])
        errors.add_metric([tier], counts["errors"])
    yield requests
    yield errors


def pools(data: Snapshot) -> Iterator[t.Any]:
    """The gauges of each engine's pool."""
    gauges = {
        key: GaugeMetricFamily(name, text, labels=["bind"]) for key, name, text in _POOL_GAUGES
    }
    for bind, pool in data.get("pools", {}).items():
        for key, family in gauges.items():
            if pool[key] is not None:
                family.add_metric([bind], pool[key])
    yield from gauges.values()


def breakers(data: Snapshot, states: tuple[str, ...]) -> Iterator[t.Any]:
    """The state, opens and rejections of each engine's circuit breaker."""
    breaker_state = GaugeMetricFamily(
        "perfkit_db_breaker_state",
        "1 for the current state of each engine's circuit breaker, 0 for the others.",
        labels=["bind", "state"],
    )
    opens = CounterMetricFamily(
        "perfkit_db_breaker_opens", "Times an engine's circuit breaker opened.", labels=["bind"]
    )
    rejected = CounterMetricFamily(
        "perfkit_db_breaker_rejected",
        "Checkouts refused at once because an engine's circuit breaker was open.",
        labels=["bind"],
    )
    for bind, breaker in data.get("breakers", {}).items():
        if breaker["state"] is not None:
            for candidate in states:
                breaker_state.add_metric(
                    [bind, candidate], 1.0 if candidate == breaker["state"] else 0.0
                )
        opens.add_metric([bind], breaker["opens"])
        rejected.add_metric([bind], breaker["rejected"])
    yield breaker_state
    yield opens
    yield rejected


def _health(health: Mapping[str, Status]) -> t.Any:
    status = GaugeMetricFamily(
        "perfkit_health_status",
        "1 for the current status of each health check, 0 for the others.",
        labels=["check", "status"],
    )
    for check, current in health.items():
        for candidate in Status:
            status.add_metric([check, candidate.value], 1.0 if candidate is current else 0.0)
    return status
