"""The per-app state of a :class:`.PerfKit` instance: the config and a registry of
capabilities, and how to find it."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import typing as t
import weakref

from flask import Flask
from flask import current_app

from .capability import Capability
from .capability import Component
from .capability import MemoryUsage
from .capability import Recommendation
from .checks import CheckRunner
from .checks import HealthCheck
from .config import CheckOverride
from .config import PerfKitConfig
from .config import nearest
from .errors import NotInitializedError

logger = logging.getLogger("flask_perfkit")

if t.TYPE_CHECKING:
    from ._bounded import BoundedMemo
    from .cache import TieredCache
    from .capabilities.cache import CacheCapability
    from .capabilities.database import DatabaseCapability
    from .capabilities.pagination import PaginationCapability
    from .capabilities.profiling import ProfilingCapability
    from .pagination import Plan
    from .profiler import QueryProfiler


class PerfKitState:
    """Everything one :class:`.PerfKit` instance keeps for one app: the config and a
    registry of capabilities.

    :param config: The app's resolved configuration.
    :param app: The app, used only to push its context in check threads; held weakly.
    :param capabilities: The capability classes, in registry order.
    :param authorize: The auth callback given to :class:`.PerfKit`.
    """

    def __init__(
        self,
        config: PerfKitConfig,
        app: Flask,
        capabilities: t.Iterable[type[Capability]] = (),
        authorize: t.Callable[[], bool] | None = None,
    ) -> None:
        self.config = config
        self.started = time.time()
        #: Called with no arguments inside a request: whether it may see details.
        self.authorize = authorize
        self.app_ref = weakref.ref(app)
        #: Checks registered by the app, by name. Change them through :meth:`add_check`.
        self.extra_checks: dict[str, HealthCheck] = {}
        #: Every check, and the readiness ones, rebuilt when checks change.
        self._checks_memo: tuple[list[HealthCheck], list[HealthCheck]] | None = None
        #: Counts changes of the checks, so a list assembled across a change is not kept.
        self._checks_version = 0
        #: Encoded health bodies by (id of the checks list, detailed), with the checks and the
        #: results they were made of.
        self.body_memo: dict[tuple[int, bool], tuple[t.Any, tuple[t.Any, ...], t.Any, bytes]] = {}
        self._warned_overrides: set[str] = set()
        self._lock = threading.Lock()
        self.runner = CheckRunner(config.health.check_ttl, self.app_context)
        #: The Flask-SQLAlchemy extension, when PerfKit was given one.
        self.db: t.Any = None
        #: The capabilities by name, in registry order.
        self.registry: dict[str, Capability] = {}
        for cls in capabilities:
            self.registry[cls.name] = cls(self)

    @property
    def app(self) -> Flask:
        """The app of this state.

        :raises NotInitializedError: The app no longer exists.
        """
        target = self.app_ref()
        if target is None:
            raise NotInitializedError("The app of this PerfKit state no longer exists.")
        return target

    def app_context(self) -> t.ContextManager[t.Any]:
        """A context of the app of this state.

        :raises NotInitializedError: The app no longer exists.
        """
        return self.app.app_context()

    @property
    def database(self) -> DatabaseCapability:
        """The engines, their monitors and their circuit breakers."""
        capability: DatabaseCapability = self.registry["database"]  # type: ignore[assignment]
        return capability

    @property
    def profiler(self) -> QueryProfiler:
        """The app's query statistics."""
        capability: ProfilingCapability = self.registry["profiling"]  # type: ignore[assignment]
        return capability.profiler

    @property
    def cache(self) -> TieredCache | None:
        """The app's tiered cache; ``None`` until :meth:`.PerfKit.init_app` wired it."""
        capability: CacheCapability = self.registry["cache"]  # type: ignore[assignment]
        return capability.cache

    @property
    def pagination(self) -> PaginationCapability:
        """What ``paginate`` learnt of statement shapes."""
        capability: PaginationCapability = self.registry["pagination"]  # type: ignore[assignment]
        return capability

    @property
    def page_plans(self) -> BoundedMemo[tuple[t.Any, ...], Plan]:
        """What ``paginate`` learnt of each statement shape."""
        return self.pagination.plans

    def add_check(self, check: HealthCheck) -> None:
        """Add or replace an app check."""
        with self._lock:
            self.extra_checks[check.name] = check
            self._checks_memo = None
            self._checks_version += 1

    def checks_changed(self) -> None:
        """Rebuild the list of checks on next use, as a capability's checks changed."""
        with self._lock:
            self._checks_memo = None
            self._checks_version += 1

    def all_checks(self) -> list[HealthCheck]:
        """Every check: each capability's in registry order, then the app's.

        An app check with the name of a built-in check replaces it. ``PERFKIT_HEALTH_CHECKS``
        is applied on top.
        """
        return self._checks()[0]

    def readiness_checks(self) -> list[HealthCheck]:
        """The checks ``/health/ready`` runs. The same list until checks change."""
        return self._checks()[1]

    def _checks(self) -> tuple[list[HealthCheck], list[HealthCheck]]:
        memo = self._checks_memo
        if memo is not None:
            return memo
        version = self._checks_version
        builtin = [check for cap in self.registry.values() for check in cap.health_checks()]
        with self._lock:
            checks = {check.name: check for check in builtin}
            checks.update(self.extra_checks)
            overrides = self.config.health.checks
            self._warn_unknown_overrides(checks)
            every = [
                _override(check, overrides[check.name]) if check.name in overrides else check
                for check in checks.values()
            ]
            memo = (every, [check for check in every if check.readiness])
            if version == self._checks_version:
                self._checks_memo = memo
        return memo

    def components(self) -> dict[str, t.Any]:
        """The ``components`` of ``/health/full``: each capability's block. Does no I/O."""
        blocks: list[Component] = []
        for cap in self.registry.values():
            block = cap.component()
            if block is not None:
                blocks.append(block)
        return {block.key: block.body for block in blocks}

    def recommendations(self) -> list[Recommendation]:
        """Every capability's advice, in registry order."""
        return [advice for cap in self.registry.values() for advice in cap.recommendations()]

    def memory(self) -> dict[str, MemoryUsage]:
        """Every bounded in-memory structure of every capability. Does no I/O."""
        usage: dict[str, MemoryUsage] = {}
        for cap in self.registry.values():
            usage.update(cap.memory())
        return usage

    def reset(self) -> None:
        """Forget the statistics of every capability."""
        for cap in self.registry.values():
            cap.reset()

    @property
    def app_alive(self) -> bool:
        """Whether the app of this state still exists."""
        return self.app_ref() is not None

    def _warn_unknown_overrides(self, checks: t.Collection[str]) -> None:
        """Log once about each ``PERFKIT_HEALTH_CHECKS`` name that matches no check.

        Checks can be added after ``init_app``, so names are compared when the checks are
        first assembled (the first health request or ``flask perfkit check``), and again
        when checks are added. This happens while serving, so it is logged: a warning filter
        turned into an error must not fail a probe.
        """
        for name in sorted(self.config.health.checks.keys() - checks - self._warned_overrides):
            self._warned_overrides.add(name)
            guess = nearest(name, checks)
            logger.warning(
                "PERFKIT_HEALTH_CHECKS[%r] matches no health check and is ignored; the checks"
                " are %s.%s",
                name,
                ", ".join(map(repr, sorted(checks))),
                f" Did you mean {guess!r}?" if guess else "",
            )


