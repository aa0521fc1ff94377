"""Prometheus metrics of one app, served at ``GET /health/metrics``.

Nothing is added to the path of a query or a cache call: the metrics are read from the
statistics PerfKit keeps anyway, when Prometheus scrapes. Every label has a bounded set of
values (operations, cache tiers, bind names, check names), never SQL text.

With several worker processes, set ``PROMETHEUS_MULTIPROC_DIR`` as for prometheus_client's
multiprocess mode. Each process then writes a snapshot of its totals to a small JSON file in
that directory, every :data:`SYNC_SECONDS` and on each scrape, and the scraped process sums
the files: counters and histograms of every process that ever ran, gauges of the processes
still alive. The app's own prometheus_client metrics in that directory are served too.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
import typing as t
from collections.abc import Iterator
from collections.abc import Mapping

from ._histogram import LogHistogram
from .checks import Status
from .profiler import OPERATIONS

if t.TYPE_CHECKING:
    from ._state import PerfKitState

#: Seconds between two snapshots a process writes in multiprocess mode.
SYNC_SECONDS = 2.0
#: Upper bounds of the duration histogram, in seconds: powers of two microseconds from
#: 128 us to 8.4 s, which are exact edges of the profiler's own histogram buckets.
BOUND_EXPONENTS = tuple(range(7, 24))
BOUNDS = tuple(2**k / 1e6 for k in BOUND_EXPONENTS)

Snapshot = dict[str, t.Any]


def multiprocess_dir() -> str | None:
    """The directory of prometheus_client's multiprocess mode, if it is on."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def snapshot(state: PerfKitState) -> Snapshot:
    """This process's totals and gauges, as plain JSON data."""
    profiler = state.profiler
    queries = {}
    for op, totals in profiler.operation_totals().items():
        cumulative = []
        ordered = sorted(totals.buckets.items())
        seen = 0
        i = 0
        for k in BOUND_EXPONENTS:
            edge = LogHistogram.power_of_two_edge(k)
            while i < len(ordered) and ordered[i][0] <= edge:
                seen += ordered[i][1]
                i += 1
            cumulative.append(seen)
        queries[op] = {"count": totals.count, "sum": totals.seconds, "buckets": cumulative}
    summary = profiler.summary()
    suspects = profiler.suspects()
    cache = state.cache
    tiers = {} if cache is None else cache.tier_stats()
    pools = {}
    for bind, monitor in state.monitors.items():
        pool = monitor.status()
        pools[bind] = {
            "size": pool.size,
            "checked_out": pool.checked_out,
            "overflow": pool.overflow,
            "utilization": pool.utilization,
        }
    breakers = {
        bind: {
            "state": g.breaker.state.value,
            "opens": g.breaker.opens,
            "rejected": g.breaker.rejected,
        }
        for bind, g in state.guards.items()
    }
    return {
        "pid": os.getpid(),
        "time": time.time(),
        "breakers": breakers,
        "queries": queries,
        "counters": {
            "slow": summary.slow_queries,
            "very_slow": summary.very_slow_queries,
            "errors": summary.errors,
            "evictions": summary.evictions,
            "n_plus_one_requests": sum(s.requests for s in suspects),
            "checkout_timeouts": state.checkout_timeouts,
        },
        "n_plus_one_suspects": len(suspects),
        "memory": state.memory(),
        "cache": {
            tier.value: {"hit": s.hits, "miss": s.misses, "errors": s.errors}
            for tier, s in tiers.items()
        },
        "pools": pools,
    }


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def merge(snapshots: list[Snapshot]) -> Snapshot:
    """Sum snapshots of several processes.

    Counters and histograms add up over every snapshot; gauges only over processes that are
    still running; utilization is the highest of them.
    """
    merged: Snapshot = {
        "queries": {
            op: {"count": 0, "sum": 0.0, "buckets": [0] * len(BOUNDS)} for op in OPERATIONS
        },
        "counters": {},
        "n_plus_one_suspects": 0,
        "memory": {},
        "cache": {},
        "pools": {},
        "breakers": {},
    }
    for snap in snapshots:
        _merge_breakers(merged["breakers"], snap.get("breakers", {}), _alive(snap["pid"]))
        for op, data in snap["queries"].items():
            into = merged["queries"].setdefault(
                op, {"count": 0, "sum": 0.0, "buckets": [0] * len(BOUNDS)}
            )
            into["count"] += data["count"]
            into["sum"] += data["sum"]
            into["buckets"] = [a + b for a, b in zip(into["buckets"], data["buckets"], strict=True)]
        for name, value in snap["counters"].items():
            merged["counters"][name] = merged["counters"].get(name, 0) + value
        for tier, counts in snap["cache"].items():
            into = merged["cache"].setdefault(tier, {"hit": 0, "miss": 0, "errors": 0})
            for name, value in counts.items():
                into[name] += value
        alive = _alive(snap["pid"])
        for structure, usage in snap.get("memory", {}).items():
            into = merged["memory"].setdefault(structure, {"entries": 0, "evictions": 0})
            into["evictions"] += usage["evictions"]
            if alive:
                into["entries"] += usage["entries"]
        if not alive:
            continue
        merged["n_plus_one_suspects"] += snap["n_plus_one_suspects"]
        for bind, pool in snap["pools"].items():
            into = merged["pools"].setdefault(
                bind, {"size": None, "checked_out": 0, "overflow": None, "utilization": None}
            )
            into["checked_out"] += pool["checked_out"]
            for name in ("size", "overflow"):
                if pool[name] is not None:
                    into[name] = (into[name] or 0) + pool[name]
            if pool["utilization"] is not None:
                into["utilization"] = max(into["utilization"] or 0.0, pool["utilization"])
    return merged


