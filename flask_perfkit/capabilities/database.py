"""The database capability: every engine's pool monitor, circuit breaker and health.

Engines reach it from :mod:`.database_wiring`, as they are created (PerfKit registered
before ``db.init_app``) or at once (an engine that exists). Each new engine is handed to every
capability's :meth:`~flask_perfkit.capability.Capability.attach_engine`, which is how the
profiler's listeners reach it.
"""

from __future__ import annotations

import threading
import typing as t
import weakref

import sqlalchemy as sa
from flask import Blueprint
from flask import Flask

from .. import breaker as _breaker
from .._compat import queue_waiters
from ..capability import Capability
from ..capability import Component
from ..capability import Recommendation
from ..capability import Wiring
from ..capability import fields_of
from ..checks import HealthCheck
from ..metrics import BREAKER_SEVERITY
from ..metrics import merge_breakers
from ..metrics import merge_pools
from ..pool import EngineMonitor
from ..signals import db_breaker_changed
from . import database_checks as checks
from . import database_views
from . import database_wiring

if t.TYPE_CHECKING:
    from marshmallow.fields import Field

    from .._state import PerfKitState


class _BreakerSignal:
    """Sends :data:`~flask_perfkit.signals.db_breaker_changed` for the app, while it lives."""

    def __init__(self, app: Flask) -> None:
        self.app_ref = weakref.ref(app)

    def __call__(self, bind: str, old: _breaker.BreakerState, new: _breaker.BreakerState) -> None:
        target = self.app_ref()
        if target is not None:
            db_breaker_changed.send(target, bind=bind, old=old.value, new=new.value)


class _AttachOnFirstConnect:
    """Adds the monitor's counters and every capability's listeners to a fresh engine, just
    before its first connection attempt."""

    def __init__(self, capability: DatabaseCapability, monitor: EngineMonitor) -> None:
        self.capability_ref = weakref.ref(capability)
        self.monitor = monitor

    def __call__(self) -> None:
        capability = self.capability_ref()
        if self.monitor.attach() and capability is not None:
            capability.attach_everywhere(self.monitor.engine)


