"""The ring buffer of recent slow queries."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import deque

from ..normalize import Pattern
from ._units import iso
from ._units import ms
from .collector import Collector


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


def slow_query(
    pattern: Pattern, seconds: float, very_slow: bool, collector: Collector | None
) -> SlowQuery:
    """The record of one slow execution of ``pattern``, run now.

    :param collector: The request's collector, which tells its endpoint, method and path.
    """
    return SlowQuery(
        time=iso(time.time()),
        duration_ms=ms(seconds),
        query=pattern.text,
        query_id=pattern.query_id,
        very_slow=very_slow,
        endpoint=collector.endpoint if collector else None,
        method=collector.method if collector else None,
        path=collector.path if collector else None,
    )


class SlowBuffer:
    """The most recent slow queries, the oldest pushed out first.

    :param size: How many are kept.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.records: deque[SlowQuery] = deque(maxlen=size)
        #: Slow queries pushed out by newer ones.
        self.evictions = 0
        self.lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.records)

    def add(self, record: SlowQuery) -> None:
        """Keep ``record``, pushing out the oldest if the buffer is full."""
        with self.lock:
            if len(self.records) == self.size:
                self.evictions += 1
            self.records.append(record)

    def newest_first(self) -> list[SlowQuery]:
        """The slow queries kept, newest first."""
        return list(reversed(self.records.copy()))

    def clear(self) -> None:
        """Forget every slow query and the eviction count."""
        with self.lock:
            self.records.clear()
            self.evictions = 0
