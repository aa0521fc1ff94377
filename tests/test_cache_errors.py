"""The tiered cache's errors are PerfKit's, and its counts are TierStats."""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask
from flask_caching import Cache

from flask_perfkit import NotInitializedError
from flask_perfkit import PerfKit
from flask_perfkit import PerfKitError
from flask_perfkit import cache_short
from flask_perfkit import cached
from flask_perfkit.cache import Tier
from flask_perfkit.cache import TieredCache
from flask_perfkit.cache import TierStats
from flask_perfkit.errors import CacheBackendUnavailable
from flask_perfkit.errors import InvalidationUnsupported
from flask_perfkit.errors import UnknownTier


@cache_short
def double(value: int) -> int:
    return value * 2


def _cache(app: Flask) -> TieredCache:
    return t.cast(PerfKit, app.extensions["perfkit"]).cache


def test_an_unknown_tier_is_a_perfkit_value_error() -> None:
    with pytest.raises(UnknownTier, match="'hourly' is not a cache tier") as info:
        cached("hourly")
    assert isinstance(info.value, PerfKitError)
    assert isinstance(info.value, ValueError)
    assert Tier("long") is Tier.LONG


def test_invalidating_a_tier_of_an_unknown_name_raises_before_the_backend() -> None:
    app = Flask(__name__)
    PerfKit(app)
    with app.app_context(), pytest.raises(UnknownTier):
        _cache(app).invalidate(tier="hourly")


def test_a_key_outside_an_app_with_perfkit_is_not_initialized() -> None:
    with pytest.raises(NotInitializedError):
        double.make_cache_key(1)
    with Flask(__name__).app_context(), pytest.raises(NotInitializedError):
        double.make_cache_key(1)


def test_a_backend_that_cannot_list_its_keys_says_so() -> None:
    app = Flask(__name__)
    app.config["CACHE_TYPE"] = "NullCache"
    with pytest.warns(UserWarning, match="NullCache"):
        PerfKit(app)
    with app.app_context():
        with pytest.raises(InvalidationUnsupported, match="NullCache") as info:
            _cache(app).invalidate(tier="short")
        assert isinstance(info.value, PerfKitError)
        assert isinstance(info.value, NotImplementedError)
        assert isinstance(double.invalidate(1), int)


def test_a_cache_not_initialised_on_the_app_is_a_backend_failure() -> None:
    app = Flask(__name__)
    PerfKit(app, cache=Cache())
    with app.app_context():
        cache = _cache(app)
        assert double(4) == 8
        assert cache.tier_stats()[Tier.SHORT].errors == 1
        assert cache.last_error is not None
        with pytest.raises(CacheBackendUnavailable, match="init_app"):
            cache.probe()


def test_tier_stats_are_copies_and_stats_their_json_form() -> None:
    app = Flask(__name__)
    PerfKit(app)
    with app.app_context():
        cache = _cache(app)
        double(1)
        double(1)
        stats = cache.tier_stats()
        assert isinstance(stats[Tier.SHORT], TierStats)
        assert (stats[Tier.SHORT].hits, stats[Tier.SHORT].misses) == (1, 1)
        assert stats[Tier.SHORT].lookups == 2
        stats[Tier.SHORT].hits = 100
        assert cache.tier_stats()[Tier.SHORT].hits == 1
        assert cache.stats()["short"] == cache.tier_stats()[Tier.SHORT].to_dict()
        assert cache.stats()["short"]["hit_rate"] == 0.5
        assert cache.backend_status() == {
            "backend": "SimpleCache",
            "circuit_open": False,
            "last_error": None,
        }
