"""Time every SQL statement, group statements by pattern, and catch slow queries and N+1.

The listeners do as little as they can while a statement runs: ``before_cursor_execute``
stores a start time on the execution context, and ``after_cursor_execute`` appends one
``(statement, seconds, rows, failed, dialect)`` tuple to the current request's collector, or
to the profiler's buffer outside requests. The work of grouping happens later, in batches:
when a request ends (which is also when N+1 patterns are detected), when the buffer fills,
or when statistics are read. Only a statement at or above ``PERFKIT_SLOW_QUERY_MS`` does more
on the spot, to fill the slow-query ring buffer and send
:data:`~flask_perfkit.signals.slow_query`.

Statements are stored only in normalized form (see :mod:`flask_perfkit.normalize`): no bound
parameter and no literal from the SQL is kept.

The modules of this package, one per concern: :mod:`.listeners` (the engine listeners and
routing), :mod:`.collector` (the statements of a request), :mod:`.budget`, :mod:`.patterns`
(grouping), :mod:`.n_plus_one`, :mod:`.slow` (the slow-query buffer) and :mod:`.core` (the
:class:`QueryProfiler` that ties them together).
"""

from __future__ import annotations

from .core import ProfileSummary
from .core import QueryProfiler
from .core import logger
from .n_plus_one import NPlusOneSuspect
from .patterns import OPERATIONS
from .patterns import OperationTotals
from .patterns import PatternStats
from .patterns import operation_label
from .slow import SlowQuery

__all__ = [
    "OPERATIONS",
    "NPlusOneSuspect",
    "OperationTotals",
    "PatternStats",
    "ProfileSummary",
    "QueryProfiler",
    "SlowQuery",
    "logger",
    "operation_label",
]

for _public in (
    NPlusOneSuspect,
    OperationTotals,
    PatternStats,
    ProfileSummary,
    QueryProfiler,
    SlowQuery,
    operation_label,
):
    _public.__module__ = __name__
