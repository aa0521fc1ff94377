"""The rings of points: a fine one for the last hour and a coarse one for the last day."""

from __future__ import annotations

import bisect
import collections
import itertools
import json
import math
import sys
import threading
import typing as t
from collections.abc import Mapping

from .._time import iso_time
from ..config import HistoryConfig
from ..metrics import Snapshot
from ._points import Peaks
from ._points import point
from ._points import top_patterns

#: Per-pattern totals, ``query_id: (calls, seconds)``.
PatternTotals = Mapping[str, t.Sequence[float]]

#: The ranges ``GET /health/history`` serves, in seconds.
RANGES: Mapping[str, int] = {"15m": 15 * 60, "1h": 60 * 60, "24h": 24 * 60 * 60}


class Reading(t.NamedTuple):
    """What one rollup reads: the totals, the per-pattern totals and the health."""

    #: The totals of every capability (:func:`flask_perfkit.metrics.snapshot`), merged over
    #: the worker processes in multiprocess mode.
    totals: Snapshot
    #: The calls and seconds of each pattern.
    patterns: PatternTotals
    #: The status of each health check.
    checks: Mapping[str, str]
    #: How many processes the numbers add up.
    workers: int


class Ring:
    """The points of one resolution, oldest first, each kept as its encoded JSON.

    :param resolution: Seconds each point covers.
    :param retention: Seconds of points kept.
    :param started: When the numbers started counting, the start of the first interval.
    """

    def __init__(self, resolution: int, retention: int, started: float) -> None:
        self.resolution = resolution
        self.retention = retention
        #: Each point as the JSON it is served as, oldest first, each after a comma, so a
        #: body is one join (see :meth:`since`).
        self.points: collections.deque[bytes] = collections.deque(maxlen=retention // resolution)
        #: When each point of :attr:`points` ended.
        self.ends: collections.deque[float] = collections.deque(maxlen=retention // resolution)
        #: Points dropped to stay within :attr:`retention`.
        self.dropped = 0
        #: When the next point is due.
        self.due = 0.0
        # Held while a point is added and while points are copied out.
        self._lock = threading.Lock()
        self._before: Snapshot = {}
        self._before_patterns: PatternTotals = {}
        self._before_time = started

    def add(self, now: float, reading: Reading, peaks: Peaks | None = None) -> dict[str, t.Any]:
        """Add the point of the interval that ends ``now``, and return it.

        :param peaks: The peaks to show in place of the gauges sampled ``now``.
        """
        end = math.floor(now / self.resolution) * self.resolution
        data = point(
            reading.totals,
            self._before,
            end=end,
            seconds=max(now - self._before_time, 0.0),
            checks=reading.checks,
            patterns=top_patterns(reading.patterns, self._before_patterns),
        )
        if peaks is not None:
            peaks.apply(data)
        self._before, self._before_patterns, self._before_time = (
            reading.totals,
            reading.patterns,
            now,
        )
        self.due = end + self.resolution
        encoded = encode(data)
        with self._lock:
            if len(self.points) == self.points.maxlen:
                self.dropped += 1
            self.points.append(encoded)
            self.ends.append(end)
        return data

    def since(self, start: float) -> list[bytes]:
        """The encoded points that end after ``start``, oldest first, as the items of a JSON
        array: the first one bare, each other one after a comma."""
        with self._lock:
            ends = self.ends
            if not ends or ends[0] > start:
                found = list(self.points)
            else:
                first = bisect.bisect_right(ends, start)
                found = list(itertools.islice(self.points, first, None))
        if found:
            found[0] = found[0][1:]
        return found

    def nbytes(self) -> int:
        """The bytes its points take, the deques' own included."""
        return (
            sys.getsizeof(self.points)
            + sys.getsizeof(self.ends)
            + sum(map(sys.getsizeof, self.points))
            + sum(map(sys.getsizeof, self.ends))
        )


def encode(data: Mapping[str, t.Any]) -> bytes:
    """A point as the JSON ``GET /health/history`` serves, its end as an ISO 8601 time, after
    a comma."""
    body = {"time": iso_time(data["end"]), **data}
    del body["end"]
    return b"," + json.dumps(body, separators=(",", ":")).encode()


class History:
    """The history of one app's numbers, rolled up at most once per interval.

    :param config: The ``PERFKIT_HISTORY_*`` settings.
    :param started: When the app's numbers started counting.
    """

    def __init__(self, config: HistoryConfig, started: float) -> None:
        self.started = started
        self.fine = Ring(config.resolution, config.retention, started)
        self.coarse = Ring(config.coarse_resolution, config.coarse_retention, started)
        #: How many processes the last point added up.
        self.workers = 1
        self._peaks = Peaks()
        self._lock = threading.Lock()

    def due(self, now: float) -> bool:
        """Whether a point is due at ``now``."""
        return now >= self.fine.due

    def roll(self, now: float, read: t.Callable[[], Reading]) -> bool:
        """Add the points due at ``now`` from what ``read`` returns; whether it added any.

        A call while another thread rolls up returns at once, adding nothing.
        """
        if now < self.fine.due or not self._lock.acquire(blocking=False):
            return False
        try:
            if now < self.fine.due:
                return False
            reading = read()
            self._peaks.add(self.fine.add(now, reading))
            if now >= self.coarse.due:
                self.coarse.add(now, reading, self._peaks)
            self.workers = reading.workers
            return True
        finally:
            self._lock.release()

    def ring_for(self, seconds: int) -> Ring:
        """The finest ring whose points cover ``seconds``."""
        return self.fine if seconds <= self.fine.retention else self.coarse

    def nbytes(self) -> int:
        """The bytes both rings' points take."""
        return self.fine.nbytes() + self.coarse.nbytes()
