"""Engine pool configuration, pool event counters and pool snapshots.

PerfKit's pool options reach an engine in one of two ways:

- When PerfKit is registered before ``db.init_app``, it adds them to
  ``SQLALCHEMY_ENGINE_OPTIONS`` (and to each bind's options) together with the
  ``flask_perfkit`` engine plugin. The plugin sees the pool class each engine really gets, and
  gives pool keys only to a :class:`~sqlalchemy.pool.QueuePool`.
- When the engine already exists (``db.init_app`` ran first, or a plain engine was given), its
  :class:`~sqlalchemy.pool.QueuePool` is rebuilt with the options, keeping its connection
  function, its dialect and every listener, as :meth:`~sqlalchemy.pool.QueuePool.recreate`
  does.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import typing as t
from collections.abc import Collection
from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import pool as sa_pool
from sqlalchemy.dialects import plugins
from sqlalchemy.engine import CreateEnginePlugin

from ._compat import max_overflow as pool_max_overflow
from ._compat import pre_ping as pool_pre_ping
from ._compat import queue_pool_settings
from ._compat import rebuild_pool
from ._compat import recycle_seconds
from .errors import ConfigError

#: ``create_engine`` pool arguments and the pool constructor argument each one becomes.
POOL_ARGUMENTS: Mapping[str, str] = {
    "pool_size": "pool_size",
    "max_overflow": "max_overflow",
    "pool_timeout": "timeout",
    "pool_recycle": "recycle",
    "pool_pre_ping": "pre_ping",
    "pool_use_lifo": "use_lifo",
    "pool_reset_on_return": "reset_on_return",
    "pool_logging_name": "logging_name",
    "echo_pool": "echo",
}

#: The pool events PerfKit counts for every engine.
POOL_EVENTS: tuple[str, ...] = (
    "connect",
    "first_connect",
    "checkout",
    "checkin",
    "invalidate",
    "soft_invalidate",
    "reset",
    "close",
    "detach",
)

PLUGIN_NAME = "flask_perfkit"
_HOOK_ARGUMENT = "perfkit_engine_hook"


def split_options(
    wanted: Mapping[str, t.Any], explicit: Collection[str]
) -> tuple[dict[str, t.Any], dict[str, t.Any]]:
    """Split PerfKit's ``create_engine`` options into pool and other arguments.

    Options the user set explicitly are dropped: theirs win.

    :param wanted: PerfKit's options, from :meth:`.PoolConfig.engine_options`.
    :param explicit: The option names the user gave for this engine.
    :return: Pool constructor arguments, and the remaining ``create_engine`` arguments.
    """
    pool_kwargs: dict[str, t.Any] = {}
    other: dict[str, t.Any] = {}
    for name, value in wanted.items():
        if name in explicit:
            continue
        if name in POOL_ARGUMENTS:
            pool_kwargs[POOL_ARGUMENTS[name]] = value
        else:
            other[name] = value
    return pool_kwargs, other


def pool_kwargs_for(
    pool_class: type[sa_pool.Pool], pool_kwargs: Mapping[str, t.Any]
) -> dict[str, t.Any]:
    """The subset of ``pool_kwargs`` that ``pool_class`` can take.

    Only a :class:`~sqlalchemy.pool.QueuePool` is sized, timed out and recycled; a
    ``StaticPool``, ``NullPool`` or ``SingletonThreadPool`` gets none of PerfKit's pool options,
    which would be meaningless or harmful there (recycling an in-memory SQLite connection
    loses the database).
    """
    if not issubclass(pool_class, sa_pool.QueuePool):
        return {}
    return dict(pool_kwargs)


class EngineHook:
    """What the ``flask_perfkit`` engine plugin needs to set up one engine.

    Passed to ``create_engine`` under a private keyword argument that the plugin consumes.

    :param monitor_factory: Called with the new engine; registers and returns its monitor.
    :param pool_kwargs: Pool constructor arguments PerfKit wants for this engine.
    :param name: The bind name, shown in ``repr``.
    """

    def __init__(
        self,
        monitor_factory: t.Callable[[sa.Engine], EngineMonitor],
        pool_kwargs: Mapping[str, t.Any],
        name: str,
    ) -> None:
        self.monitor_factory = monitor_factory
        self.pool_kwargs = dict(pool_kwargs)
        self.name = name

    def __repr__(self) -> str:
        return f"<flask-perfkit engine hook for {self.name!r}>"

    def __deepcopy__(self, memo: dict[int, t.Any]) -> EngineHook:
        # A copied app config must still report to the same app's state.
        return self


class PerfKitEnginePlugin(CreateEnginePlugin):
    """The ``flask_perfkit`` SQLAlchemy engine plugin.

    It does nothing unless PerfKit passed it an :class:`EngineHook`, so naming it in a URL by
    hand is harmless.

    :meta private:
    """

    def __init__(self, url: sa.URL, kwargs: dict[str, t.Any]) -> None:
        self.hook: EngineHook | None = kwargs.pop(_HOOK_ARGUMENT, None)

    def update_url(self, url: sa.URL) -> sa.URL:
        return url

    def handle_pool_kwargs(self, pool_cls: type[sa_pool.Pool], pool_args: dict[str, t.Any]) -> None:
        if self.hook is not None:
            pool_args.update(pool_kwargs_for(pool_cls, self.hook.pool_kwargs))

    def engine_created(self, engine: sa.Engine) -> None:
        if self.hook is not None:
            self.hook.monitor_factory(engine)


plugins.register(PLUGIN_NAME, __name__, "PerfKitEnginePlugin")


def add_to_engine_options(
    options: Mapping[str, t.Any],
    wanted: Mapping[str, t.Any],
    explicit: Collection[str],
    hook_factory: t.Callable[[dict[str, t.Any]], EngineHook],
) -> dict[str, t.Any]:
    """Return a copy of one engine's options with PerfKit's options and plugin added.

    :param options: The user's ``create_engine`` options for the engine.
    :param wanted: PerfKit's options.
    :param explicit: Option names the user set, which PerfKit leaves alone.
    :param hook_factory: Makes the :class:`EngineHook`, given the pool arguments.
    """
    pool_kwargs, other = split_options(wanted, explicit)
    result = dict(options)
    for name, value in other.items():
        result.setdefault(name, value)
    result["plugins"] = [*(p for p in result.get("plugins", ()) if p != PLUGIN_NAME), PLUGIN_NAME]
    result[_HOOK_ARGUMENT] = hook_factory(pool_kwargs)
    return result


def apply_to_engine(
    engine: sa.Engine, wanted: Mapping[str, t.Any], explicit: Collection[str], fix: str
) -> None:
    """Apply PerfKit's options to an engine that already exists.

    A ``QueuePool`` is rebuilt with the new settings; its connection function, dialect and
    listeners carry over. Other pool classes are left as they are.

    :param engine: The engine.
    :param wanted: PerfKit's options.
    :param explicit: Option names the user set for this engine, which PerfKit leaves alone.
    :param fix: A sentence saying how to apply options that need a new engine.
    :raises ConfigError: ``PERFKIT_POOL_OPTIONS`` holds a non-pool ``create_engine``
        argument, which cannot be applied to an engine that exists.
    """
    pool_kwargs, other = split_options(wanted, explicit)
    if other:
        names = ", ".join(repr(n) for n in sorted(other))
        raise ConfigError(
            f"PERFKIT_POOL_OPTIONS has {names}, which can only be applied when an engine is"
            f" created, and this engine already exists. {fix}"
        )
    old = engine.pool
    kwargs = pool_kwargs_for(type(old), pool_kwargs)
    if not kwargs or not isinstance(old, sa_pool.QueuePool):
        return
    settings = queue_pool_settings(old)
    if all(settings.get(k) == v for k, v in kwargs.items()):
        return
    settings.update(kwargs)
    engine.pool = rebuild_pool(old, settings)
    old.dispose()


@dataclasses.dataclass(frozen=True)
class PoolStatus:
    """A snapshot of one engine's connection pool.

    A number is ``None`` where the pool class has no such number (a ``NullPool`` keeps no
    connections, so it has no size).
    """

    #: The pool's class name, such as ``"QueuePool"``.
    pool_class: str
    #: Connections the pool keeps open.
    size: int | None
    #: Idle connections in the pool.
    checked_in: int | None
    #: Connections in use.
    checked_out: int
    #: Connections open beyond ``size``, never below 0.
    overflow: int | None
    #: How many connections may be opened beyond ``size``.
    max_overflow: int | None
    #: ``size + max_overflow``: the most connections the pool hands out at once.
    capacity: int | None
    #: ``checked_out / capacity``, from 0 to 1.
    utilization: float | None
    #: Seconds a checkout waits for a free connection.
    timeout: float | None
    #: Seconds after which a connection is replaced, or ``None`` for never.
    recycle: int | None
    #: Whether each checkout tests its connection first.
    pre_ping: bool


def pool_status(engine: sa.Engine, checked_out: int | None = None) -> PoolStatus:
    """Read a :class:`PoolStatus` from an engine's pool, doing no I/O.

    :param engine: The engine.
    :param checked_out: Connections in use, from event counts, for pool classes that do not
        count them themselves.
    """
    pool = engine.pool
    recycle = recycle_seconds(pool)
    pre_ping = pool_pre_ping(pool)
    if isinstance(pool, sa_pool.QueuePool):
        size = pool.size()
        max_overflow = pool_max_overflow(pool)
        out = pool.checkedout()
        capacity = None if max_overflow < 0 or size == 0 else size + max_overflow
        return PoolStatus(
            pool_class=type(pool).__name__,
            size=size,
            checked_in=pool.checkedin(),
            checked_out=out,
            overflow=max(pool.overflow(), 0),
            max_overflow=max_overflow,
            capacity=capacity,
            utilization=round(out / capacity, 4) if capacity else None,
            timeout=pool.timeout(),
            recycle=None if recycle < 0 else recycle,
            pre_ping=pre_ping,
        )
    return PoolStatus(
        pool_class=type(pool).__name__,
        size=1 if isinstance(pool, sa_pool.StaticPool) else None,
        checked_in=None,
        checked_out=max(checked_out or 0, 0),
        overflow=None,
        max_overflow=None,
        capacity=None,
        utilization=None,
        timeout=None,
        recycle=None if recycle < 0 else recycle,
        pre_ping=pre_ping,
    )


class EngineMonitor:
    """Watches one engine: counts its pool events and keeps what its health check needs.

    :param name: The bind name (``"default"`` for Flask-SQLAlchemy's default bind).
    :param engine: The engine.
    :param lazy: The engine has never connected: the counters are added by :meth:`attach`,
        to be called before its first connection attempt (until then no pool event can
        happen).
    """

    def __init__(self, name: str, engine: sa.Engine, *, lazy: bool = False) -> None:
        self.name = name
        self.engine = engine
        self.since = time.time()
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(POOL_EVENTS, 0)
        self._in_use = 0
        #: The server's connection limit, once a health check has read it.
        self.server_max_connections: int | None = None
        self._listeners: list[tuple[str, t.Callable[..., None]]] = []
        self._listeners_lock = threading.Lock()
        self._removed = False
        if not lazy:
            self.attach()

    def __repr__(self) -> str:
        return (
            f"<EngineMonitor {self.name!r} {self.engine.url.render_as_string(hide_password=True)}>"
        )

    def attach(self) -> bool:
        """Add the counters to the engine, once; whether they were added now.

        Nothing is added once :meth:`remove` has been called.
        """
        with self._listeners_lock:
            if self._listeners or self._removed:
                return False
            for name in POOL_EVENTS:
                listener = self._counter(name)
                event.listen(self.engine, name, listener)
                self._listeners.append((name, listener))
            return True

    def _counter(self, name: str) -> t.Callable[..., None]:
        counts = self._counts
        lock = self._lock
        step = {"checkout": 1, "checkin": -1}.get(name, 0)

        def count(*args: t.Any) -> None:
            with lock:
                counts[name] += 1
                self._in_use += step

        count.__name__ = f"perfkit_count_{name}"
        return count

    def remove(self) -> None:
        """Remove this monitor's listeners from the engine."""
        with self._listeners_lock:
            self._removed = True
            for name, listener in self._listeners:
                if event.contains(self.engine, name, listener):
                    event.remove(self.engine, name, listener)
            self._listeners.clear()

    def event_counts(self) -> dict[str, int]:
        """A consistent copy of the pool event counts."""
        with self._lock:
            return dict(self._counts)

    def reset_counts(self) -> None:
        """Set every event count back to 0."""
        with self._lock:
            for name in self._counts:
                self._counts[name] = 0
            self.since = time.time()

    def status(self) -> PoolStatus:
        """The pool's current :class:`PoolStatus`."""
        return pool_status(self.engine, self._in_use)
