"""The testing capability: names the bind of each engine PerfKit watches for the pytest
plugin.

The plugin listens on every engine of the process while a watched test runs, whether or
not its app registered PerfKit; this capability tells it the bind name PerfKit gives each
engine it watches (``"default"``, or the Flask-SQLAlchemy bind key), for
``perfkit_queries(bind=...)`` and ``max_queries(n, bind=...)``. Outside tests it only keeps
a weak reference per engine.
"""

from __future__ import annotations

import typing as t
import weakref

import sqlalchemy as sa

from ..capability import Capability
from ..testing.hub import HUB

if t.TYPE_CHECKING:
    from .database import DatabaseCapability


class TestingCapability(Capability):
    """Tells the pytest plugin the bind names of the engines PerfKit watches."""

    __test__ = False
    name = "testing"

    def attach_engine(self, engine: sa.Engine) -> None:
        HUB.name_engine(engine, _Namer(self, engine))

    def detach_engine(self, engine: sa.Engine) -> None:
        HUB.forget_engine(engine)


class _Namer:
    """Finds the bind name of one engine among the database capability's monitors, once
    the engine runs a statement (the monitor is added after the engine is attached)."""

    def __init__(self, capability: TestingCapability, engine: sa.Engine) -> None:
        self.capability = weakref.ref(capability)
        self.engine = weakref.ref(engine)

    def __call__(self) -> str | None:
        capability, engine = self.capability(), self.engine()
        if capability is None or engine is None:
            return None
        database = t.cast("DatabaseCapability", capability.state.registry["database"])
        for name, monitor in list(database.monitors.items()):
            if monitor.engine is engine:
                return name
        return None
