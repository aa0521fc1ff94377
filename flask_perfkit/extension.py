"""The :class:`PerfKit` extension: wiring only."""

from __future__ import annotations

import contextlib
import logging
import typing as t
import warnings
from weakref import WeakKeyDictionary

import sqlalchemy as sa
from flask import Flask
from flask import has_app_context
from flask_caching import Cache
from flask_sqlalchemy import SQLAlchemy

from . import capabilities
from . import config as _config
from ._routing import register_blueprint
from ._state import PerfKitState
from ._state import get_state
from .cache import TieredCache
from .capability import Wiring
from .checks import CheckFunction
from .checks import HealthCheck
from .config import BudgetAction
from .config import PerfKitConfig
from .cursors import usable_key
from .errors import AlreadyRegisteredError
from .errors import CapabilityDisabledError
from .errors import ConfigError
from .errors import ConfigWarning
from .errors import UnknownBind
from .pool import PoolStatus
from .profiler import QueryProfiler

logger = logging.getLogger("flask_perfkit")


class PerfKit:
    """Pooling, profiling, caching, pagination and health checks for a Flask app.

    Register it on an app with :meth:`init_app`, or by passing the app here.

    :param app: Call :meth:`init_app` on this app.
    :param db: The Flask-SQLAlchemy extension whose engines PerfKit configures and watches.
    :param engine: A plain SQLAlchemy engine to configure and watch instead of ``db``.
    :param cache: The Flask-Caching extension whose backend the tiered cache uses. Without
        one, PerfKit builds a backend of its own from the ``CACHE_*`` config (read, never
        written), with ``SimpleCache`` by default, and leaves ``app.extensions["cache"]``
        and the ``{% cache %}`` template tag to the app's own ``Cache``.
    :param authorize: Called with no arguments inside a request; returns whether the request
        may see health details and use admin endpoints. The ``PERFKIT_ADMIN_TOKEN`` bearer
        token is accepted as well.

    Arguments given here are defaults for every app; those given to :meth:`init_app` win.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        db: SQLAlchemy | None = None,
        engine: sa.Engine | None = None,
        cache: Cache | None = None,
        authorize: t.Callable[[], bool] | None = None,
    ) -> None:
        self.db = db
        self.engine = engine
        self.cache_extension = cache
        self._authorize = authorize
        self._states: WeakKeyDictionary[Flask, PerfKitState] = WeakKeyDictionary()
        self._checks: dict[str, HealthCheck] = {}
        self._warned_secret_key = False
        if app is not None:
            self.init_app(app)

    def __repr__(self) -> str:
        if has_app_context():
            try:
                state = get_state()
            except RuntimeError:
                pass
            else:
                prefix = state.config.health.url_prefix
                engines = sorted(state.database.monitors)
                return f"<PerfKit engines={engines} health={prefix!r}>"
        return f"<PerfKit apps={len(self._states)}>"

    def init_app(
        self,
        app: Flask,
        *,
        db: SQLAlchemy | None = None,
        engine: sa.Engine | None = None,
        cache: Cache | None = None,
    ) -> None:
        """Register PerfKit on ``app``.

        Defaults of the ``PERFKIT_*`` keys are written into ``app.config``, the values are
        validated once, pool options are applied to every engine, and the health blueprint
        is mounted at ``PERFKIT_HEALTH_URL_PREFIX``.

        Call it before or after ``db.init_app(app)``. Before is preferred: the pool options
        are then part of each engine from its creation. After, each engine's ``QueuePool``
        is rebuilt with the options, which works for every named ``PERFKIT_POOL_*`` key; only
        non-pool ``create_engine`` arguments in ``PERFKIT_POOL_OPTIONS`` (``connect_args``,
        say) need the "before" order, and :exc:`.ConfigError` says so.

        :param app: The Flask app.
        :param db: The Flask-SQLAlchemy extension; defaults to the one given to the
            constructor.
        :param engine: A plain engine to use instead of ``db``.
        :param cache: The Flask-Caching extension; defaults to the one given to the
            constructor, or a backend of PerfKit's own.
        :raises AlreadyRegisteredError: PerfKit is already registered on this app.
        :raises ConfigError: A ``PERFKIT_*`` value is invalid, or both ``db`` and ``engine``
            were given.
        """
        if "perfkit" in app.extensions:
            raise AlreadyRegisteredError(
                "A 'PerfKit' instance has already been registered on this Flask app. Import"
                " and use that instance instead."
            )
        db = db if db is not None else self.db
        engine = engine if engine is not None else self.engine
        if db is not None and engine is not None:
            raise ConfigError("Pass either db= or engine= to PerfKit, not both.")

        _config.apply_defaults(app.config)
        cfg = _config.resolve(app.config)
        for message in _config.unknown_keys(app.config):
            warnings.warn(message, ConfigWarning, stacklevel=2)
        self._warn_about_exposure(app, cfg)
        state = PerfKitState(cfg, app, capabilities.CAPABILITIES, self._authorize)
        app.extensions["perfkit"] = self
        self._states[app] = state
        for check in self._checks.values():
            state.add_check(check)
        if not cfg.enabled:
            return

        state.db = db
        wiring = Wiring(
            db=db, engine=engine, cache=cache if cache is not None else self.cache_extension
        )
        for capability in state.registry.values():
            capability.init_app(app, wiring)

        from .cli import cli

        app.cli.add_command(cli)
        if cfg.health.url_prefix is not None:
            from .health import blueprint

            register_blueprint(app, blueprint(), url_prefix=cfg.health.url_prefix)

    def _warn_about_exposure(self, app: Flask, cfg: PerfKitConfig) -> None:
        """Log about details shown to anyone, and about cursors without a ``SECRET_KEY``."""
        if (
            cfg.health.show_details is _config.ShowDetails.ALWAYS
            and not app.debug
            and cfg.health.admin_token is None
            and self._authorize is None
        ):
            logger.warning(
                "PERFKIT_HEALTH_SHOW_DETAILS is 'always' outside debug mode: anyone who can"
                " reach %s sees pool numbers, SQL patterns and cache statistics. Use"
                " 'when_authorized' with PERFKIT_ADMIN_TOKEN or authorize= in production.",
                cfg.health.url_prefix,
            )
        if not usable_key(app.config.get("SECRET_KEY")) and not self._warned_secret_key:
            self._warned_secret_key = True
            logger.warning(
                "SECRET_KEY is not set (or is not a string or bytes), and cursor pagination"
                " signs its cursors with it:"
                ' paginate() serves no cursors, answers 400 to one, and strategy="cursor"'
                " raises ConfigError. Set SECRET_KEY to use cursors."
            )

    def state_of(self, app: Flask) -> PerfKitState | None:
        """The PerfKit state of ``app``, or ``None`` if this instance is not registered on it.

        :param app: A Flask app.
        """
        return self._states.get(app)

    @property
    def config(self) -> PerfKitConfig:
        """The resolved configuration of the current app.

        :raises NotInitializedError: The current app has no :class:`PerfKit` registered.
        """
        return get_state().config

    @property
    def cache(self) -> TieredCache:
        """The tiered cache of the current app: ``invalidate``, ``stats``, ``get``, ``set``.

        :raises CapabilityDisabledError: ``PERFKIT_ENABLED`` is false for the current app.
        """
        cache = get_state().cache
        if cache is None:
            raise CapabilityDisabledError("The tiered cache is off: PERFKIT_ENABLED is False.")
        return cache

    def add_check(
        self,
        name: str,
        func: CheckFunction,
        *,
        critical: bool = True,
        component_type: str = "component",
        readiness: bool = True,
        timeout: float | None = None,
    ) -> None:
        """Add a health check to every app this instance is registered on.

        It runs in ``/health/ready`` (unless ``readiness`` is false) and ``/health/full``, in
        parallel with the others and under the same time budget. ``PERFKIT_HEALTH_CHECKS``
        can change ``critical``, ``timeout`` and ``readiness`` from the config.

        :param name: Its key under ``checks``.
        :param func: See :class:`~flask_perfkit.checks.HealthCheck`.
        :param critical: Whether its failure fails readiness (503) or only warns (200).
        :param component_type: The IETF ``componentType``.
        :param readiness: Whether ``/health/ready`` runs it.
        :param timeout: Seconds it may take before it is a ``fail`` with the output
            ``"timeout"``; by default the whole ``PERFKIT_HEALTH_TIMEOUT``.
        """
        check = HealthCheck(name, func, critical, component_type, readiness, timeout)
        self._checks[name] = check
        for state in self._states.values():
            state.add_check(check)

    def health_check(
        self,
        name: str,
        *,
        critical: bool = True,
        component_type: str = "component",
        readiness: bool = True,
        timeout: float | None = None,
    ) -> t.Callable[[CheckFunction], CheckFunction]:
        """A decorator form of :meth:`add_check`.

        .. code-block:: python

            @perfkit.health_check("search", critical=False)
            def search_up():
                return search_client.ping()
        """

        def decorator(func: CheckFunction) -> CheckFunction:
            self.add_check(
                name,
                func,
                critical=critical,
                component_type=component_type,
                readiness=readiness,
                timeout=timeout,
            )
            return func

        return decorator

    @property
    def profiler(self) -> QueryProfiler:
        """The query statistics of the current app."""
        return get_state().profiler

    def query_budget(self, limit: int, *, action: BudgetAction | str | None = None) -> QueryBudget:
        """Allow at most ``limit`` SQL statements inside a block; a context manager or decorator.

        .. code-block:: python

            with perfkit.query_budget(3):
                render_dashboard()

            @perfkit.query_budget(1)
            def test_profile_page(client): ...

        Statements are counted when the block ends. Inside a request they also count toward
        the request's N+1 detection; outside one, the block is checked for N+1 on its own.

        :param limit: The most statements allowed.
        :param action: ``"raise"`` to raise :exc:`.QueryBudgetExceeded` (for tests) or
            ``"log"`` to log a warning (for production). Defaults to
            ``PERFKIT_QUERY_BUDGET_ACTION``.
        :raises ConfigError: ``action`` is not ``"raise"`` or ``"log"``.
        """
        return QueryBudget(limit, action)

    def pool_status(self, bind: str = "default") -> PoolStatus:
        """The pool snapshot of one engine of the current app. Does no I/O.

        :param bind: The bind name; ``"default"`` for the default engine.
        :raises UnknownBind: No engine of that name is watched. It is also a
            :exc:`KeyError`.
        """
        monitor = get_state().database.monitors.get(bind)
        if monitor is None:
            raise UnknownBind(bind)
        return monitor.status()


class QueryBudget(contextlib.ContextDecorator):
    """What :meth:`.PerfKit.query_budget` returns: a context manager and a decorator.

    :param limit: The most statements allowed.
    :param action: ``"raise"``, ``"log"``, or ``None`` for ``PERFKIT_QUERY_BUDGET_ACTION``.
    :raises ConfigError: ``action`` is not ``"raise"`` or ``"log"``.
    """

    def __init__(self, limit: int, action: BudgetAction | str | None) -> None:
        self.limit = limit
        self.action = None if action is None else _budget_action(action)
        self._blocks: list[t.ContextManager[None]] = []

    def __enter__(self) -> None:
        state = get_state()
        block = state.profiler.budget(
            self.limit, self.action or state.config.profiler.query_budget_action
        )
        self._blocks.append(block)
        block.__enter__()

    def __exit__(self, *exc: t.Any) -> None:
        self._blocks.pop().__exit__(*exc)


def _budget_action(action: BudgetAction | str) -> BudgetAction:
    """The :class:`BudgetAction` named by ``action``.

    :raises ConfigError: ``action`` names no action.
    """
    try:
        return BudgetAction(action)
    except ValueError:
        raise ConfigError(
            f"A query budget's action must be 'raise' or 'log', not {action!r}."
        ) from None
