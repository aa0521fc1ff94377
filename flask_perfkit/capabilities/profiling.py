"""The profiling capability: the app's query statistics, its check, report and endpoints."""

from __future__ import annotations

import functools
import typing as t

import sqlalchemy as sa
from flask import Blueprint
from flask import Flask

from .. import profiling_views
from ..capability import Capability
from ..capability import Component
from ..capability import MemoryUsage
from ..capability import Recommendation
from ..capability import Wiring
from ..capability import fields_of
from ..checks import HealthCheck
from ..metrics import BOUNDS
from ..metrics import merge_queries
from ..metrics import profiler_snapshot
from ..profiler import QueryProfiler
from ..report import profiling_check
from ..report import recommendations

if t.TYPE_CHECKING:
    from marshmallow.fields import Field

    from .._state import PerfKitState


class ProfilingCapability(Capability):
    """Collects every statement of every watched engine, per request and in total."""

    name = "profiling"

    @classmethod
    def component_field(cls) -> Field[t.Any]:
        from marshmallow import fields

        from .._component_schemas import ProfilingComponentSchema

        return fields.Nested(ProfilingComponentSchema, required=True)

    def __init__(self, state: PerfKitState) -> None:
        super().__init__(state)
        app = state.app
        #: The app's query statistics.
        self.profiler = QueryProfiler(state.config, app)

    def init_app(self, app: Flask, wiring: Wiring) -> None:
        # First, so statements run by other before_request functions are collected too.
        app.before_request_funcs.setdefault(None, []).insert(0, self.profiler.start_request)
        app.teardown_request(self.profiler.end_request)

    @staticmethod
    def add_views(bp: Blueprint) -> None:
        profiling_views.add_views(bp)

    def attach_engine(self, engine: sa.Engine) -> None:
        self.profiler.attach(engine)

    def detach_engine(self, engine: sa.Engine) -> None:
        self.profiler.detach(engine)

    def health_checks(self) -> list[HealthCheck]:
        return [self._check]

    @functools.cached_property
    def _check(self) -> HealthCheck:
        return HealthCheck(
            "profiling",
            profiling_check(self.profiler),
            critical=False,
            component_type="system",
            in_thread=False,
        )

    def component(self) -> Component:
        profiler = self.profiler
        summary = profiler.summary()
        body = {**fields_of(summary), "n_plus_one_suspects": len(profiler.suspects())}
        return Component("profiling", body)

    def recommendations(self) -> list[Recommendation]:
        return recommendations(self.profiler)

    def metrics(self) -> t.Mapping[str, t.Any]:
        return profiler_snapshot(self.profiler)

    @classmethod
    def merge_metrics(
        cls, merged: dict[str, t.Any], part: t.Mapping[str, t.Any], alive: bool
    ) -> None:
        merge_queries(merged, part, alive)

    @classmethod
    def metric_families(cls, data: t.Mapping[str, t.Any]) -> t.Iterator[tuple[int, t.Any]]:
        from .. import _families

        yield 10, _families.duration(data, BOUNDS)
        for family in _families.counters(data, _families.QUERY_COUNTERS):
            yield 20, family
        yield 30, _families.suspects(data)

    def memory(self) -> dict[str, MemoryUsage]:
        return {name: MemoryUsage(**usage) for name, usage in self.profiler.memory().items()}

    def reset(self) -> None:
        self.profiler.reset()
