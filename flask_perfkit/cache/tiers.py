"""The tiers, their counts, and the sentinels a lookup answers with."""

from __future__ import annotations

import dataclasses
import enum
import typing as t

from ..errors import UnknownTier


class Tier(enum.StrEnum):
    """A cache tier; its time to live comes from ``PERFKIT_CACHE_<TIER>_TIMEOUT``."""

    SHORT = "short"
    MEDIUM = "medium"
    LONG = "long"

    @classmethod
    def _missing_(cls, value: object) -> t.NoReturn:
        allowed = ", ".join(repr(tier.value) for tier in cls)
        raise UnknownTier(f"{value!r} is not a cache tier; use one of {allowed}.")


class _Miss:
    def __repr__(self) -> str:
        return "MISS"


#: Returned by :meth:`TieredCache.get` when the key holds nothing usable.
MISS: t.Final = _Miss()
#: Returned by :meth:`TieredCache.lookup` when the backend failed: the caller should not store.
FAILED: t.Final = _Miss()


@dataclasses.dataclass
class TierStats:
    """Counts of one tier since start or the last reset."""

    hits: int = 0
    misses: int = 0
    sets: int = 0
    errors: int = 0
    #: Calls that ran without the cache: a view called with a method other than GET or
    #: HEAD, or with ``Authorization`` on a page not declared shared.
    bypass: int = 0
    #: Values the backend's serializer could not store; they were served uncached.
    unserializable: int = 0
    #: Seconds spent waiting on the backend.
    backend_seconds: float = 0.0

    @property
    def lookups(self) -> int:
        """``hits + misses``."""
        return self.hits + self.misses

    @property
    def hit_rate(self) -> float | None:
        """``hits / (hits + misses)``, or ``None`` before any lookup."""
        lookups = self.hits + self.misses
        return round(self.hits / lookups, 4) if lookups else None

    def to_dict(self) -> dict[str, t.Any]:
        """The JSON form: the counts, ``hit_rate``, and ``backend_ms`` in milliseconds."""
        return {
            "hits": self.hits,
            "misses": self.misses,
            "sets": self.sets,
            "errors": self.errors,
            "bypass": self.bypass,
            "unserializable": self.unserializable,
            "hit_rate": self.hit_rate,
            "backend_ms": round(self.backend_seconds * 1000, 3),
        }
