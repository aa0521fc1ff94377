"""The cache capability: the app's tiered cache on its backend, its check and endpoints."""

from __future__ import annotations

import functools
import typing as t

from flask import Blueprint
from flask import Flask

from .. import cache_views
from .._time import iso_time
from ..cache import TieredCache
from ..cache.backend import backend_getter
from ..capability import Capability
from ..capability import Component
from ..capability import Wiring
from ..checks import HealthCheck
from ..metrics import cache_snapshot
from ..metrics import merge_cache

if t.TYPE_CHECKING:
    from marshmallow.fields import Field

    from .._state import PerfKitState


class CacheCapability(Capability):
    """The tiered cache; its backend is set by :meth:`init_app`."""

    name = "cache"

    @classmethod
    def component_field(cls) -> Field[t.Any]:
        from marshmallow import fields

        from .._component_schemas import CacheComponentSchema

        return fields.Nested(CacheComponentSchema, allow_none=True, required=True)

    def __init__(self, state: PerfKitState) -> None:
        super().__init__(state)
        #: The app's tiered cache, once wired.
        self.cache: TieredCache | None = None

    def init_app(self, app: Flask, wiring: Wiring) -> None:
        config = self.state.config
        backend = backend_getter(app, wiring.cache, config.cache.socket_timeout)
        self.cache = TieredCache(config, backend, app)
        self.state.checks_changed()

    @staticmethod
    def add_views(bp: Blueprint) -> None:
        cache_views.add_views(bp)

    def health_checks(self) -> list[HealthCheck]:
        return [] if self.cache is None else [self._check]

    @functools.cached_property
    def _check(self) -> HealthCheck:
        assert self.cache is not None, "made only once init_app has wired the cache"
        return HealthCheck(
            "cache",
            cache_views.cache_check(self.cache),
            critical=False,
            component_type="datastore",
        )

    def component(self) -> Component:
        cache = self.cache
        if cache is None:
            return Component("cache", None)
        body = {**cache.backend_status(), "tiers": cache.stats(), "since": iso_time(cache.since)}
        return Component("cache", body)

    def metrics(self) -> t.Mapping[str, t.Any]:
        return cache_snapshot(self.cache)

    @classmethod
    def merge_metrics(
        cls, merged: dict[str, t.Any], part: t.Mapping[str, t.Any], alive: bool
    ) -> None:
        merge_cache(merged, part, alive)

    @classmethod
    def metric_families(cls, data: t.Mapping[str, t.Any]) -> t.Iterator[tuple[int, t.Any]]:
        from .. import _families

        for family in _families.cache(data):
            yield 50, family

    def reset(self) -> None:
        if self.cache is not None:
            self.cache.reset_stats()
