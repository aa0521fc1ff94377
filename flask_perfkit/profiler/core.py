"""The query statistics of one app: what the listeners feed and the views read."""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import heapq
import logging
import threading
import time
import typing as t
import weakref
from collections import deque

import sqlalchemy as sa
from flask import Flask
from flask import request

from ..config import BudgetAction
from ..config import PerfKitConfig
from ..normalize import PatternCache
from ..signals import slow_query
from ._units import iso
from ._units import ms
from .budget import query_budget
from .collector import COLLECTOR_LIMIT
from .collector import PENDING_LIMIT
from .collector import Collector
from .collector import Record
from .listeners import TAPS
from .listeners import EngineTap
from .listeners import tap_for
from .n_plus_one import NPlusOneSuspect
from .n_plus_one import SuspectTable
from .n_plus_one import announce
from .patterns import OperationTotals
from .patterns import PatternStats
from .patterns import PatternTable
from .slow import SlowBuffer
from .slow import SlowQuery
from .slow import slow_query as make_slow_query

logger = logging.getLogger("flask_perfkit")


@dataclasses.dataclass(frozen=True)
class ProfileSummary:
    """Totals of one app's statements since start or the last reset."""

    total_queries: int
    total_ms: float
    avg_ms: float
    slow_queries: int
    very_slow_queries: int
    #: Shares of all statements, in percent, to two decimals.
    slow_percentage: float
    very_slow_percentage: float
    errors: int
    #: Patterns in the statistics now.
    patterns: int
    #: Patterns evicted from the statistics.
    evictions: int
    #: The normalization cache's ``size``, ``limit``, ``hits``, ``misses``, ``evictions``
    #: and ``withheld``.
    normalization: dict[str, int]
    since: str


def _usage(entries: int, limit: int, evictions: int) -> dict[str, int]:
    return {"entries": entries, "limit": limit, "evictions": evictions}


def _share(part: int, whole: int) -> float:
    return round(100 * part / whole, 2) if whole else 0.0


