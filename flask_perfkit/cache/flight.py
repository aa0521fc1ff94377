"""The computations of keys in this process, shared by the concurrent misses of each key."""

from __future__ import annotations

import contextlib
import threading
import typing as t

#: Computations of one key that raise in a row before its waiters stop taking turns.
FAILURES_TO_SCATTER = 2


class Flight:
    """The computation of one key in this process, shared by the callers that wait on it."""

    __slots__ = ("callers", "data", "done", "failures", "lock")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.callers = 0
        self.done = False
        #: Computations of the key that raised.
        self.failures = 0
        #: The computed payload's envelope as the backend's serializer wrote it.
        self.data: t.Any = None

    def failed(self) -> None:
        """Count a computation that raised, and release the next caller.

        After :data:`FAILURES_TO_SCATTER` in a row (a missing row, a database that is down)
        the callers still waiting run side by side rather than fail one after another.
        """
        self.failures += 1
        if self.failures >= FAILURES_TO_SCATTER:
            self.done = True
        self.lock.release()

    def finish(self, data: t.Any) -> None:
        """Hand ``data`` (``None`` for nothing) to the waiting callers and release them."""
        self.data = data
        self.done = True
        self.lock.release()


class Flights:
    """The flights of keys being computed, each kept while a caller is on it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flights: dict[str, Flight] = {}

    @contextlib.contextmanager
    def join(self, key: str) -> t.Iterator[Flight]:
        """The flight of ``key``, started if there is none; dropped when its last caller
        leaves."""
        with self._lock:
            flight = self._flights.get(key)
            if flight is None:
                flight = self._flights[key] = Flight()
            flight.callers += 1
        try:
            yield flight
        finally:
            with self._lock:
                flight.callers -= 1
                if flight.callers == 0 and self._flights.get(key) is flight:
                    del self._flights[key]

    def __len__(self) -> int:
        return len(self._flights)
