"""Statement patterns and their statistics: what the profiler groups statements into."""

from __future__ import annotations

import dataclasses
import heapq
import math
import typing as t

from .._histogram import LogHistogram
from ..normalize import Pattern
from ._units import iso
from ._units import ms

if t.TYPE_CHECKING:
    from .collector import Collector
    from .collector import Record

#: Endpoints remembered per pattern.
MAX_ENDPOINTS = 20

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

    ``buckets`` maps a bucket of :class:`~flask_perfkit._histogram.LogHistogram` to its
    count; bucket ``b`` holds durations below ``2 ** (b / LogHistogram.STEPS)``
    microseconds, and every bucket ``LogHistogram.STEPS * k`` ends exactly at ``2 ** k`` us.
    """

    count: int = 0
    seconds: float = 0.0
    buckets: dict[int, int] = dataclasses.field(default_factory=dict)

    def add(self, calls: int, seconds: float, buckets: t.Mapping[int, int]) -> None:
        """Add ``calls`` statements taking ``seconds``, with their histogram ``buckets``."""
        self.count += calls
        self.seconds += seconds
        mine = self.buckets
        for bucket, count in buckets.items():
            mine[bucket] = mine.get(bucket, 0) + count


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


class PatternEntry:
    """The running statistics of one pattern, in seconds.

    :param pattern: The normalized statement.
    :param now: When it was first seen, as a UNIX time.
    """

    __slots__ = (
        "calls",
        "endpoints",
        "errors",
        "first_seen",
        "histogram",
        "last_seen",
        "max",
        "min",
        "operation",
        "pattern",
        "rows",
        "slow",
        "total",
        "very_slow",
    )

    def __init__(self, pattern: Pattern, now: float) -> None:
        self.pattern = pattern
        #: Its bounded operation label, one of :data:`OPERATIONS`.
        self.operation = operation_label(pattern)
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
        self.histogram = LogHistogram()
        #: Calls per endpoint, for the first :data:`MAX_ENDPOINTS` endpoints.
        self.endpoints: dict[str, int] = {}

    def stats(self) -> PatternStats:
        """A copy of the statistics, in milliseconds."""
        pattern = self.pattern
        low, high = self.min, self.max
        return PatternStats(
            query_id=pattern.query_id,
            query=pattern.text,
            operation=pattern.operation,
            calls=self.calls,
            total_ms=ms(self.total),
            min_ms=ms(low),
            max_ms=ms(high),
            mean_ms=ms(self.total / self.calls),
            p50_ms=ms(self.histogram.percentile(0.5, low, high)),
            p95_ms=ms(self.histogram.percentile(0.95, low, high)),
            p99_ms=ms(self.histogram.percentile(0.99, low, high)),
            slow_calls=self.slow,
            very_slow_calls=self.very_slow,
            rows=self.rows,
            errors=self.errors,
            first_seen=iso(self.first_seen),
            last_seen=iso(self.last_seen),
            endpoints=dict(self.endpoints),
        )


class PatternTable:
    """The statistics of every pattern of one profiler, and its totals since the last reset.

    Not thread safe: the profiler calls it under its lock.

    :param limit: The most patterns kept; past it the least executed 5 % are evicted.
    :param pattern_of: Normalizes a statement of a dialect.
    """

    def __init__(self, limit: int, pattern_of: t.Callable[[str, str], Pattern]) -> None:
        self.limit = limit
        self.pattern_of = pattern_of
        self.entries: dict[str, PatternEntry] = {}
        #: Totals of the evicted patterns, by operation.
        self.retired: dict[str, OperationTotals] = {}
        #: Patterns evicted from the statistics.
        self.evictions = 0
        #: SELECT patterns of one request left out of its N+1 counts, past ``limit``
        #: distinct ones.
        self.request_pattern_evictions = 0
        #: The most distinct SELECT patterns one request counted.
        self.request_pattern_peak = 0
        self.total_calls = 0
        self.total_time = 0.0
        self.slow_calls = 0
        self.very_slow_calls = 0
        self.errors = 0

    def entry(self, statement: str, dialect: str, now: float) -> PatternEntry:
        """The entry of the pattern of ``statement``, made if new, marked as seen ``now``."""
        pattern = self.pattern_of(statement, dialect)
        entry = self.entries.get(pattern.query_id)
        if entry is None:
            if len(self.entries) >= self.limit:
                self.evict()
            entry = self.entries[pattern.query_id] = PatternEntry(pattern, now)
        entry.last_seen = now
        return entry

    def group(
        self, records: list[Record], collector: Collector, now: float, slow: float, very_slow: float
    ) -> None:
        """Count ``records`` of ``collector``; SELECTs of a request also in its N+1 counts.

        :param slow: The duration from which a statement is slow, in seconds.
        :param very_slow: The duration from which a statement is very slow, in seconds.
        """
        endpoint = collector.endpoint
        counts = collector.counts
        last_statement: str | None = None
        last_dialect: str | None = None
        entry: PatternEntry | None = None
        pattern: Pattern | None = None
        buckets: dict[int, int] = {}
        log2, steps = math.log2, LogHistogram.STEPS
        total = 0.0
        for statement, duration, rows, failed, dialect in records:
            if statement is not last_statement or dialect is not last_dialect or entry is None:
                entry = self.entry(statement, dialect, now)
                pattern = entry.pattern
                buckets = entry.histogram.counts
                last_statement, last_dialect = statement, dialect
            entry.calls += 1
            entry.total += duration
            total += duration
            if duration < entry.min:
                entry.min = duration
            if duration > entry.max:
                entry.max = duration
            # LogHistogram.add, inlined: this runs for every statement.
            bucket = int(log2(duration * 1e6) * steps) + 1 if duration >= 1e-6 else 0
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
            if endpoint is None:
                continue
            # Inlined rather than methods of PatternEntry: this runs for every statement.
            seen_at = entry.endpoints
            if endpoint in seen_at or len(seen_at) < MAX_ENDPOINTS:
                seen_at[endpoint] = seen_at.get(endpoint, 0) + 1
            assert pattern is not None
            if pattern.is_select:
                seen = counts.get(pattern.query_id)
                if seen is None:
                    if len(counts) >= self.limit:
                        self.request_pattern_evictions += 1
                        continue
                    seen = counts[pattern.query_id] = [0, 0.0]
                seen[0] += 1
                seen[1] += duration
        self.total_calls += len(records)
        self.total_time += total
        if len(counts) > self.request_pattern_peak:
            self.request_pattern_peak = len(counts)

    def evict(self) -> None:
        """Drop the least executed 5 %, as pg_stat_statements does, keeping their totals."""
        victims = heapq.nsmallest(
            max(1, len(self.entries) // 20), self.entries.values(), key=lambda s: s.calls
        )
        for victim in victims:
            del self.entries[victim.pattern.query_id]
            retired = self.retired.setdefault(victim.operation, OperationTotals())
            retired.add(victim.calls, victim.total, victim.histogram.counts)
        self.evictions += len(victims)

    def stats(self) -> list[PatternStats]:
        """A copy of the statistics of every pattern that has run."""
        return [entry.stats() for entry in self.entries.values() if entry.calls]

    def operation_totals(self) -> dict[str, OperationTotals]:
        """Count, time and histogram of every operation, evicted patterns included."""
        totals = {op: OperationTotals() for op in OPERATIONS}
        for op, retired in self.retired.items():
            totals[op].add(retired.count, retired.seconds, retired.buckets)
        for entry in self.entries.values():
            totals[entry.operation].add(entry.calls, entry.total, entry.histogram.counts)
        return totals
