"""Prometheus metrics of one app, served at ``GET /health/metrics``.

Nothing is added to the path of a query or a cache call: the metrics are read from the
statistics PerfKit keeps anyway, when Prometheus scrapes. Every label has a bounded set of
values (operations, cache tiers, bind names, check names), never SQL text.

With several worker processes, set ``PROMETHEUS_MULTIPROC_DIR`` as for prometheus_client's
multiprocess mode. Each process then writes a snapshot of its totals to a small JSON file in
that directory, every :data:`SYNC_SECONDS` and on each scrape, and the scraped process sums
the files: counters and histograms of every process that ever ran, gauges of the processes
still alive. The app's own prometheus_client metrics in that directory are served too.
:doc:`/deployment` says why these snapshots are PerfKit's own rather than prometheus_client
metrics in multiprocess mode.

Each capability gives its part of the snapshot from
:meth:`~flask_perfkit.capability.Capability.metrics`, merges it across processes by its
:meth:`~flask_perfkit.capability.Capability.merge_metrics` and turns the merged snapshot into
metric families by its :meth:`~flask_perfkit.capability.Capability.metric_families`.
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
from .capability import fields_of
from .checks import Status
from .profiler import OPERATIONS

if t.TYPE_CHECKING:
    from ._state import PerfKitState
    from .cache import TieredCache
    from .capability import Capability
    from .profiler import QueryProfiler

#: Seconds between two snapshots a process writes in multiprocess mode.
SYNC_SECONDS = 2.0
#: Upper bounds of the duration histogram, in seconds: powers of two microseconds from
#: 128 us to 8.4 s, which are exact edges of the profiler's own histogram buckets.
BOUND_EXPONENTS = tuple(range(7, 24))
BOUNDS = tuple(2**k / 1e6 for k in BOUND_EXPONENTS)
#: The histogram bucket at the edge of each bound.
_BOUND_EDGES = tuple(LogHistogram.power_of_two_edge(k) for k in BOUND_EXPONENTS)

Snapshot = dict[str, t.Any]


def multiprocess_dir() -> str | None:
    """The directory of prometheus_client's multiprocess mode, if it is on."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def snapshot(state: PerfKitState) -> Snapshot:
    """This process's totals and gauges, as plain JSON data: each capability's
    :meth:`~flask_perfkit.capability.Capability.metrics`, with their ``counters`` together."""
    data: Snapshot = {
        "pid": os.getpid(),
        "time": time.time(),
        "counters": {},
        "memory": {name: fields_of(usage) for name, usage in state.memory().items()},
    }
    for capability in state.registry.values():
        for key, value in capability.metrics().items():
            if key == "counters":
                data["counters"].update(value)
            else:
                data[key] = value
    return data


def profiler_snapshot(profiler: QueryProfiler) -> Snapshot:
    """The query histograms and counters of ``profiler``, as plain JSON data."""
    queries = {}
    for op, totals in profiler.operation_totals().items():
        cumulative = []
        ordered = sorted(totals.buckets.items())
        seen = 0
        i = 0
        for edge in _BOUND_EDGES:
            while i < len(ordered) and ordered[i][0] <= edge:
                seen += ordered[i][1]
                i += 1
            cumulative.append(seen)
        queries[op] = {"count": totals.count, "sum": totals.seconds, "buckets": cumulative}
    summary = profiler.summary()
    suspects = profiler.suspects()
    return {
        "queries": queries,
        "counters": {
            "slow": summary.slow_queries,
            "very_slow": summary.very_slow_queries,
            "errors": summary.errors,
            "evictions": summary.evictions,
            "n_plus_one_requests": sum(s.requests for s in suspects),
        },
        "n_plus_one_suspects": len(suspects),
    }


def cache_snapshot(cache: TieredCache | None) -> Snapshot:
    """The per-tier counts of ``cache``, as plain JSON data."""
    tiers = {} if cache is None else cache.tier_stats()
    return {
        "cache": {
            tier.value: {"hit": s.hits, "miss": s.misses, "errors": s.errors}
            for tier, s in tiers.items()
        }
    }