_BREAKER_SEVERITY = ("closed", "half_open", "open")


def _merge_breakers(into: dict[str, t.Any], breakers: Mapping[str, t.Any], alive: bool) -> None:
    """Add one process's breaker counters; its state counts only while it runs, and the
    most severe state of the running processes wins."""
    for bind, data in breakers.items():
        merged = into.setdefault(bind, {"state": None, "opens": 0, "rejected": 0})
        merged["opens"] += data["opens"]
        merged["rejected"] += data["rejected"]
        if alive and data["state"] in _BREAKER_SEVERITY:
            current = merged["state"]
            if current is None or _BREAKER_SEVERITY.index(data["state"]) > _BREAKER_SEVERITY.index(
                current
            ):
                merged["state"] = data["state"]


class SnapshotWriter:
    """Writes this process's snapshot into the multiprocess directory.

    :param state: The app's PerfKit state.
    :param app_name: Tells apart the files of several apps sharing one directory.
    """

    def __init__(self, state: PerfKitState, app_name: str) -> None:
        self.state = state
        self.tag = hashlib.blake2b(app_name.encode(), digest_size=4).hexdigest()
        self._lock = threading.Lock()
        self._thread_pid: int | None = None

    def path(self, directory: str, pid: int) -> str:
        """The snapshot file of process ``pid``."""
        return os.path.join(directory, f"perfkit_{self.tag}_{pid}.json")

    def write(self, directory: str) -> None:
        """Write this process's snapshot, atomically."""
        data = snapshot(self.state)
        target = self.path(directory, data["pid"])
        temporary = f"{target}.{threading.get_ident()}.tmp"
        with open(temporary, "w", encoding="utf-8") as file:
            json.dump(data, file, separators=(",", ":"))
        os.replace(temporary, target)

    def read_all(self, directory: str) -> list[Snapshot]:
        """The snapshots of every process of this app in ``directory``."""
        found = []
        prefix = f"perfkit_{self.tag}_"
        for name in os.listdir(directory):
            if not (name.startswith(prefix) and name.endswith(".json")):
                continue
            with contextlib.suppress(OSError, ValueError):
                with open(os.path.join(directory, name), encoding="utf-8") as file:
                    data = json.load(file)
                if isinstance(data, dict) and {"pid", "queries", "counters"} <= data.keys():
                    found.append(data)
        return found

    def start(self) -> None:
        """Start the writing thread of this process, once per process (forks included)."""
        pid = os.getpid()
        if self._thread_pid == pid:
            return
        with self._lock:
            if self._thread_pid == pid:
                return
            self._thread_pid = pid
        threading.Thread(target=self._loop, name="perfkit-metrics", daemon=True).start()

    def _loop(self) -> None:
        # Ends with the app, so apps made and dropped by a factory leave no thread behind.
        while self.state.app_alive:
            directory = multiprocess_dir()
            if directory:
                with contextlib.suppress(OSError):
                    self.write(directory)
            time.sleep(SYNC_SECONDS)


