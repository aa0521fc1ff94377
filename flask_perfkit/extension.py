"""The :class:`PerfKit` extension: wiring only."""

from __future__ import annotations

import contextlib
import logging
import typing as t
import warnings
from weakref import WeakKeyDictionary

import sqlalchemy as sa
import sqlalchemy.exc as sa_exc
from flask import Flask
from flask import current_app
from flask import has_app_context
from flask_caching import Cache
from flask_sqlalchemy import SQLAlchemy

from . import config as _config
from . import pool as _pool
from ._state import PerfKitState
from ._state import get_state
from .cache import TieredCache
from .checks import CheckFunction
from .checks import HealthCheck
from .config import BudgetAction
from .cursors import usable_key
from .errors import ConfigError
from .errors import ConfigWarning
from .errors import DatabaseUnavailable
from .metrics import multiprocess_dir as metrics_multiprocess_dir
from .pool import PoolStatus
from .profiler import QueryProfiler

logger = logging.getLogger("flask_perfkit")

_ORDER_FIX = (
    "Call perfkit.init_app(app, db=db) before db.init_app(app), or pass this option in"
    " SQLALCHEMY_ENGINE_OPTIONS (or the bind's options) instead."
)
_ENGINE_FIX = "Pass this option to create_engine() yourself."


def _bind_name(key: str | None) -> str:
    return "default" if key is None else key


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
                return f"<PerfKit engines={sorted(state.monitors)} health={prefix!r}>"
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
        :raises RuntimeError: PerfKit is already registered on this app.
        :raises ConfigError: A ``PERFKIT_*`` value is invalid, or both ``db`` and ``engine``
            were given.
        """
        if "perfkit" in app.extensions:
            raise RuntimeError(
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
        state = PerfKitState(cfg, app)
        app.extensions["perfkit"] = self
        self._states[app] = state
        for check in self._checks.values():
            state.add_check(check)
        if not cfg.enabled:
            return

        if db is not None:
            state.db = db
            self._wire_db(app, db, state)
        elif engine is not None:
            _pool.apply_to_engine(engine, cfg.pool.engine_options(), (), _ENGINE_FIX)
            state.add_monitor("default", engine)

        self._wire_cache(app, cache if cache is not None else self.cache_extension, state)

        # First, so statements run by other before_request functions are collected too.
        app.before_request_funcs.setdefault(None, []).insert(0, state.profiler.start_request)
        app.teardown_request(state.profiler.end_request)

        if metrics_multiprocess_dir():
            # Each worker writes its snapshot for the process that Prometheus scrapes.
            app.before_request(state.metrics_writer.start)

        if sa_exc.TimeoutError not in app.error_handler_spec[None][None]:
            app.register_error_handler(sa_exc.TimeoutError, _pool_timeout_handler)

        from .cli import cli

        app.cli.add_command(cli)

        if cfg.health.url_prefix is not None:
            from . import cache_views  # noqa: F401  (adds its routes to the blueprint)
            from . import profiling_views  # noqa: F401
            from ._routing import register_blueprint
            from .health import bp

            register_blueprint(app, bp, url_prefix=cfg.health.url_prefix)

    def _wire_db(self, app: Flask, db: SQLAlchemy, state: PerfKitState) -> None:
        wanted = state.config.pool.engine_options()
        # Engine options given to SQLAlchemy() are the user's choice too.
        constructor_options: dict[str, t.Any] = getattr(db, "_engine_options", {})

        if app.extensions.get("sqlalchemy") is db:
            with app.app_context():
                engines = dict(db.engines)
            for key, engine in engines.items():
                explicit = {*constructor_options, *self._user_options(app, key)}
                _pool.apply_to_engine(engine, wanted, explicit, _ORDER_FIX)
                state.add_monitor(_bind_name(key), engine)
            return

        def hook(name: str) -> t.Callable[[dict[str, t.Any]], _pool.EngineHook]:
            return lambda pool_kwargs: _pool.EngineHook(
                lambda engine: state.add_monitor(name, engine, fresh=True), pool_kwargs, name
            )

        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = _pool.add_to_engine_options(
            options, wanted, {*constructor_options, *options}, hook("default")
        )
        binds: dict[str | None, t.Any] = dict(app.config.get("SQLALCHEMY_BINDS") or {})
        for key, value in binds.items():
            bind_options = dict(value) if isinstance(value, t.Mapping) else {"url": value}
            binds[key] = _pool.add_to_engine_options(
                bind_options, wanted, {*constructor_options, *bind_options}, hook(_bind_name(key))
            )
        if binds:
            app.config["SQLALCHEMY_BINDS"] = binds

    @staticmethod
    def _wire_cache(app: Flask, cache: Cache | None, state: PerfKitState) -> None:
        from .cache import TieredCache
        from .cache.backend import backend_getter
        from .cache_views import cache_check

        backend = backend_getter(app, cache, state.config.cache.socket_timeout)
        state.cache = TieredCache(state.config, backend, app)
        state.set_cache_check(
            HealthCheck(
                "cache", cache_check(state.cache), critical=False, component_type="datastore"
            )
        )

    @property
    def cache(self) -> TieredCache:
        """The tiered cache of the current app: ``invalidate``, ``stats``, ``get``, ``set``."""
        cache = get_state().cache
        if cache is None:
            raise RuntimeError("The tiered cache is off: PERFKIT_ENABLED is False.")
        return cache

    @staticmethod
    def _user_options(app: Flask, key: str | None) -> t.Collection[str]:
        if key is None:
            return set(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        value = (app.config.get("SQLALCHEMY_BINDS") or {}).get(key)
        return set(value) if isinstance(value, t.Mapping) else set()

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
        """
        return QueryBudget(limit, action)

    def pool_status(self, bind: str = "default") -> PoolStatus:
        """The pool snapshot of one engine of the current app. Does no I/O.

        :param bind: The bind name; ``"default"`` for the default engine.
        :raises KeyError: No engine of that name is watched.
        """
        return get_state().monitors[bind].status()


class QueryBudget(contextlib.ContextDecorator):
    """What :meth:`PerfKit.query_budget` returns: a context manager and a decorator."""

    def __init__(self, limit: int, action: BudgetAction | str | None) -> None:
        self.limit = limit
        self.action = None if action is None else BudgetAction(action)
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


def _pool_timeout_handler(error: sa_exc.TimeoutError) -> t.Any:
    """Answer 503 ``database_unavailable`` when a request waited out the pool timeout, and
    count it.

    An app's own handler for a SQLAlchemy base class of the error (such as
    :exc:`~sqlalchemy.exc.SQLAlchemyError`) answers instead, as it would without PerfKit.
    """
    get_state().count_checkout_timeout()
    app = t.cast(Flask, current_app._get_current_object())  # type: ignore[attr-defined]
    handlers = app.error_handler_spec[None][None]
    for cls in type(error).__mro__[1:]:
        if not issubclass(cls, sa_exc.SQLAlchemyError):
            break
        handler = handlers.get(cls)
        if handler is not None:
            return app.ensure_sync(handler)(error)
    current_app.logger.warning("Database pool exhausted: %s", error)
    return DatabaseUnavailable("The database is busy. Try again shortly.").get_response()
