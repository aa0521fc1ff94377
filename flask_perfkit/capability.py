"""The interface every capability of PerfKit offers, and the values it returns.

A capability (the database pools, the query profiler, the tiered cache, pagination, the
metrics) is one class deriving from :class:`Capability`. :class:`.PerfKit` makes one instance
per app and keeps it in the app's registry; health, metrics, the CLI and the report loop over
the registry and call the methods below, whose defaults do nothing. See :doc:`/design`.
"""

from __future__ import annotations

import dataclasses
import typing as t

if t.TYPE_CHECKING:
    import marshmallow.fields
    import sqlalchemy as sa
    from flask import Blueprint
    from flask import Flask
    from flask_caching import Cache
    from flask_sqlalchemy import SQLAlchemy

    from ._state import PerfKitState
    from .checks import HealthCheck


#: The rank of the memory families in ``/health/metrics``; see
#: :meth:`Capability.metric_families`.
MEMORY_RANK = 40


@dataclasses.dataclass(frozen=True)
class Recommendation:
    """Advice drawn from the numbers.

    :param severity: ``"info"``, ``"warning"`` or ``"critical"``.
    :param message: One or two sentences saying what to change.
    """

    severity: str
    message: str


@dataclasses.dataclass(frozen=True)
class MemoryUsage:
    """How full one bounded in-memory structure is.

    :param entries: Entries it holds now.
    :param limit: The most entries it keeps.
    :param evictions: Entries it dropped to stay within ``limit``.
    """

    entries: int
    limit: int
    evictions: int


@dataclasses.dataclass(frozen=True)
class Component:
    """A capability's block of ``/health/full`` under ``components``.

    :param key: Its key under ``components``, such as ``"database"``.
    :param body: Its JSON-ready summary, or ``None`` when the capability is off.
    """

    key: str
    body: t.Any


@dataclasses.dataclass(frozen=True)
class Wiring:
    """What :meth:`.PerfKit.init_app` was given for one app.

    :param db: The Flask-SQLAlchemy extension, if any.
    :param engine: The plain SQLAlchemy engine, if any.
    :param cache: The Flask-Caching extension, if any.
    """

    db: SQLAlchemy | None = None
    engine: sa.Engine | None = None
    cache: Cache | None = None


def fields_of(value: t.Any) -> dict[str, t.Any]:
    """The fields of the dataclass instance ``value`` by name, with their values as they are.

    For a dataclass whose fields hold no containers shared with anything else, what
    :func:`dataclasses.asdict` returns, without its deep copy of every value.

    :param value: A dataclass instance.
    """
    return {name: getattr(value, name) for name in field_names(type(value))}


#: The field names of each dataclass :func:`fields_of` has seen.
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def field_names(cls: type) -> tuple[str, ...]:
    """The names of the fields of the dataclass ``cls``, in order.

    :param cls: A dataclass.
    """
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(field.name for field in dataclasses.fields(cls))
    return names


class Capability:
    """One capability of PerfKit, for one app. Every method has a default that does nothing.

    :param state: The app's PerfKit state: its config, its registry and the app.

    A subclass sets :attr:`name` and overrides what it offers. Its instance is made when
    PerfKit is registered on an app, before :meth:`init_app` of any capability runs.
    """

    #: The capability's name in the registry.
    name: t.ClassVar[str] = ""

    def __init__(self, state: PerfKitState) -> None:
        self.state = state

    @classmethod
    def component_field(cls) -> marshmallow.fields.Field[t.Any] | None:
        """The marshmallow field of its :meth:`component` block in
        :class:`~flask_perfkit.schemas.ComponentsSchema`, or ``None`` for no block.

        Called when that schema is made, so marshmallow is imported only by apps that use it.
        """
        return None

    def init_app(self, app: Flask, wiring: Wiring) -> None:
        """Wire the capability into ``app``: request hooks, engines, backends.

        Called by :meth:`.PerfKit.init_app` in registry order, only when ``PERFKIT_ENABLED``.
        """

    @staticmethod
    def add_views(bp: Blueprint) -> None:
        """Add the capability's endpoints to the health blueprint. Called once per process."""

    def attach_engine(self, engine: sa.Engine) -> None:
        """Start watching ``engine``, just before its first connection or at once."""

    def detach_engine(self, engine: sa.Engine) -> None:
        """Stop watching ``engine``, which another engine of the same bind replaced."""

    def health_checks(self) -> list[HealthCheck]:
        """The checks the capability owns, in the order ``checks`` shows them."""
        return []

    def component(self) -> Component | None:
        """Its block of ``/health/full``, or ``None`` for no block. Does no I/O."""
        return None

    def recommendations(self) -> list[Recommendation]:
        """Advice drawn from its numbers, for the profiling report."""
        return []

    def metrics(self) -> t.Mapping[str, t.Any]:
        """Its part of the process's metrics snapshot.

        The snapshot is written to a JSON file per process in multiprocess mode and merged
        by the scraped process, so this is JSON-ready data whose keys are unique among the
        capabilities; :meth:`merge_metrics` merges it and :meth:`metric_families` exposes it.
        The ``counters`` of every capability are summed over processes.
        """
        return {}

    @classmethod
    def merge_metrics(
        cls, merged: dict[str, t.Any], part: t.Mapping[str, t.Any], alive: bool
    ) -> None:
        """Add one process's snapshot ``part`` into ``merged``, for the keys that
        :meth:`metrics` returns other than ``counters``.

        Called for every snapshot, also in a single process. The rule PerfKit's own
        capabilities follow: counts and histograms add up over every process that ever ran;
        gauges add up over the processes still alive (``alive``), or take their highest or
        worst value where a sum means nothing. ``counters`` and ``memory`` are merged for
        every capability: counters and evictions add up, entries of live processes add up.

        :param merged: The merged snapshot so far; set its keys with ``setdefault``.
        :param part: One process's whole snapshot; a key may be missing.
        :param alive: Whether that process still runs.
        """

    @classmethod
    def metric_families(cls, data: t.Mapping[str, t.Any]) -> t.Iterator[tuple[int, t.Any]]:
        """Its Prometheus metric families of the merged snapshot ``data``, each with its rank.

        ``/health/metrics`` lists the families of every capability by rank (those of equal
        rank in registry order), the memory families at :data:`MEMORY_RANK`, and the health
        status last. Called on each scrape, with prometheus_client importable: import it in
        the method.
        """
        return iter(())

    def memory(self) -> dict[str, MemoryUsage]:
        """Its bounded in-memory structures, by name. Does no I/O."""
        return {}

    def reset(self) -> None:
        """Forget its statistics, as ``flask perfkit reset`` does."""