class QueryProfiler:
    """The query statistics of one app.

    :param config: The app's configuration.
    :param app: The app, held weakly; the sender of signals.
    """

    def __init__(self, config: PerfKitConfig, app: Flask) -> None:
        self.config = config
        settings = config.profiler
        #: The duration from which a statement is slow, in seconds.
        self.slow_query = settings.slow_query
        #: The duration from which a statement is very slow, in seconds.
        self.very_slow_query = settings.very_slow_query
        # When the app goes, its engines stop feeding this profiler at once.
        self.app = weakref.ref(app, self._app_gone)
        #: The collector of the request or ``query_budget`` block under way, if any.
        self.current: contextvars.ContextVar[Collector | None] = contextvars.ContextVar(
            f"flask_perfkit_collector_{id(self):x}", default=None
        )
        #: Statements run outside requests, waiting to be grouped.
        self.pending: deque[Record] = deque()
        #: Normalizes statements into patterns.
        self.pattern_cache = PatternCache(settings.normalize_cache_size)
        #: Guards :attr:`table` and the N+1 suspects.
        self.lock = threading.Lock()
        #: Counts the resets; statements collected before the last one are dropped.
        self.generation = 0
        #: The most recent slow queries.
        self.slow = SlowBuffer(settings.slow_query_buffer)
        self._taps: list[EngineTap] = []
        self._start()

    def _start(self) -> None:
        settings = self.config.profiler
        #: When counting started: the app's start or the last reset, as a UNIX time.
        self.since = time.time()
        #: The statistics of every pattern, and the totals.
        self.table = PatternTable(settings.max_patterns, self.pattern_cache.get)
        #: The N+1 suspects.
        self.n_plus_one = SuspectTable(
            settings.n_plus_one_threshold, settings.max_n_plus_one_suspects
        )

    @property
    def total_calls(self) -> int:
        """Statements counted since start or the last reset."""
        return self.table.total_calls

    @property
    def total_time(self) -> float:
        """Seconds the statements counted took."""
        return self.table.total_time

    @property
    def slow_calls(self) -> int:
        """Statements at or above ``PERFKIT_SLOW_QUERY_MS``."""
        return self.table.slow_calls

    @property
    def very_slow_calls(self) -> int:
        """Statements at or above ``PERFKIT_VERY_SLOW_QUERY_MS``."""
        return self.table.very_slow_calls

    @property
    def errors(self) -> int:
        """Statements that failed."""
        return self.table.errors

    @property
    def evictions(self) -> int:
        """Patterns evicted from the statistics."""
        return self.table.evictions

    @property
    def suspect_evictions(self) -> int:
        """N+1 suspects evicted to stay within ``PERFKIT_MAX_N_PLUS_ONE_SUSPECTS``."""
        return self.n_plus_one.evictions

    @property
    def slow_evictions(self) -> int:
        """Slow queries pushed out of the ring buffer by newer ones."""
        return self.slow.evictions

    @property
    def request_pattern_evictions(self) -> int:
        """SELECT patterns of one request left out of its N+1 counts, past
        ``PERFKIT_MAX_PATTERNS`` distinct ones."""
        return self.table.request_pattern_evictions

    @property
    def request_pattern_peak(self) -> int:
        """The most distinct SELECT patterns one request counted."""
        return self.table.request_pattern_peak

    # -- listening -------------------------------------------------------------------------

    def attach(self, engine: sa.Engine) -> None:
        """Time every statement ``engine`` runs.

        An engine shared with other apps is listened to once; each statement is counted by
        one app only.
        """
        tap = tap_for(engine)
        tap.add(self)
        if tap not in self._taps:
            self._taps.append(tap)

    def detach(self, engine: sa.Engine) -> None:
        """Stop timing the statements of ``engine`` for this app."""
        tap = TAPS.get(engine)
        if tap is not None:
            tap.remove(self)
            if tap in self._taps:
                self._taps.remove(tap)

    def _app_gone(self, _: weakref.ref[Flask]) -> None:
        for tap in self._taps:
            tap.remove(self)
        self._taps.clear()

    def add(self, record: Record, collector: Collector | None) -> None:
        """Keep one statement's record, in ``collector`` or, outside requests, :attr:`pending`."""
        if collector is None:
            pending = self.pending
            pending.append(record)
            if len(pending) >= PENDING_LIMIT:
                self.flush_pending()
        else:
            collector.append(record)
            if len(collector) >= COLLECTOR_LIMIT:
                self.aggregate(collector, final=False)

    def record_slow(
        self, statement: str, dialect: str, seconds: float, collector: Collector | None
    ) -> None:
        """Keep a slow statement in the ring buffer and send the ``slow_query`` signal."""
        pattern = self.pattern_cache.get(statement, dialect)
        very_slow = seconds >= self.very_slow_query
        record = make_slow_query(pattern, seconds, very_slow, collector)
        self.slow.add(record)
        app = self.app()
        if app is not None:
            slow_query.send(app, record=record)

    # -- requests and budgets --------------------------------------------------------------

    def start_request(self) -> None:
        """Collect the statements of the current request. Registered as ``before_request``."""
        req = request._get_current_object()  # type: ignore[attr-defined]
        if req.blueprint == "perfkit":
            return
        rule = req.url_rule
        collector = Collector(
            self, req.endpoint, req.method, rule.rule if rule else None, self.generation
        )
        self.current.set(collector)

    def end_request(self, exc: BaseException | None = None) -> None:
        """Group the request's statements and look for N+1. Registered as ``teardown_request``."""
        collector = self.current.get()
        if collector is None:
            return
        self.current.set(None)
        if collector or collector.counts:
            try:
                self.aggregate(collector, final=True)
            except Exception:  # a teardown function must not raise
                logger.exception("Could not record the queries of a request.")

    def budget(self, limit: int, action: BudgetAction) -> t.ContextManager[None]:
        """Count the statements inside the block; see :meth:`.PerfKit.query_budget`."""
        return query_budget(self, limit, action)

    # -- grouping --------------------------------------------------------------------------

    def flush_pending(self) -> None:
        """Group the statements run outside requests."""
        pending = self.pending
        records = []
        with contextlib.suppress(IndexError):
            while True:
                records.append(pending.popleft())
        if records:
            block = Collector(self, None, None, None, self.generation)
            block.extend(records)
            self.aggregate(block, final=False)

    def aggregate(self, collector: Collector, *, final: bool) -> None:
        """Group the records ``collector`` holds; at the end of a request, look for N+1.

        :param final: The request or block is over.
        """
        records = collector.take()
        if collector.generation != self.generation:
            return
        now = time.time()
        with self.lock:
            if collector.generation != self.generation:
                return
            self.table.group(records, collector, now, self.slow_query, self.very_slow_query)
            endpoint = collector.endpoint
            if not final or endpoint is None:
                return
            found = self.n_plus_one.detect(endpoint, collector.counts, self.table.entries, now)
        announce(self.app(), found)

    # -- reading ---------------------------------------------------------------------------

    def patterns(self) -> list[PatternStats]:
        """A consistent copy of the statistics of every pattern."""
        self.flush_pending()
        with self.lock:
            return self.table.stats()

    def costliest(self, limit: int) -> list[PatternStats]:
        """The statistics of the ``limit`` patterns with the most total time, most first.

        Only those patterns' percentiles are computed, so it costs little with many patterns.
        """
        self.flush_pending()
        with self.lock:
            ran = (entry for entry in self.table.entries.values() if entry.calls)
            top = heapq.nlargest(limit, ran, key=lambda entry: entry.total)
            return [entry.stats() for entry in top]

    def pattern_totals(self) -> dict[str, tuple[int, float]]:
        """The calls and total seconds of every pattern, by query id: the two numbers of
        :meth:`patterns` that only grow until :meth:`reset`, without its percentiles."""
        self.flush_pending()
        with self.lock:
            return {qid: (e.calls, e.total) for qid, e in self.table.entries.items() if e.calls}

    def operation_totals(self) -> dict[str, OperationTotals]:
        """Count, time and histogram of every operation, evicted patterns included.

        The totals only grow until :meth:`reset`, as Prometheus counters must.
        """
        self.flush_pending()
        with self.lock:
            return self.table.operation_totals()

    def slow_queries(self) -> list[SlowQuery]:
        """The recent slow executions, newest first."""
        return self.slow.newest_first()

    def suspects(self) -> list[NPlusOneSuspect]:
        """The N+1 suspects, most executions first."""
        with self.lock:
            return self.n_plus_one.ranked()

    def slow_percentage(self) -> float:
        """The share of statements that were slow since start or the last reset, in percent:
        the ``slow_percentage`` of :meth:`summary` alone."""
        self.flush_pending()
        with self.lock:
            return _share(self.table.slow_calls, self.table.total_calls)

    def suspect_count(self) -> int:
        """How many N+1 suspects there are."""
        with self.lock:
            return len(self.n_plus_one.suspects)

    def summary(self) -> ProfileSummary:
        """Totals since start or the last reset."""
        self.flush_pending()
        with self.lock:
            table = self.table
            calls = table.total_calls
            return ProfileSummary(
                total_queries=calls,
                total_ms=ms(table.total_time),
                avg_ms=ms(table.total_time / calls) if calls else 0.0,
                slow_queries=table.slow_calls,
                very_slow_queries=table.very_slow_calls,
                slow_percentage=_share(table.slow_calls, calls),
                very_slow_percentage=_share(table.very_slow_calls, calls),
                errors=table.errors,
                patterns=len(table.entries),
                evictions=table.evictions,
                normalization=self.pattern_cache.stats(),
                since=iso(self.since),
            )

    def memory(self) -> dict[str, dict[str, int]]:
        """Per in-memory structure: its ``entries``, its ``limit`` and its ``evictions``."""
        self.flush_pending()
        with self.lock:
            table, suspects, slow = self.table, self.n_plus_one, self.slow
            return {
                "patterns": _usage(len(table.entries), table.limit, table.evictions),
                "n_plus_one_suspects": _usage(
                    len(suspects.suspects), suspects.limit, suspects.evictions
                ),
                "slow_queries": _usage(len(slow), slow.size, slow.evictions),
                "request_patterns": _usage(
                    table.request_pattern_peak, table.limit, table.request_pattern_evictions
                ),
            }

    def reset(self) -> None:
        """Forget every statistic. Requests under way when it is called are not counted."""
        with self.lock:
            self.generation += 1
            self.pending.clear()
            self.slow.clear()
            self.pattern_cache.clear()
            self._start()
