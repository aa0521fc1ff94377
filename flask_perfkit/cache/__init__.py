"""Tiered cache decorators on a Flask-Caching backend.

- :mod:`.tiers`: the tiers, their counts, and the sentinels a lookup answers with;
- :mod:`.tiered`: :class:`TieredCache`, one app's cache, and its parts: the envelope values
  are stored in (:mod:`.envelope`), the circuit breaker (:mod:`.guard`), concurrent misses
  computed once (:mod:`.flight`), the key layout (:mod:`.keys`) and dropping keys by pattern
  (:mod:`.invalidation`);
- :mod:`.decorators`: ``@cache_short``, ``@cache_medium``, ``@cache_long``, ``@cached``;
- :mod:`.http`: a view's responses, cached as a shared HTTP cache would;
- :mod:`.on_commit`: entries dropped after commits that change the models they depend on;
- :mod:`.backend`: the Flask-Caching backend the tiers store in.
"""

from __future__ import annotations

from .decorators import CachedFunction
from .decorators import cache_long
from .decorators import cache_medium
from .decorators import cache_short
from .decorators import cached
from .guard import BackendStatus
from .keys import glob_escape
from .on_commit import register_invalidation
from .tiered import TieredCache
from .tiers import MISS
from .tiers import Tier
from .tiers import TierStats

__all__ = [
    "MISS",
    "BackendStatus",
    "CachedFunction",
    "Tier",
    "TierStats",
    "TieredCache",
    "cache_long",
    "cache_medium",
    "cache_short",
    "cached",
    "glob_escape",
    "register_invalidation",
]

for _public in (
    BackendStatus,
    CachedFunction,
    Tier,
    TierStats,
    TieredCache,
    cached,
    glob_escape,
    register_invalidation,
):
    _public.__module__ = __name__
