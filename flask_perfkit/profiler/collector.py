"""The statements of one request or ``query_budget`` block, waiting to be grouped."""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:
    from .core import QueryProfiler

#: ``(statement, seconds, rows, failed, dialect)``
Record = tuple[str, float, int, bool, str]
#: Records held in the process-wide buffer before they are grouped.
PENDING_LIMIT = 512
#: Records a request collects before they are grouped, keeping its N+1 counts.
COLLECTOR_LIMIT = 4096


class Collector(list[Record]):
    """The statements of one request or ``query_budget`` block, for one profiler.

    :param profiler: The profiler the statements are counted by.
    :param endpoint: The request's endpoint, if any.
    :param method: The request's HTTP method, if any.
    :param path: The request's URL rule, if any.
    :param generation: The profiler's generation when collecting started; statements of an
        older generation are dropped, as they were run before a reset.
    """

    __slots__ = ("counts", "endpoint", "flushed", "generation", "method", "path", "profiler")

    def __init__(
        self,
        profiler: QueryProfiler,
        endpoint: str | None,
        method: str | None,
        path: str | None,
        generation: int,
    ) -> None:
        super().__init__()
        self.profiler = profiler
        self.endpoint = endpoint
        self.method = method
        self.path = path
        self.generation = generation
        #: Per SELECT pattern: executions and seconds, kept across partial flushes.
        self.counts: dict[str, list[float]] = {}
        #: Records already grouped by partial flushes.
        self.flushed = 0

    def within(self, profiler: QueryProfiler) -> Collector:
        """A collector for a block inside this one, counted by ``profiler``."""
        return Collector(profiler, self.endpoint, self.method, self.path, self.generation)

    def take(self) -> list[Record]:
        """Remove and return the records collected since the last call."""
        records = list(self)
        self.clear()
        self.flushed += len(records)
        return records

    def absorb(self, block: Collector) -> None:
        """Take over the records and N+1 counts of a block that ran inside this collector."""
        self.extend(block)
        # Counts of the block's partial flushes belong to the request too.
        for query_id, (calls, seconds) in block.counts.items():
            seen = self.counts.setdefault(query_id, [0, 0.0])
            seen[0] += calls
            seen[1] += seconds
