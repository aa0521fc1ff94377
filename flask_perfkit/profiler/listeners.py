"""The timing listeners of an engine, and how a statement finds the profiler counting it.

Each engine is listened to once, by one :class:`EngineTap`, whatever the number of apps that
profile it. ``before_cursor_execute`` stores a start time on the execution context;
``after_cursor_execute`` appends one record to the current request's collector, or to the
profiler's buffer outside requests. Only a slow statement does more on the spot.
"""

from __future__ import annotations

import threading
import typing as t
import weakref

import sqlalchemy as sa
from flask import Flask
from flask import current_app
from flask import has_app_context
from sqlalchemy import event

from .._compat import mark_statement_start
from .._compat import statement_duration
from ..normalize import dialect_of
from .collector import COLLECTOR_LIMIT
from .collector import PENDING_LIMIT
from .collector import Collector

if t.TYPE_CHECKING:
    from .core import QueryProfiler


class EngineTap:
    """The one set of timing listeners of an engine, and the profilers it feeds.

    An engine shared by several apps is listened to once, and each statement goes to one
    profiler: the one of a request collecting it, else the one of the current app, else the
    first that attached. Profilers are held weakly, so a dropped app leaves nothing behind.

    :param dialect: The name of the engine's dialect.
    """

    __slots__ = ("__weakref__", "dialect", "only", "profilers")

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect_of(dialect)
        self.profilers: list[weakref.ref[QueryProfiler]] = []
        #: When exactly one profiler is attached, it and the getter of its collector under
        #: way: the fast path of every statement. One tuple, so that both change at once.
        self.only: tuple[QueryProfiler, t.Callable[[], Collector | None]] | None = None

    def add(self, profiler: QueryProfiler) -> None:
        """Feed ``profiler`` too."""
        with TAPS_LOCK:
            self._set([*(p for p in self.live() if p is not profiler), profiler])

    def remove(self, profiler: QueryProfiler) -> None:
        """Stop feeding ``profiler``."""
        with TAPS_LOCK:
            self._set([p for p in self.live() if p is not profiler])

    def live(self) -> list[QueryProfiler]:
        """The profilers whose apps still exist."""
        found = (ref() for ref in self.profilers)
        return [p for p in found if p is not None and p.app() is not None]

    def _set(self, profilers: list[QueryProfiler]) -> None:
        self.profilers = [weakref.ref(p) for p in profilers]
        only = profilers[0] if len(profilers) == 1 else None
        self.only = None if only is None else (only, only.current.get)

    def route(self) -> tuple[QueryProfiler | None, Collector | None]:
        """The profiler, and its collector if any, that records a statement.

        A profiler collecting a request or block wins, the current app's first; then the
        current app's profiler; then the first attached.
        """
        live = self.live()
        if len(live) != len(self.profilers):
            with TAPS_LOCK:
                live = self.live()
                self._set(live)
        app = _current_app()
        collecting = [(p, c) for p in live if (c := p.current.get()) is not None]
        for profiler, collector in collecting:
            if profiler.app() is app:
                return profiler, collector
        if collecting:
            return collecting[0]
        for profiler in live:
            if profiler.app() is app:
                return profiler, None
        return (live[0] if live else None), None

    def after_cursor_execute(
        self,
        conn: sa.Connection,
        cursor: t.Any,
        statement: str,
        parameters: t.Any,
        context: t.Any,
        executemany: bool,
    ) -> None:
        """Keep the statement's record; the ``after_cursor_execute`` listener."""
        duration = statement_duration(context)
        if duration is None:
            return
        only = self.only
        if only is None:
            found, collector = self.route()
            if found is None:
                return
            profiler = found
        else:
            profiler, current = only
            collector = current()
        if collector is None:
            pending = profiler.pending
            pending.append((statement, duration, cursor.rowcount, False, self.dialect))
            if len(pending) >= PENDING_LIMIT:
                profiler.flush_pending()
        else:
            collector.append((statement, duration, cursor.rowcount, False, self.dialect))
            if len(collector) >= COLLECTOR_LIMIT:
                profiler.aggregate(collector, final=False)
        if duration >= profiler.slow_query:
            profiler.record_slow(statement, self.dialect, duration, collector)

    def handle_error(self, exception_context: sa.engine.ExceptionContext) -> None:
        """Count a failed statement, pre-pings aside; the ``handle_error`` listener."""
        context = exception_context.execution_context
        if context is None or exception_context.is_pre_ping:
            return
        duration = statement_duration(context)
        statement = exception_context.statement
        if duration is None or statement is None:
            return
        profiler, collector = self.route()
        if profiler is not None:
            profiler.add((statement, duration, 0, True, self.dialect), collector)


def _current_app() -> Flask | None:
    if not has_app_context():
        return None
    return t.cast(Flask, current_app._get_current_object())  # type: ignore[attr-defined]


TAPS: weakref.WeakKeyDictionary[sa.Engine, EngineTap] = weakref.WeakKeyDictionary()
TAPS_LOCK = threading.RLock()


def tap_for(engine: sa.Engine) -> EngineTap:
    """The tap of ``engine``, listening from its first use."""
    with TAPS_LOCK:
        tap = TAPS.get(engine)
        if tap is None:
            tap = TAPS[engine] = EngineTap(engine.dialect.name)
            event.listen(engine, "before_cursor_execute", mark_statement_start)
            event.listen(engine, "after_cursor_execute", tap.after_cursor_execute)
            event.listen(engine, "handle_error", tap.handle_error)
    return tap