def _families(data: Snapshot, health: Mapping[str, Status]) -> Iterator[t.Any]:
    from prometheus_client.core import CounterMetricFamily
    from prometheus_client.core import GaugeMetricFamily
    from prometheus_client.core import HistogramMetricFamily

    duration = HistogramMetricFamily(
        "perfkit_query_duration_seconds",
        "Duration of SQL statements by operation.",
        labels=["operation"],
    )
    for op, q in data["queries"].items():
        buckets = [(repr(bound), count) for bound, count in zip(BOUNDS, q["buckets"], strict=True)]
        buckets.append(("+Inf", q["count"]))
        duration.add_metric([op], buckets, q["sum"])
    yield duration

    counters = data["counters"]
    for name, key, text in (
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
        (
            "perfkit_db_checkout_timeouts",
            "checkout_timeouts",
            "Requests that waited out the pool timeout.",
        ),
    ):
        yield CounterMetricFamily(name, text, value=counters.get(key, 0))
    yield GaugeMetricFamily(
        "perfkit_n_plus_one_suspects",
        "Distinct (endpoint, pattern) N+1 suspects.",
        value=data["n_plus_one_suspects"],
    )

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

    requests = CounterMetricFamily(
        "perfkit_cache_requests",
        "Tiered cache lookups by tier and result.",
        labels=["tier", "result"],
    )
    errors = CounterMetricFamily(
        "perfkit_cache_errors", "Cache backend errors by tier.", labels=["tier"]
    )
    for tier, counts in data["cache"].items():
        requests.add_metric([tier, "hit"], counts["hit"])
        requests.add_metric([tier, "miss"], counts["miss"])
        errors.add_metric([tier], counts["errors"])
    yield requests
    yield errors

    gauges = {
        "size": GaugeMetricFamily(
            "perfkit_db_pool_size", "Connections the pool keeps.", labels=["bind"]
        ),
        "checked_out": GaugeMetricFamily(
            "perfkit_db_pool_checked_out", "Connections in use.", labels=["bind"]
        ),
        "overflow": GaugeMetricFamily(
            "perfkit_db_pool_overflow", "Connections beyond the pool size.", labels=["bind"]
        ),
        "utilization": GaugeMetricFamily(
            "perfkit_db_pool_utilization",
            "Connections in use over the pool's capacity, 0 to 1.",
            labels=["bind"],
        ),
    }
    for bind, pool in data["pools"].items():
        for name, family in gauges.items():
            if pool[name] is not None:
                family.add_metric([bind], pool[name])
    yield from gauges.values()

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
            for candidate in _BREAKER_SEVERITY:
                breaker_state.add_metric(
                    [bind, candidate], 1.0 if candidate == breaker["state"] else 0.0
                )
        opens.add_metric([bind], breaker["opens"])
        rejected.add_metric([bind], breaker["rejected"])
    yield breaker_state
    yield opens
    yield rejected

    status = GaugeMetricFamily(
        "perfkit_health_status",
        "1 for the current status of each health check, 0 for the others.",
        labels=["check", "status"],
    )
    for check, current in health.items():
        for candidate in Status:
            status.add_metric([check, candidate.value], 1.0 if candidate is current else 0.0)
    yield status


class PerfKitCollector:
    """A prometheus_client collector of PerfKit's metrics.

    :param data: The (merged) snapshot to expose.
    :param health: The status of each health check.
    """

    def __init__(self, data: Snapshot, health: Mapping[str, Status]) -> None:
        self.data = data
        self.health = health

    def collect(self) -> Iterator[t.Any]:
        """The metric families, for prometheus_client."""
        return _families(self.data, self.health)


def exposition(
    state: PerfKitState, writer: SnapshotWriter, health: Mapping[str, Status], accept: str
) -> tuple[bytes, str]:
    """The metrics text and its content type, for the ``Accept`` header ``accept``.

    :raises ImportError: prometheus_client is not installed.
    """
    from prometheus_client import CollectorRegistry
    from prometheus_client.exposition import choose_encoder

    registry = CollectorRegistry(auto_describe=False)
    directory = multiprocess_dir()
    if directory:
        from prometheus_client import multiprocess

        writer.write(directory)
        data = merge(writer.read_all(directory))
        multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    else:
        data = merge([snapshot(state)])
    registry.register(PerfKitCollector(data, health))
    encoder, content_type = choose_encoder(accept)
    return encoder(registry), content_type