def process_alive(pid: int) -> bool:
    """Whether the process ``pid`` still runs."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def merge(snapshots: list[Snapshot], registry: t.Iterable[type[Capability]]) -> Snapshot:
    """Merge snapshots of several processes.

    Counters and memory evictions add up over every snapshot, memory entries only over
    processes that are still running; each capability of ``registry`` merges the rest of its
    part by its :meth:`~flask_perfkit.capability.Capability.merge_metrics`.
    """
    capabilities = tuple(registry)
    merged: Snapshot = {"counters": {}, "memory": {}}
    for snap in snapshots:
        alive = process_alive(snap["pid"])
        for name, value in snap["counters"].items():
            merged["counters"][name] = merged["counters"].get(name, 0) + value
        for structure, usage in snap.get("memory", {}).items():
            into = merged["memory"].setdefault(structure, {"entries": 0, "evictions": 0})
            into["evictions"] += usage["evictions"]
            if alive:
                into["entries"] += usage["entries"]
        for capability in capabilities:
            capability.merge_metrics(merged, snap, alive)
    return merged


def merge_queries(merged: Snapshot, snap: Mapping[str, t.Any], alive: bool) -> None:
    """Add the query histograms of every process, and the N+1 suspects of live ones."""
    queries = merged.setdefault(
        "queries",
        {op: {"count": 0, "sum": 0.0, "buckets": [0] * len(BOUNDS)} for op in OPERATIONS},
    )
    for op, data in snap.get("queries", {}).items():
        into = queries.setdefault(op, {"count": 0, "sum": 0.0, "buckets": [0] * len(BOUNDS)})
        into["count"] += data["count"]
        into["sum"] += data["sum"]
        into["buckets"] = [a + b for a, b in zip(into["buckets"], data["buckets"], strict=True)]
    merged.setdefault("n_plus_one_suspects", 0)
    if alive:
        merged["n_plus_one_suspects"] += snap.get("n_plus_one_suspects", 0)


def merge_cache(merged: Snapshot, snap: Mapping[str, t.Any], alive: bool) -> None:
    """Add the per-tier counts of every process."""
    tiers = merged.setdefault("cache", {})
    for tier, counts in snap.get("cache", {}).items():
        into = tiers.setdefault(tier, {"hit": 0, "miss": 0, "errors": 0})
        for name, value in counts.items():
            into[name] += value


def merge_pools(merged: Snapshot, snap: Mapping[str, t.Any], alive: bool) -> None:
    """Add the pool gauges of live processes; utilization is the highest of them."""
    pools = merged.setdefault("pools", {})
    if not alive:
        return
    for bind, pool in snap.get("pools", {}).items():
        into = pools.setdefault(
            bind,
            {"size": None, "checked_out": 0, "overflow": None, "utilization": None, "waiters": 0},
        )
        into["checked_out"] += pool["checked_out"]
        into["waiters"] += pool.get("waiters", 0)
        for name in ("size", "overflow"):
            if pool[name] is not None:
                into[name] = (into[name] or 0) + pool[name]
        if pool["utilization"] is not None:
            into["utilization"] = max(into["utilization"] or 0.0, pool["utilization"])


#: Breaker states from the least to the most severe.
BREAKER_SEVERITY = ("closed", "half_open", "open")


def merge_breakers(merged: Snapshot, snap: Mapping[str, t.Any], alive: bool) -> None:
    """Add one process's breaker counters; its state counts only while it runs, and the
    most severe state of the running processes wins."""
    into = merged.setdefault("breakers", {})
    for bind, data in snap.get("breakers", {}).items():
        breaker = into.setdefault(bind, {"state": None, "opens": 0, "rejected": 0})
        breaker["opens"] += data["opens"]
        breaker["rejected"] += data["rejected"]
        if alive and data["state"] in BREAKER_SEVERITY:
            current = breaker["state"]
            if current is None or BREAKER_SEVERITY.index(data["state"]) > BREAKER_SEVERITY.index(
                current
            ):
                breaker["state"] = data["state"]


class SnapshotWriter:
    """Writes this process's snapshot into the multiprocess directory.

    :param state: The app's PerfKit state.
    :param app_name: Tells apart the files of several apps sharing one directory.
    """

    def __init__(self, state: PerfKitState, app_name: str) -> None:
        self.state = state
        self.tag = hashlib.blake2b(app_name.encode(), digest_size=4).hexdigest()
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._thread_pid: int | None = None

    def path(self, directory: str, pid: int) -> str:
        """The snapshot file of process ``pid``."""
        return os.path.join(directory, f"perfkit_{self.tag}_{pid}.json")

    def write(self, directory: str) -> None:
        """Write this process's snapshot, atomically. The file is written under a hidden name
        first, so the directory only ever lists whole snapshots, and one write at a time, so
        a snapshot taken earlier never replaces one taken later."""
        with self._write_lock:
            data = snapshot(self.state)
            target = self.path(directory, data["pid"])
            folder, name = os.path.split(target)
            temporary = os.path.join(folder, f".{name}.{threading.get_ident()}.tmp")
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


class PerfKitCollector:
    """A prometheus_client collector of PerfKit's metrics.

    :param data: The (merged) snapshot to expose.
    :param health: The status of each health check.
    :param registry: The capabilities whose metric families to expose, in registry order.
    """

    def __init__(
        self,
        data: Snapshot,
        health: Mapping[str, Status],
        registry: tuple[type[Capability], ...],
    ) -> None:
        self.data = data
        self.health = health
        self.registry = registry

    def collect(self) -> Iterator[t.Any]:
        """The metric families, for prometheus_client."""
        from ._families import families

        return families(self.data, self.health, self.registry)


def gather(state: PerfKitState, writer: SnapshotWriter) -> list[Snapshot]:
    """The snapshots to merge: in multiprocess mode every process's, this one's written
    first so it is current; otherwise this process's alone."""
    directory = multiprocess_dir()
    if not directory:
        return [snapshot(state)]
    writer.write(directory)
    return writer.read_all(directory)


def exposition(
    state: PerfKitState, writer: SnapshotWriter, health: Mapping[str, Status], accept: str
) -> tuple[bytes, str]:
    """The metrics text and its content type, for the ``Accept`` header ``accept``.

    :raises ImportError: prometheus_client is not installed.
    """
    from prometheus_client import CollectorRegistry
    from prometheus_client.exposition import choose_encoder

    registry = CollectorRegistry(auto_describe=False)
    capabilities = tuple(type(capability) for capability in state.registry.values())
    directory = multiprocess_dir()
    if directory:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    data = merge(gather(state, writer), capabilities)
    registry.register(PerfKitCollector(data, health, capabilities))
    encoder, content_type = choose_encoder(accept)
    return encoder(registry), content_type