class DatabaseCapability(Capability):
    """Engines, their pools, breakers, checks and advice."""

    name = "database"

    @classmethod
    def component_field(cls) -> Field[t.Any]:
        from marshmallow import fields

        from .._component_schemas import EngineComponentSchema

        return fields.Dict(
            keys=fields.String(), values=fields.Nested(EngineComponentSchema), required=True
        )

    def __init__(self, state: PerfKitState) -> None:
        super().__init__(state)
        #: Engine monitors by bind name.
        self.monitors: dict[str, EngineMonitor] = {}
        #: The timeouts and circuit breaker of each engine, by bind name.
        self.guards: dict[str, _breaker.EngineGuard] = {}
        # The two checks of each engine, made when the checks are first asked for.
        self._checks: dict[str, tuple[HealthCheck, HealthCheck]] = {}
        self._lock = threading.Lock()
        self._checkout_timeouts = 0
        self._signal: _BreakerSignal | None = None

    def init_app(self, app: Flask, wiring: Wiring) -> None:
        self._signal = _BreakerSignal(app)
        # An engine can outlive the app (one made at module level and shared by the apps of a
        # factory): the monitors' listeners are removed once the app is gone.
        weakref.finalize(app, _retire, self.monitors)
        database_wiring.wire(app, wiring, self)

    @staticmethod
    def add_views(bp: Blueprint) -> None:
        database_views.add_views(bp)

    def add_monitor(self, name: str, engine: sa.Engine, *, fresh: bool = False) -> EngineMonitor:
        """Start watching ``engine`` as bind ``name``, replacing any earlier engine of that name.

        :param fresh: The engine was just created and has never connected: its pool events
            and statements are listened to from its first connection.
        """
        _remove_retired()
        with self._lock:
            old = self.monitors.get(name)
            if old is not None:
                old.remove()
                if self._signal is not None:
                    self.guards[name].breaker.remove_listener(self._signal)
                if old.engine is not engine:
                    for cap in self.state.registry.values():
                        cap.detach_engine(old.engine)
            monitor = EngineMonitor(name, engine, lazy=fresh)
            guard = _breaker.guard_engine(engine, name, self.state.config, fresh=fresh)
            if fresh:
                guard.before_first_attempt(_AttachOnFirstConnect(self, monitor))
            else:
                self.attach_everywhere(engine)
            if self._signal is not None:
                guard.breaker.add_listener(self._signal)
            self.guards[name] = guard
            self.monitors[name] = monitor
            self._checks.pop(name, None)
        self.state.checks_changed()
        return monitor

    def attach_everywhere(self, engine: sa.Engine) -> None:
        """Hand ``engine`` to every capability's :meth:`~.Capability.attach_engine`."""
        for cap in self.state.registry.values():
            cap.attach_engine(engine)

    def count_checkout_timeout(self) -> None:
        """Count a request that waited out the pool timeout."""
        with self._lock:
            self._checkout_timeouts += 1

    @property
    def checkout_timeouts(self) -> int:
        """Requests that waited out the pool timeout since start or the last reset."""
        return self._checkout_timeouts

    @property
    def since(self) -> float:
        """When the oldest pool's event counts started."""
        return min((m.since for m in self.monitors.values()), default=self.state.started)

    def health_checks(self) -> list[HealthCheck]:
        timeout = self.state.config.health.timeout
        with self._lock:
            for name, monitor in self.monitors.items():
                if name not in self._checks:
                    self._checks[name] = (
                        checks.connectivity_check(monitor, timeout),
                        checks.pool_check(monitor),
                    )
            return [check for name in self.monitors for check in self._checks[name]]

    def component(self) -> Component:
        return Component(
            "database",
            {
                name: {
                    "dialect": monitor.engine.dialect.name,
                    "pool": fields_of(monitor.status()),
                    "checkout_timeouts": self.checkout_timeouts,
                    "breaker": self.guards[name].breaker.status(),
                }
                for name, monitor in self.monitors.items()
            },
        )

    def engine_recommendations(self, monitor: EngineMonitor) -> list[Recommendation]:
        """Advice about the pool of one engine."""
        return checks.recommendations(monitor, monitor.status(), self.checkout_timeouts)

    def recommendations(self) -> list[Recommendation]:
        return [
            advice
            for monitor in self.monitors.values()
            for advice in self.engine_recommendations(monitor)
        ]

    def metrics(self) -> t.Mapping[str, t.Any]:
        pools = {}
        for bind, monitor in self.monitors.items():
            pool = monitor.status()
            pools[bind] = {
                "size": pool.size,
                "checked_out": pool.checked_out,
                "overflow": pool.overflow,
                "utilization": pool.utilization,
                "waiters": queue_waiters(monitor.engine.pool),
            }
        breakers = {
            bind: {
                "state": g.breaker.state.value,
                "opens": g.breaker.opens,
                "rejected": g.breaker.rejected,
            }
            for bind, g in self.guards.items()
        }
        return {
            "pools": pools,
            "breakers": breakers,
            "counters": {"checkout_timeouts": self.checkout_timeouts},
        }

    @classmethod
    def merge_metrics(
        cls, merged: dict[str, t.Any], part: t.Mapping[str, t.Any], alive: bool
    ) -> None:
        merge_pools(merged, part, alive)
        merge_breakers(merged, part, alive)

    @classmethod
    def metric_families(cls, data: t.Mapping[str, t.Any]) -> t.Iterator[tuple[int, t.Any]]:
        from .. import _families

        for family in _families.counters(data, _families.POOL_COUNTERS):
            yield 25, family
        for family in _families.pools(data):
            yield 60, family
        for family in _families.breakers(data, BREAKER_SEVERITY):
            yield 70, family

    def reset(self) -> None:
        with self._lock:
            self._checkout_timeouts = 0
        for monitor in self.monitors.values():
            monitor.reset_counts()


#: Monitors of apps that are gone. Their listeners are removed at the next
#: :meth:`DatabaseCapability.add_monitor`, never from the garbage collector, which may run
#: while SQLAlchemy walks those very listeners.
_retired: list[weakref.ref[EngineMonitor]] = []


def _retire(monitors: dict[str, EngineMonitor]) -> None:
    _retired.extend(weakref.ref(monitor) for monitor in monitors.values())


def _remove_retired() -> None:
    while _retired:
        try:
            monitor = _retired.pop()()
        except IndexError:
            break
        if monitor is not None:
            monitor.remove()
