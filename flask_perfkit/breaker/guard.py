"""The guard of one engine: its timeouts, its breaker, and the listeners that feed it."""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
import typing as t
import weakref

import sqlalchemy as sa
import sqlalchemy.exc as sa_exc
from flask import has_request_context
from sqlalchemy import event

from .._compat import pool_invoker
from .._compat import pooled_connection
from ..errors import EngineGoneError
from ..errors import database_unavailable
from .checkout import CONNECT_FAILED
from .checkout import UNPROVEN
from .checkout import wrap_creator
from .checkout import wrap_wait
from .state import CircuitBreaker
from .timeouts import DriverTimeouts
from .timeouts import probing

if t.TYPE_CHECKING:
    from ..config import PerfKitConfig

logger = logging.getLogger("flask_perfkit")

# Seconds between two log lines about requests answered 503 for one engine.
_LOG_INTERVAL = 10.0
# Disconnects this close together are one failure: a server restart or a network cut ends
# every pooled connection at once, and only reconnecting tells whether the server is down.
_DISCONNECT_WINDOW = 1.0


class EngineGuard:
    """The timeouts and the circuit breaker of one engine. Made by :func:`guard_engine`.

    :param engine: The engine.
    :param name: Its bind name.
    :param config: The resolved configuration of the first app that registered it.
    :param fresh: The engine has never connected: the listeners that matter only once it
        connects are added before its first connection attempt.
    """

    def __init__(
        self, engine: sa.Engine, name: str, config: PerfKitConfig, *, fresh: bool = False
    ) -> None:
        self.engine_ref = weakref.ref(engine)
        self.name = name
        #: The connect and statement timeouts of its new connections.
        database = config.database
        self.timeouts = DriverTimeouts(database.connect_timeout, database.statement_timeout)
        self.breaker = CircuitBreaker(name, database.breaker_failures, database.breaker_seconds)
        self._before_first: list[t.Callable[[], None]] = []
        self._before_first_lock = threading.Lock()
        self._last_log = -_LOG_INTERVAL
        self._last_disconnect = -_DISCONNECT_WINDOW
        self._dbapi_error: type[BaseException] = getattr(
            getattr(engine.dialect, "loaded_dbapi", None), "Error", Exception
        )
        # A user's own do_connect listeners see the timeouts, so they are added now; the
        # others matter only once the engine connects, and are added before its first attempt.
        self.timeouts.listen(engine)
        if fresh:
            self._before_first.append(self._listen_connected)
        else:
            self._listen_connected()
        self.wrap_pool(engine.pool)

    def __repr__(self) -> str:
        return f"<EngineGuard {self.name!r} breaker={self.breaker.state.value}>"

    @property
    def connect_timeout(self) -> float | None:
        """The connect timeout in seconds, or ``None``."""
        return self.timeouts.connect_timeout

    @property
    def statement_timeout(self) -> float | None:
        """The statement timeout in seconds, or ``None``."""
        return self.timeouts.statement_timeout

    def _disposed(self, engine: sa.Engine) -> None:
        self.wrap_pool(engine.pool)

    def _listen_connected(self) -> None:
        engine = self.engine_ref()
        if engine is None:
            return
        event.listen(engine, "handle_error", self._handle_error)
        event.listen(engine, "after_cursor_execute", self._statement_answered)
        event.listen(engine, "engine_disposed", self._disposed)
        # A pool made by a dispose() before now keeps the connect function but not the wait.
        wrap_wait(engine.pool, self.breaker, self)

    def before_first_attempt(self, callback: t.Callable[[], None]) -> None:
        """Call ``callback`` once, before the engine's next connection attempt.

        Attempts made meanwhile in other threads wait until it has returned.
        """
        with self._before_first_lock:
            self._before_first.append(callback)

    def run_before_first(self) -> None:
        """Call the callbacks of :meth:`before_first_attempt`, if any are waiting."""
        if not self._before_first:
            return
        with self._before_first_lock:
            for callback in self._before_first:
                callback()
            self._before_first.clear()

    def wrap_pool(self, pool: sa.pool.Pool) -> None:
        """Put the breaker in front of ``pool``'s connection function and its wait, once.

        Pools made later by ``dispose()`` or ``recreate()`` keep the wrapped function; the
        wait is wrapped again on ``engine.dispose()``.
        """
        wrap_wait(pool, self.breaker, self)
        wrap_creator(pool, self, self.breaker, self._dbapi_error, self.run_before_first)

    def probe_connect(self, seconds: float) -> t.Any:
        """Open a DBAPI connection outside the pool, with a connect timeout of ``seconds``.

        It passes through the breaker (it may be the half-open trial, and its failures
        count), but a refusal is not counted as a rejected checkout.

        :raises DatabaseCircuitOpen: The breaker is open.
        :raises EngineGoneError: The engine was garbage-collected.
        """
        engine = self.engine_ref()
        if engine is None:
            raise EngineGoneError(f"The engine of database {self.name!r} no longer exists.")
        with probing(seconds):
            return pool_invoker(engine.pool)(None)

    def _statement_answered(
        self,
        connection: sa.Connection,
        cursor: t.Any,
        statement: str,
        parameters: t.Any,
        context: t.Any,
        executemany: bool,
    ) -> None:
        if not self.breaker.consecutive_failures:
            return
        if connection.connection.info.pop(UNPROVEN, False):
            self.breaker.record_success()

    def retry_after(self) -> int:
        """Seconds for ``Retry-After``: until the breaker's trial, at least 1."""
        return max(1, math.ceil(self.breaker.retry_in()))

    def _count_disconnect(self, context: sa.engine.ExceptionContext, now: float) -> None:
        # A connection lost before it answered anything failed like a connect did; the
        # window is for pooled connections that a restart ends together.
        fresh = False
        proxied = pooled_connection(context.connection)
        with contextlib.suppress(Exception):
            fresh = bool(proxied.info.pop(UNPROVEN, False))  # type: ignore[union-attr]
        if fresh or now - self._last_disconnect >= _DISCONNECT_WINDOW:
            self._last_disconnect = now
            self.breaker.record_failure()

    def _handle_error(self, context: sa.engine.ExceptionContext) -> BaseException | None:
        if context.is_pre_ping:
            return None
        connect_failed = getattr(context.original_exception, CONNECT_FAILED, False)
        if not (connect_failed or context.is_disconnect):
            return None
        now = time.monotonic()
        if not connect_failed:
            self._count_disconnect(context, now)
        error = context.sqlalchemy_exception
        if not has_request_context() or not isinstance(error, sa_exc.DBAPIError):
            return None
        if now - self._last_log >= _LOG_INTERVAL:
            self._last_log = now
            logger.warning(
                "Database %r is unavailable (%s); answering 503.",
                self.name,
                type(context.original_exception).__name__,
            )
        return database_unavailable(error, self.retry_after())


_guards: weakref.WeakKeyDictionary[sa.Engine, EngineGuard] = weakref.WeakKeyDictionary()
_guards_lock = threading.Lock()


def guard_engine(
    engine: sa.Engine, name: str, config: PerfKitConfig, *, fresh: bool = False
) -> EngineGuard:
    """The :class:`EngineGuard` of ``engine``, made on first use.

    An engine shared by several apps has one guard, set up from the first app's config.
    ``fresh`` is passed to :class:`EngineGuard`.
    """
    with _guards_lock:
        guard = _guards.get(engine)
        if guard is None:
            guard = _guards[engine] = EngineGuard(engine, name, config, fresh=fresh)
        else:
            guard.wrap_pool(engine.pool)
        return guard


def find_guard(engine: sa.Engine) -> EngineGuard | None:
    """The guard of ``engine``, if PerfKit watches it."""
    return _guards.get(engine)
