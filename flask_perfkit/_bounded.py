"""A memo of bounded size that counts what it drops."""

from __future__ import annotations

import threading
import typing as t

K = t.TypeVar("K")
V = t.TypeVar("V")


class BoundedMemo(t.Generic[K, V]):
    """A dict of at most ``limit`` entries; when full, the oldest entry makes room.

    Reads take no lock; writes do, so the count of entries dropped is exact.

    :param limit: The most entries kept.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        #: Entries dropped to make room since creation or the last :meth:`clear`.
        self.evictions = 0
        self._data: dict[K, V] = {}
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The value of ``key``, or ``None``."""
        return self._data.get(key)

    def put(self, key: K, value: V) -> V:
        """Keep ``value`` under ``key``, dropping the oldest entry if the memo is full."""
        with self._lock:
            data = self._data
            if key not in data and len(data) >= self.limit:
                del data[next(iter(data))]
                self.evictions += 1
            data[key] = value
        return value

    def clear(self) -> None:
        """Drop every entry and set the count of evictions back to 0."""
        with self._lock:
            self._data.clear()
            self.evictions = 0

    def __len__(self) -> int:
        return len(self._data)
