"""Time every SQL statement, group statements by pattern, and catch slow queries and N+1.

The listeners do as little as they can while a statement runs: ``before_cursor_execute``
stores a start time on the execution context, and ``after_cursor_execute`` appends one
``(statement, seconds, rows, failed)`` tuple to the current request's collector, or to a
process-wide buffer outside requests. The work of grouping happens later, in batches: when a
request ends (which is also when N+1 patterns are detected), when the buffer fills, or when
statistics are read. Only a statement at or above ``PERFKIT_SLOW_QUERY_MS`` does more on the
spot, to fill the slow-query ring buffer and send :data:`~flask_perfkit.signals.slow_query`.

Statements are stored only in normalized form (see :mod:`flask_perfkit.normalize`): no bound
parameter and no literal from the SQL is kept.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import datetime
import heapq
import logging
import math
import threading
import time
import typing as t
import weakref
from collections import deque
from time import perf_counter

import sqlalchemy as sa
from flask import Flask
from flask import current_app
from flask import has_app_context
from flask import request
from sqlalchemy import event

from .config import BudgetAction
from .config import PerfKitConfig
from .errors import QueryBudgetExceeded
from .normalize import Pattern
from .normalize import PatternCache
from .normalize import dialect_of
from .signals import n_plus_one
from .signals import slow_query

logger = logging.getLogger("flask_perfkit")

#: ``(statement, seconds, rows, failed, dialect)``
_Record = tuple[str, float, int, bool, str]
#: Records held in the process-wide buffer before they are grouped.
_PENDING_LIMIT = 512
#: Records a request collects before they are grouped, keeping its N+1 counts.
_COLLECTOR_LIMIT = 4096
#: Endpoints remembered per pattern.
_MAX_ENDPOINTS = 20
#: Histogram buckets per doubling of duration: about 19 % wide, so percentiles are within 9 %.
_STEPS = 4


#: The operation labels of the duration histogram by operation.
OPERATIONS = ("select", "insert", "update", "delete", "other")


def operation_label(pattern: Pattern) -> str:
    """The bounded operation label of a pattern: one of :data:`OPERATIONS`."""
    if pattern.is_select:
        return "select"
    operation = pattern.operation.lower()
    return operation if operation in OPERATIONS else "other"


@dataclasses.dataclass
class OperationTotals:
    """Statements of one operation since start or the last reset, evicted patterns included.

    ``buckets`` maps a histogram bucket to its count; bucket ``b`` holds durations below
    ``2 ** (b / 4)`` microseconds, and every bucket ``4 * k`` ends exactly at ``2 ** k`` us.
    """

    count: int = 0
    seconds: float = 0.0
    buckets: dict[int, int] = dataclasses.field(default_factory=dict)

    def add(self, calls: int, seconds: float, buckets: t.Mapping[int, int]) -> None:
        self.count += calls
        self.seconds += seconds
        mine = self.buckets
        for bucket, count in buckets.items():
            mine[bucket] = mine.get(bucket, 0) + count


def _bucket_seconds(bucket: int) -> float:
    return 0.0 if bucket == 0 else 2 ** ((bucket - 0.5) / _STEPS) / 1e6


def _iso(timestamp: float) -> str:
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).isoformat(
        timespec="milliseconds"
    )


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


class _Collector(list[_Record]):
    """The statements of one request or ``query_budget`` block, for one profiler."""

    __slots__ = ("counts", "endpoint", "flushed", "generation", "method", "path", "profiler")

    def __init__(
        self,
        profiler: QueryProfiler,
        endpoint: str | None,
        method: str | None,
        path: str | None,
        gen: int,
    ):
        super().__init__()
        self.profiler = profiler
        self.endpoint = endpoint
        self.method = method
        self.path = path
        self.generation = gen
        #: Per SELECT pattern: executions and seconds, kept across partial flushes.
        self.counts: dict[str, list[float]] = {}
        #: Records already grouped by partial flushes.
        self.flushed = 0


_current: contextvars.ContextVar[_Collector | None] = contextvars.ContextVar(
    "flask_perfkit_collector", default=None
)


class _EngineTap:
    """The one set of timing listeners of an engine, and the profilers it feeds.

    An engine shared by several apps is listened to once, and each statement goes to one
    profiler: the one of the request collecting it, else the one of the current app, else the
    first that attached. Profilers are held weakly, so a dropped app leaves nothing behind.
    """

    __slots__ = ("__weakref__", "only", "profilers")

    def __init__(self) -> None:
        self.profilers: list[weakref.ref[QueryProfiler]] = []
        #: The profiler when exactly one is attached: the fast path of every statement.
        self.only: QueryProfiler | None = None

    def add(self, profiler: QueryProfiler) -> None:
        with _TAPS_LOCK:
            self._set([*(p for p in self.live() if p is not profiler), profiler])

    def remove(self, profiler: QueryProfiler) -> None:
        with _TAPS_LOCK:
            self._set([p for p in self.live() if p is not profiler])

    def live(self) -> list[QueryProfiler]:
        """The profilers whose apps still exist."""
        found = (ref() for ref in self.profilers)
        return [p for p in found if p is not None and p._app() is not None]

    def _set(self, profilers: list[QueryProfiler]) -> None:
        self.profilers = [weakref.ref(p) for p in profilers]
        self.only = profilers[0] if len(profilers) == 1 else None

    def route(self, collector: _Collector | None) -> tuple[QueryProfiler | None, _Collector | None]:
        """The profiler, and its collector if any, that records a statement."""
        live = self.live()
        if len(live) != len(self.profilers):
            with _TAPS_LOCK:
                live = self.live()
                self._set(live)
        if collector is not None and any(p is collector.profiler for p in live):
            return collector.profiler, collector
        if len(live) > 1 and has_app_context():
            app = current_app._get_current_object()  # type: ignore[attr-defined]
            for profiler in live:
                if profiler._app() is app:
                    return profiler, None
        return (live[0] if live else None), None


_TAPS: weakref.WeakKeyDictionary[sa.Engine, _EngineTap] = weakref.WeakKeyDictionary()
_TAPS_LOCK = threading.RLock()


def _tap(engine: sa.Engine) -> _EngineTap:
    """The tap of ``engine``, listening from its first use."""
    with _TAPS_LOCK:
        tap = _TAPS.get(engine)
        if tap is None:
            tap = _TAPS[engine] = _EngineTap()
            _listen(engine, tap)
    return tap


def _listen(engine: sa.Engine, tap: _EngineTap) -> None:
    current = _current.get
    dialect = dialect_of(engine.dialect.name)

    def before(conn: t.Any, cursor: t.Any, statement: str, *args: t.Any) -> None:
        args[1]._perfkit_start = perf_counter()

    def after(
        conn: t.Any, cursor: t.Any, statement: str, params: t.Any, context: t.Any, many: t.Any
    ) -> None:
        try:
            duration = perf_counter() - context._perfkit_start
        except AttributeError:
            return
        # QueryProfiler.add, inlined: this runs for every statement.
        collector = current()
        profiler = tap.only
        if profiler is None or (collector is not None and collector.profiler is not profiler):
            profiler, collector = tap.route(collector)
            if profiler is None:
                return
        if collector is None:
            pending = profiler._pending
            pending.append((statement, duration, cursor.rowcount, False, dialect))
            if len(pending) >= _PENDING_LIMIT:
                profiler.flush_pending()
        else:
            collector.append((statement, duration, cursor.rowcount, False, dialect))
            if len(collector) >= _COLLECTOR_LIMIT:
                profiler._aggregate(collector, final=False)
        if duration >= profiler.config.profiler.slow_query:
            profiler._record_slow(statement, dialect, duration, collector)

    def failed(exception_context: sa.engine.ExceptionContext) -> None:
        context = exception_context.execution_context
        if context is None or exception_context.is_pre_ping:
            return
        start = getattr(context, "_perfkit_start", None)
        statement = exception_context.statement
        if start is None or statement is None:
            return
        profiler, collector = tap.route(current())
        if profiler is not None:
            profiler.add((statement, perf_counter() - start, 0, True, dialect), collector)

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    event.listen(engine, "handle_error", failed)


class _Stats:
    __slots__ = (
        "buckets",
        "calls",
        "endpoints",
        "errors",
        "first_seen",
        "last_seen",
        "max",
        "min",
        "pattern",
        "rows",
        "slow",
        "total",
        "very_slow",
    )

    def __init__(self, pattern: Pattern, now: float) -> None:
        self.pattern = pattern
        self.calls = 0
        self.total = 0.0
        self.min = math.inf
        self.max = 0.0
        self.slow = 0
        self.very_slow = 0
        self.rows = 0
        self.errors = 0
        self.first_seen = now
        self.last_seen = now
        self.buckets: dict[int, int] = {}
        self.endpoints: dict[str, int] = {}

    def percentile(self, fraction: float) -> float:
        wanted = fraction * self.calls
        seen = 0
        for bucket in sorted(self.buckets):
            seen += self.buckets[bucket]
            if seen >= wanted:
                return min(max(_bucket_seconds(bucket), self.min), self.max)
        return self.max


@dataclasses.dataclass(frozen=True)
class PatternStats:
    """Statistics of one statement pattern, in milliseconds."""

    query_id: str
    #: The normalized statement.
    query: str
    #: Its first keyword, such as ``"SELECT"``.
    operation: str
    calls: int
    total_ms: float
    min_ms: float
    max_ms: float
    mean_ms: float
    #: Percentiles, from log-spaced histogram buckets: within about 9 % of the exact value.
    p50_ms: float
    p95_ms: float
    p99_ms: float
    slow_calls: int
    very_slow_calls: int
    #: Rows returned or affected, where the driver reports them.
    rows: int
    errors: int
    first_seen: str
    last_seen: str
    #: Calls per endpoint, for the most frequent endpoints.
    endpoints: dict[str, int]


@dataclasses.dataclass(frozen=True)
class SlowQuery:
    """One execution at or above ``PERFKIT_SLOW_QUERY_MS``."""

    time: str
    duration_ms: float
    query: str
    query_id: str
    very_slow: bool
    endpoint: str | None
    method: str | None
    #: The URL rule (``/posts/<int:id>``), never the raw path.
    path: str | None


@dataclasses.dataclass(frozen=True)
class NPlusOneSuspect:
    """A SELECT pattern one request ran at least ``PERFKIT_N_PLUS_ONE_THRESHOLD`` times."""

    endpoint: str
    query: str
    query_id: str
    #: The most executions seen in one request.
    count: int
    #: Their total time in that request.
    total_ms: float
    #: How many requests ran it that often.
    requests: int
    first_seen: str
    last_seen: str
    hint: str


def _usage(entries: int, limit: int, evictions: int) -> dict[str, int]:
    return {"entries": entries, "limit": limit, "evictions": evictions}


def _hint(pattern: Pattern) -> str:
    where = pattern.text.upper().rpartition(" WHERE ")[2]
    if ".ID = ?" in where or where.startswith("ID = ?"):
        return (
            "Each row loads a related object by primary key: add joinedload() or selectinload()"
            " for that relationship to the query."
        )
    return (
        "Each row loads a related collection: add selectinload() for that relationship to the"
        " query."
    )


class QueryProfiler:
    """The query statistics of one app.

    :param config: The app's configuration.
    :param app: The app, held weakly; the sender of signals.
    """

    def __init__(self, config: PerfKitConfig, app: Flask) -> None:
        self.config = config
        # When the app goes, its engines stop feeding this profiler at once.
        self._app = weakref.ref(app, self._app_gone)
        self._taps: list[_EngineTap] = []
        self._lock = threading.Lock()
        self._patterns = PatternCache(config.profiler.normalize_cache_size)
        self._stats: dict[str, _Stats] = {}
        self._pending: deque[_Record] = deque()
        self._slow: deque[SlowQuery] = deque(maxlen=config.profiler.slow_query_buffer)
        self._suspects: dict[tuple[str, str], NPlusOneSuspect] = {}
        self._generation = 0
        self._reset_counters()

    def _reset_counters(self) -> None:
        self.since = time.time()
        #: Patterns evicted from the statistics.
        self.evictions = 0
        #: N+1 suspects evicted to stay within ``PERFKIT_MAX_N_PLUS_ONE_SUSPECTS``.
        self.suspect_evictions = 0
        #: Slow queries pushed out of the ring buffer by newer ones.
        self.slow_evictions = 0
        #: SELECT patterns of one request left out of its N+1 counts, past
        #: ``PERFKIT_MAX_PATTERNS`` distinct ones.
        self.request_pattern_evictions = 0
        #: The most distinct SELECT patterns one request counted.
        self.request_pattern_peak = 0
        self._retired: dict[str, OperationTotals] = {}
        self.total_calls = 0
        self.total_time = 0.0
        self.slow_calls = 0
        self.very_slow_calls = 0
        self.errors = 0

    # -- listening -------------------------------------------------------------------------

    def attach(self, engine: sa.Engine) -> None:
        """Time every statement ``engine`` runs.

        An engine shared with other apps is listened to once; each statement is counted by
        one app only.
        """
        tap = _tap(engine)
        tap.add(self)
        if tap not in self._taps:
            self._taps.append(tap)

    def detach(self, engine: sa.Engine) -> None:
        """Stop timing the statements of ``engine`` for this app."""
        tap = _TAPS.get(engine)
        if tap is not None:
            tap.remove(self)
            if tap in self._taps:
                self._taps.remove(tap)

    def _app_gone(self, _: weakref.ref[Flask]) -> None:
        for tap in self._taps:
            tap.remove(self)
        self._taps.clear()

    def add(self, record: _Record, collector: _Collector | None) -> None:
        """Keep one statement's record, in ``collector`` or the process-wide buffer."""
        if collector is None:
            pending = self._pending
            pending.append(record)
            if len(pending) >= _PENDING_LIMIT:
                self.flush_pending()
        else:
            collector.append(record)
            if len(collector) >= _COLLECTOR_LIMIT:
                self._aggregate(collector, final=False)

    # -- requests and budgets --------------------------------------------------------------

    def start_request(self) -> None:
        """Collect the statements of the current request. Registered as ``before_request``."""
        req = request._get_current_object()  # type: ignore[attr-defined]
        if req.blueprint == "perfkit":
            return
        rule = req.url_rule
        collector = _Collector(
            self, req.endpoint, req.method, rule.rule if rule else None, self._generation
        )
        _current.set(collector)

    def end_request(self, exc: BaseException | None = None) -> None:
        """Group the request's statements and look for N+1. Registered as ``teardown_request``."""
        collector = _current.get()
        if collector is None:
            return
        _current.set(None)
        if collector or collector.counts:
            try:
                self._aggregate(collector, final=True)
            except Exception:  # a teardown function must not raise
                logger.exception("Could not record the queries of a request.")

    @contextlib.contextmanager
    def budget(self, limit: int, action: BudgetAction) -> t.Iterator[None]:
        """Count the statements inside the block; see :meth:`.PerfKit.query_budget`."""
        parent = _current.get()
        if parent is not None:
            block = _Collector(self, parent.endpoint, parent.method, parent.path, parent.generation)
        else:
            block = _Collector(self, "query_budget", None, None, self._generation)
        _current.set(block)
        try:
            yield
        finally:
            _current.set(parent)
            count = block.flushed + len(block)
            patterns: dict[str, int] = {}
            for statement, *_, dialect in block:
                pattern = self._patterns.get(statement, dialect)
                patterns[pattern.text] = patterns.get(pattern.text, 0) + 1
            if parent is not None:
                parent.extend(block)
                # Counts of the block's partial flushes belong to the request too.
                for query_id, (calls, seconds) in block.counts.items():
                    seen = parent.counts.setdefault(query_id, [0, 0.0])
                    seen[0] += calls
                    seen[1] += seconds
            else:
                self._aggregate(block, final=True)
        if count > limit:
            top = sorted(patterns.items(), key=lambda item: -item[1])[:3]
            if action is BudgetAction.RAISE:
                raise QueryBudgetExceeded(limit, count, [text for text, _ in top])
            logger.warning(
                "A query budget of %d was exceeded: %d statements ran. Most frequent: %s",
                limit,
                count,
                "; ".join(f"{n} x {text}" for text, n in top),
            )

    # -- grouping --------------------------------------------------------------------------

    def flush_pending(self) -> None:
        """Group the statements run outside requests."""
        pending = self._pending
        records = []
        with contextlib.suppress(IndexError):
            while True:
                records.append(pending.popleft())
        if records:
            block = _Collector(self, None, None, None, self._generation)
            block.extend(records)
            self._aggregate(block, final=False)

    def _aggregate(self, collector: _Collector, *, final: bool) -> None:
        records = list(collector)
        collector.clear()
        collector.flushed += len(records)
        if collector.generation != self._generation:
            return
        slow, very_slow = self.config.profiler.slow_query, self.config.profiler.very_slow_query
        endpoint = collector.endpoint
        counts = collector.counts
        now = time.time()
        log2 = math.log2
        patterns = self._patterns.get
        with self._lock:
            if collector.generation != self._generation:
                return
            stats = self._stats
            last_statement: str | None = None
            last_dialect: str | None = None
            entry: _Stats | None = None
            pattern: Pattern | None = None
            calls = 0
            total = 0.0
            for statement, duration, rows, failed, dialect in records:
                if statement is not last_statement or dialect is not last_dialect or not entry:
                    pattern = patterns(statement, dialect)
                    entry = stats.get(pattern.query_id)
                    if entry is None:
                        if len(stats) >= self.config.profiler.max_patterns:
                            self._evict()
                        entry = stats[pattern.query_id] = _Stats(pattern, now)
                    entry.last_seen = now
                    last_statement, last_dialect = statement, dialect
                assert pattern is not None
                entry.calls += 1
                entry.total += duration
                if duration < entry.min:
                    entry.min = duration
                if duration > entry.max:
                    entry.max = duration
                bucket = int(log2(duration * 1e6) * _STEPS) + 1 if duration >= 1e-6 else 0
                buckets = entry.buckets
                buckets[bucket] = buckets.get(bucket, 0) + 1
                if rows > 0:
                    entry.rows += rows
                if failed:
                    entry.errors += 1
                    self.errors += 1
                if duration >= slow:
                    entry.slow += 1
                    self.slow_calls += 1
                    if duration >= very_slow:
                        entry.very_slow += 1
                        self.very_slow_calls += 1
                if endpoint is not None:
                    seen_at = entry.endpoints
                    if endpoint in seen_at or len(seen_at) < _MAX_ENDPOINTS:
                        seen_at[endpoint] = seen_at.get(endpoint, 0) + 1
                    if pattern.is_select:
                        seen = counts.get(pattern.query_id)
                        if seen is None:
                            if len(counts) >= self.config.profiler.max_patterns:
                                self.request_pattern_evictions += 1
                                seen = [0, 0.0]
                            else:
                                seen = counts[pattern.query_id] = [0, 0.0]
                        seen[0] += 1
                        seen[1] += duration
                calls += 1
                total += duration
            self.total_calls += calls
            self.total_time += total
            if len(counts) > self.request_pattern_peak:
                self.request_pattern_peak = len(counts)
        if final and endpoint is not None:
            self._detect_n_plus_one(collector, now)

    def _evict(self) -> None:
        # Drop the least executed 5 %, as pg_stat_statements does.
        victims = heapq.nsmallest(
            max(1, len(self._stats) // 20), self._stats.values(), key=lambda s: s.calls
        )
        for victim in victims:
            del self._stats[victim.pattern.query_id]
            retired = self._retired.setdefault(operation_label(victim.pattern), OperationTotals())
            retired.add(victim.calls, victim.total, victim.buckets)
        self.evictions += len(victims)

    def _evict_suspects(self) -> None:
        # Drop the 5 % seen in the fewest requests, the least recently seen among equals.
        suspects = self._suspects
        victims = heapq.nsmallest(
            max(1, len(suspects) // 20),
            suspects.items(),
            key=lambda item: (item[1].requests, item[1].last_seen),
        )
        for key, _ in victims:
            del suspects[key]
        self.suspect_evictions += len(victims)

    def _detect_n_plus_one(self, collector: _Collector, now: float) -> None:
        threshold = self.config.profiler.n_plus_one_threshold
        endpoint = t.cast(str, collector.endpoint)
        found = []
        with self._lock:
            for query_id, (count, seconds) in collector.counts.items():
                if count < threshold or query_id not in self._stats:
                    continue
                key = (endpoint, query_id)
                old = self._suspects.get(key)
                if (
                    old is None
                    and len(self._suspects) >= self.config.profiler.max_n_plus_one_suspects
                ):
                    self._evict_suspects()
                pattern = self._stats[query_id].pattern
                suspect = NPlusOneSuspect(
                    endpoint=endpoint,
                    query=pattern.text,
                    query_id=query_id,
                    count=max(int(count), old.count if old else 0),
                    total_ms=_ms(seconds),
                    requests=(old.requests if old else 0) + 1,
                    first_seen=old.first_seen if old else _iso(now),
                    last_seen=_iso(now),
                    hint=_hint(pattern),
                )
                self._suspects[key] = suspect
                found.append((suspect, old is None))
        app = self._app()
        for suspect, first in found:
            if first:
                logger.warning(
                    "Possible N+1 in %r: %d executions of %s. %s",
                    suspect.endpoint,
                    suspect.count,
                    suspect.query,
                    suspect.hint,
                )
            if app is not None:
                n_plus_one.send(app, suspect=suspect)

    def _record_slow(
        self, statement: str, dialect: str, duration: float, collector: _Collector | None
    ) -> None:
        pattern = self._patterns.get(statement, dialect)
        record = SlowQuery(
            time=_iso(time.time()),
            duration_ms=_ms(duration),
            query=pattern.text,
            query_id=pattern.query_id,
            very_slow=duration >= self.config.profiler.very_slow_query,
            endpoint=collector.endpoint if collector else None,
            method=collector.method if collector else None,
            path=collector.path if collector else None,
        )
        with self._lock:
            if len(self._slow) == self._slow.maxlen:
                self.slow_evictions += 1
            self._slow.append(record)
        app = self._app()
        if app is not None:
            slow_query.send(app, record=record)

    # -- reading ---------------------------------------------------------------------------

    def patterns(self) -> list[PatternStats]:
        """A consistent copy of the statistics of every pattern."""
        self.flush_pending()
        with self._lock:
            entries = list(self._stats.values())
            return [
                PatternStats(
                    query_id=s.pattern.query_id,
                    query=s.pattern.text,
                    operation=s.pattern.operation,
                    calls=s.calls,
                    total_ms=_ms(s.total),
                    min_ms=_ms(s.min),
                    max_ms=_ms(s.max),
                    mean_ms=_ms(s.total / s.calls),
                    p50_ms=_ms(s.percentile(0.5)),
                    p95_ms=_ms(s.percentile(0.95)),
                    p99_ms=_ms(s.percentile(0.99)),
                    slow_calls=s.slow,
                    very_slow_calls=s.very_slow,
                    rows=s.rows,
                    errors=s.errors,
                    first_seen=_iso(s.first_seen),
                    last_seen=_iso(s.last_seen),
                    endpoints=dict(s.endpoints),
                )
                for s in entries
                if s.calls
            ]

    def operation_totals(self) -> dict[str, OperationTotals]:
        """Count, time and histogram of every operation, evicted patterns included.

        The totals only grow until :meth:`reset`, as Prometheus counters must.
        """
        self.flush_pending()
        with self._lock:
            totals = {op: OperationTotals() for op in OPERATIONS}
            for op, retired in self._retired.items():
                totals[op].add(retired.count, retired.seconds, retired.buckets)
            for entry in self._stats.values():
                totals[operation_label(entry.pattern)].add(entry.calls, entry.total, entry.buckets)
        return totals

    def slow_queries(self) -> list[SlowQuery]:
        """The recent slow executions, newest first."""
        return list(reversed(self._slow.copy()))

    def suspects(self) -> list[NPlusOneSuspect]:
        """The N+1 suspects, most executions first."""
        with self._lock:
            found = list(self._suspects.values())
        return sorted(found, key=lambda s: (-s.count, s.endpoint))

    def summary(self) -> dict[str, t.Any]:
        """Totals since start or the last reset."""
        self.flush_pending()
        with self._lock:
            calls = self.total_calls
            return {
                "total_queries": calls,
                "total_ms": _ms(self.total_time),
                "avg_ms": _ms(self.total_time / calls) if calls else 0.0,
                "slow_queries": self.slow_calls,
                "very_slow_queries": self.very_slow_calls,
                "slow_percentage": round(100 * self.slow_calls / calls, 2) if calls else 0.0,
                "very_slow_percentage": (
                    round(100 * self.very_slow_calls / calls, 2) if calls else 0.0
                ),
                "errors": self.errors,
                "patterns": len(self._stats),
                "evictions": self.evictions,
                "normalization": self._patterns.stats(),
                "since": _iso(self.since),
            }

    def memory(self) -> dict[str, dict[str, int]]:
        """Per in-memory structure: its ``entries``, its ``limit`` and its ``evictions``."""
        self.flush_pending()
        config = self.config
        with self._lock:
            return {
                "patterns": _usage(len(self._stats), config.profiler.max_patterns, self.evictions),
                "n_plus_one_suspects": _usage(
                    len(self._suspects),
                    config.profiler.max_n_plus_one_suspects,
                    self.suspect_evictions,
                ),
                "slow_queries": _usage(
                    len(self._slow), config.profiler.slow_query_buffer, self.slow_evictions
                ),
                "request_patterns": _usage(
                    self.request_pattern_peak,
                    config.profiler.max_patterns,
                    self.request_pattern_evictions,
                ),
            }

    def reset(self) -> None:
        """Forget every statistic. Requests under way when it is called are not counted."""
        with self._lock:
            self._generation += 1
            self._stats.clear()
            self._pending.clear()
            self._slow.clear()
            self._suspects.clear()
            self._patterns.clear()
            self._reset_counters()
