"""The cache of patterns by statement text and dialect."""

from __future__ import annotations

import functools
import threading

from ._dialects import GENERIC
from ._pattern import Pattern
from ._pattern import make_pattern

#: Statements up to this many characters share the cache of :data:`PERFKIT_NORMALIZE_CACHE_SIZE`
#: entries; longer ones go to a cache bounded by :data:`LARGE_CACHE_CHARS` characters.
SMALL_STATEMENT = 4096
#: The most characters of long statements kept as cache keys.
LARGE_CACHE_CHARS = 4 * 1024 * 1024


class PatternCache:
    """Normalizes statements once: a repeated statement costs one cache lookup.

    A least-recently-used cache by statement text and dialect. Statements up to 4096
    characters (``SMALL_STATEMENT``) are kept up to ``limit`` at a time; longer ones up to 4
    MiB of text in all (``LARGE_CACHE_CHARS``), and a statement longer than that is
    normalized each time (its cost is bounded: at most ``MAX_TOKENS`` tokens are read).

    :param limit: The most short statements kept; the least recently used are evicted.
    """

    def __init__(self, limit: int = 4096) -> None:
        self.limit = limit
        withheld = self._withheld = [0]

        def make(statement: str, dialect: str) -> Pattern:
            pattern = make_pattern(statement, dialect)
            if pattern.withheld:
                withheld[0] += 1
            return pattern

        # A closure, not a bound method: the cache holds no reference back to this object.
        self._make = make
        self._small = functools.lru_cache(maxsize=limit)(make)
        self._large: dict[tuple[str, str], Pattern] = {}
        self._large_chars = 0
        self._large_evictions = 0
        self._large_hits = 0
        self._large_misses = 0
        self._lock = threading.Lock()

    @property
    def withheld(self) -> int:
        """Statements whose text was withheld, each counted when it was normalized."""
        return self._withheld[0]

    def get(self, statement: str, dialect: str = GENERIC) -> Pattern:
        """The :class:`Pattern` of ``statement`` as ``dialect`` reads it."""
        if len(statement) <= SMALL_STATEMENT:
            return self._small(statement, dialect)
        return self._get_large(statement, dialect)

    def _get_large(self, statement: str, dialect: str) -> Pattern:
        key = (statement, dialect)
        size = len(statement)
        with self._lock:
            found = self._large.pop(key, None)
            if found is not None:
                self._large[key] = found
                self._large_hits += 1
                return found
            self._large_misses += 1
        pattern = self._make(statement, dialect)
        if size > LARGE_CACHE_CHARS // 4:
            return pattern
        with self._lock:
            if key not in self._large:
                while self._large and self._large_chars + size > LARGE_CACHE_CHARS:
                    oldest = next(iter(self._large))
                    del self._large[oldest]
                    self._large_chars -= len(oldest[0])
                    self._large_evictions += 1
                self._large[key] = pattern
                self._large_chars += size
        return pattern

    @property
    def evictions(self) -> int:
        """Statements evicted to keep the cache within its bounds."""
        info = self._small.cache_info()
        return info.misses - info.currsize + self._large_evictions

    def stats(self) -> dict[str, int]:
        """``size``, ``limit``, ``hits``, ``misses``, ``evictions`` and ``withheld``."""
        info = self._small.cache_info()
        return {
            "size": info.currsize + len(self._large),
            "limit": self.limit,
            "hits": info.hits + self._large_hits,
            "misses": info.misses + self._large_misses,
            "evictions": self.evictions,
            "withheld": self.withheld,
        }

    def clear(self) -> None:
        """Forget every statement and reset the counts."""
        self._small.cache_clear()
        with self._lock:
            self._large.clear()
            self._large_chars = 0
            self._large_evictions = self._large_hits = self._large_misses = 0
        self._withheld[0] = 0