def _override(check: HealthCheck, override: CheckOverride) -> HealthCheck:
    changes = {
        field: value for field, value in dataclasses.asdict(override).items() if value is not None
    }
    if override.critical is not None:
        changes["critical_from_config"] = True
    return dataclasses.replace(check, **changes)


class StateHolder(t.Protocol):
    """What ``app.extensions["perfkit"]`` offers: the state of each app it is registered on."""

    def state_of(self, app: Flask) -> PerfKitState | None:
        """The state of ``app``, or ``None``."""


def find_state(app: Flask | None = None) -> PerfKitState | None:
    """The :class:`PerfKitState` of ``app`` (or of the current app), or ``None`` if the app
    has no :class:`.PerfKit` registered."""
    if app is None:
        app = t.cast(Flask, current_app._get_current_object())  # type: ignore[attr-defined]
    ext: StateHolder | None = app.extensions.get("perfkit")
    return None if ext is None else ext.state_of(app)


def get_state(app: Flask | None = None) -> PerfKitState:
    """The :class:`PerfKitState` of ``app``, or of the current app.

    :raises NotInitializedError: The app has no :class:`.PerfKit` registered.
    """
    state = find_state(app)
    if state is None:
        raise NotInitializedError(
            "The current Flask app is not registered with a 'PerfKit' instance. Did you forget"
            " to call 'init_app'?"
        )
    return state
