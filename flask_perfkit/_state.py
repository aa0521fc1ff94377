"""The per-app state of a :class:`.PerfKit` instance, and how to find it."""

from __future__ import annotations

import dataclasses
import datetime
import logging
import threading
import time
import typing as t
import weakref

import sqlalchemy as sa
from flask import Flask
from flask import current_app

from . import breaker as _breaker
from . import database
from ._bounded import BoundedMemo
from .checks import CheckRunner
from .checks import HealthCheck
from .config import CheckOverride
from .config import PerfKitConfig
from .config import nearest
from .errors import NotInitializedError
from .metrics import SnapshotWriter
from .pool import EngineMonitor
from .profiler import QueryProfiler
from .report import profiling_check
from .signals import db_breaker_changed

logger = logging.getLogger("flask_perfkit")

if t.TYPE_CHECKING:
    from .cache import TieredCache
    from .extension import PerfKit
    from .pagination import Plan


class PerfKitState:
    """Everything one :class:`.PerfKit` instance keeps for one app.

    :param config: The app's resolved configuration.
    :param app: The app, used only to push its context in check threads; held weakly.
    """

    def __init__(self, config: PerfKitConfig, app: Flask) -> None:
        self.config = config
        self.started = time.time()
        #: Engine monitors by bind name.
        self.monitors: dict[str, EngineMonitor] = {}
        #: Checks registered by the app, by name. Change them through :meth:`add_check`.
        self.extra_checks: dict[str, HealthCheck] = {}
        #: Every check, and the readiness ones, rebuilt when checks are added.
        self._checks_memo: tuple[list[HealthCheck], list[HealthCheck]] | None = None
        #: Encoded health bodies by (id of the checks list, detailed), with the checks and the
        #: results they were made of.
        self.body_memo: dict[tuple[int, bool], tuple[t.Any, tuple[t.Any, ...], t.Any, bytes]] = {}
        self._builtin_checks: dict[str, tuple[HealthCheck, HealthCheck]] = {}
        self._warned_overrides: set[str] = set()
        self._lock = threading.Lock()
        self._checkout_timeouts = 0
        #: The timeouts and circuit breaker of each engine, by bind name.
        self.guards: dict[str, _breaker.EngineGuard] = {}
        app_ref = self._app_ref = weakref.ref(app)
        # An engine can outlive the app (one made at module level and shared by the apps of a
        # factory): the monitors' listeners are removed once the app is gone.
        weakref.finalize(app, _retire, self.monitors)

        def breaker_listener(
            bind: str, old: _breaker.BreakerState, new: _breaker.BreakerState
        ) -> None:
            target = app_ref()
            if target is not None:
                db_breaker_changed.send(target, bind=bind, old=old.value, new=new.value)

        self._breaker_listener = breaker_listener

        def app_context() -> t.ContextManager[t.Any]:
            target = app_ref()
            if target is None:
                raise NotInitializedError("The app of this PerfKit state no longer exists.")
            return target.app_context()

        self.runner = CheckRunner(config.health.check_ttl, app_context)
        #: The app's query statistics.
        self.profiler = QueryProfiler(config, app)
        #: The Flask-SQLAlchemy extension, when PerfKit was given one.
        self.db: t.Any = None
        #: What ``paginate`` learnt of each statement shape.
        self.page_plans: BoundedMemo[tuple[t.Any, ...], Plan] = BoundedMemo(
            config.pagination.max_page_plans
        )
        #: The app's tiered cache; its backend is set by :meth:`.PerfKit.init_app`.
        self.cache: TieredCache | None = None
        self.cache_check: HealthCheck | None = None
        #: Writes this process's metrics for prometheus_client's multiprocess mode.
        self.metrics_writer = SnapshotWriter(self, app.import_name)
        self.profiling_check = HealthCheck(
            "profiling",
            profiling_check(self.profiler),
            critical=False,
            component_type="system",
            in_thread=False,
        )

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
                self.guards[name].breaker.remove_listener(self._breaker_listener)
                if old.engine is not engine:
                    self.profiler.detach(old.engine)
            monitor = EngineMonitor(name, engine, lazy=fresh)
            guard = _breaker.guard_engine(engine, name, self.config, fresh=fresh)
            if fresh:
                profiler_ref = weakref.ref(self.profiler)

                def attach() -> None:
                    profiler = profiler_ref()
                    if monitor.attach() and profiler is not None:
                        profiler.attach(engine)

                guard.before_first_attempt(attach)
            else:
                self.profiler.attach(engine)
            guard.breaker.add_listener(self._breaker_listener)
            self.guards[name] = guard
            self.monitors[name] = monitor
            self._builtin_checks[name] = (
                database.connectivity_check(monitor, self.config.health.timeout),
                database.pool_check(monitor),
            )
            self._checks_memo = None
        return monitor

    def add_check(self, check: HealthCheck) -> None:
        """Add or replace an app check."""
        with self._lock:
            self.extra_checks[check.name] = check
            self._checks_memo = None

    def set_cache_check(self, check: HealthCheck) -> None:
        """Set the check of the cache backend."""
        with self._lock:
            self.cache_check = check
            self._checks_memo = None

    def database_checks(self) -> list[HealthCheck]:
        """The connectivity and pool checks of every engine."""
        with self._lock:
            return [check for pair in self._builtin_checks.values() for check in pair]

    def all_checks(self) -> list[HealthCheck]:
        """Every check: the databases', the cache's, profiling, then the app's.

        An app check with the name of a built-in check replaces it. ``PERFKIT_HEALTH_CHECKS``
        is applied on top.
        """
        return self._checks()[0]

    def readiness_checks(self) -> list[HealthCheck]:
        """The checks ``/health/ready`` runs. The same list until checks are added."""
        return self._checks()[1]

    def _checks(self) -> tuple[list[HealthCheck], list[HealthCheck]]:
        memo = self._checks_memo
        if memo is not None:
            return memo
        with self._lock:
            builtin = [check for pair in self._builtin_checks.values() for check in pair]
            builtin.append(self.profiling_check)
            if self.cache_check is not None:
                builtin.insert(-1, self.cache_check)
            checks = {check.name: check for check in builtin}
            checks.update(self.extra_checks)
            overrides = self.config.health.checks
            self._warn_unknown_overrides(checks)
            every = [
                _override(check, overrides[check.name]) if check.name in overrides else check
                for check in checks.values()
            ]
            memo = self._checks_memo = (every, [check for check in every if check.readiness])
        return memo

    def memory(self) -> dict[str, dict[str, int]]:
        """Every bounded in-memory structure: its ``entries``, ``limit`` and ``evictions``.

        The profiler's patterns, N+1 suspects, slow-query ring and per-request N+1 counts, and
        the pagination plans. Does no I/O.
        """
        usage = self.profiler.memory()
        for name, memo in (("pagination_plans", self.page_plans),):
            usage[name] = {"entries": len(memo), "limit": memo.limit, "evictions": memo.evictions}
        return usage

    @property
    def app_alive(self) -> bool:
        """Whether the app of this state still exists."""
        return self._app_ref() is not None

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

    def count_checkout_timeout(self) -> None:
        """Count a request that waited out the pool timeout."""
        with self._lock:
            self._checkout_timeouts += 1

    @property
    def checkout_timeouts(self) -> int:
        """Requests that waited out the pool timeout since start or the last reset."""
        return self._checkout_timeouts

    @property
    def since(self) -> str:
        """When this app's PerfKit state was made, as an ISO 8601 UTC time."""
        return iso_time(self.started)


#: Monitors of apps that are gone. Their listeners are removed at the next
#: :meth:`PerfKitState.add_monitor`, never from the garbage collector, which may run while
#: SQLAlchemy walks those very listeners.
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


def iso_time(timestamp: float) -> str:
    """``timestamp`` as an ISO 8601 UTC time to the millisecond, the one format of every time
    PerfKit serves: ``2026-01-31T12:00:00.000+00:00``."""
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).isoformat(
        timespec="milliseconds"
    )


def _override(check: HealthCheck, override: CheckOverride) -> HealthCheck:
    changes = {
        field: value for field, value in dataclasses.asdict(override).items() if value is not None
    }
    if override.critical is not None:
        changes["critical_from_config"] = True
    return dataclasses.replace(check, **changes)


def get_state(app: Flask | None = None) -> PerfKitState:
    """The :class:`PerfKitState` of ``app``, or of the current app.

    :raises NotInitializedError: The app has no :class:`.PerfKit` registered.
    """
    if app is None:
        app = t.cast(Flask, current_app._get_current_object())  # type: ignore[attr-defined]
    ext: PerfKit | None = app.extensions.get("perfkit")
    state = None if ext is None else ext._states.get(app)
    if state is None:
        raise NotInitializedError(
            "The current Flask app is not registered with a 'PerfKit' instance. Did you forget"
            " to call 'init_app'?"
        )
    return state
