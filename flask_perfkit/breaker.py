"""Database outages: connection timeouts and a circuit breaker for each engine.

Every engine PerfKit watches gets an :class:`EngineGuard`:

- A ``do_connect`` listener gives each new connection the driver's connect timeout
  (``PERFKIT_DB_CONNECT_TIMEOUT``) and, when set, a statement timeout
  (``PERFKIT_DB_STATEMENT_TIMEOUT``). A value the user set in ``connect_args`` or the URL wins.
- The pool's connection function is wrapped by a :class:`CircuitBreaker`. After
  ``PERFKIT_DB_BREAKER_FAILURES`` consecutive connection-level failures it opens for
  ``PERFKIT_DB_BREAKER_SECONDS``: a checkout that needs a new connection then fails at once
  with :exc:`.DatabaseCircuitOpen`, without touching the network. After the open period one
  trial connection (half-open) decides whether it closes or opens again.
- A ``handle_error`` listener counts disconnects toward the breaker and, inside a request,
  raises connectivity errors as :exc:`.DatabaseUnavailable` (HTTP 503), which is also an
  instance of the SQLAlchemy error class.

- A ``QueuePool`` checkout waiting for a free connection fails as soon as the breaker opens,
  instead of waiting out ``pool_timeout`` for places held by connection attempts that fail.

A healthy checkout of a pooled connection runs SQLAlchemy's code alone: only opening a
connection, waiting for one, and failing pass through the breaker.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import logging
import math
import os
import socket
import threading
import time
import typing as t
import weakref

import sqlalchemy as sa
import sqlalchemy.exc as sa_exc
from flask import has_request_context
from sqlalchemy import event
from sqlalchemy.util import queue as sa_queue

from .errors import DatabaseCircuitOpen
from .errors import database_unavailable

if t.TYPE_CHECKING:
    from .config import PerfKitConfig

logger = logging.getLogger("flask_perfkit")

# Set on a DBAPI exception raised while opening a connection.
_CONNECT_FAILED = "_perfkit_connect_failed"
# In the ``info`` of a connection opened while failures were counted, until it answers.
_UNPROVEN = "perfkit_unproven"
# Seconds between two log lines about requests answered 503 for one engine.
_LOG_INTERVAL = 10.0
# Disconnects this close together are one failure: a server restart or a network cut ends
# every pooled connection at once, and only reconnecting tells whether the server is down.
_DISCONNECT_WINDOW = 1.0
# The largest values the servers accept: PostgreSQL's int milliseconds, PyMySQL's seconds.
_MAX_MS = 2**31 - 1
_MAX_PYMYSQL_SECONDS = 31536000
# How often a checkout waiting for a free connection looks whether the breaker opened.
_WAIT_SLICE = 0.1
_POSTGRES_DRIVERS = frozenset({"psycopg", "psycopg2", "psycopg2cffi"})
_MYSQL_DRIVERS = frozenset({"pymysql", "mysqldb"})
# libpq's environment variables for the arguments PerfKit adds: set there, they are the user's.
_LIBPQ_ENVIRONMENT = {"connect_timeout": "PGCONNECT_TIMEOUT", "options": "PGOPTIONS"}
_ABSENT = object()

_local = threading.local()


class BreakerState(enum.StrEnum):
    """The state of a :class:`CircuitBreaker`."""

    #: Connections are opened as usual.
    CLOSED = "closed"
    #: Checkouts that need a new connection fail at once.
    OPEN = "open"
    #: One trial connection is under way; other checkouts that need one fail at once.
    HALF_OPEN = "half_open"


#: Called with the bind name, the old state and the new state.
ChangeListener = t.Callable[[str, BreakerState, BreakerState], None]


class CircuitBreaker:
    """Counts consecutive connection-level failures of one engine and stops connecting.

    Thread-safe. While closed, :meth:`before_attempt` and :meth:`record_success` take no lock.

    :param name: The bind name, used in messages.
    :param failures: Consecutive failures that open it; 0 turns it off.
    :param seconds: How long it stays open before one trial connection.
    """

    def __init__(self, name: str, failures: int, seconds: float) -> None:
        self.name = name
        self.threshold = failures
        self.seconds = seconds
        #: The current state. Read it freely; it changes under the lock.
        self.state = BreakerState.CLOSED
        #: Times it opened.
        self.opens = 0
        #: Connection attempts it refused.
        self.rejected = 0
        #: When the state last changed, as a Unix time, or ``None``.
        self.changed_at: float | None = None
        self._failures = 0
        self._opened_at = 0.0
        self._trial_started = 0.0
        self._lock = threading.Lock()
        self._listeners: list[weakref.ref[ChangeListener]] = []

    def __repr__(self) -> str:
        return f"<CircuitBreaker {self.name!r} {self.state.value}>"

    def add_listener(self, listener: ChangeListener) -> None:
        """Call ``listener`` on every change of state, in the thread that caused it.

        The listener is held weakly, as the breaker of an engine shared by apps made by a
        factory outlives them: it is called while the caller keeps a reference to it.
        """
        with self._lock:
            self._listeners = [ref for ref in self._listeners if ref() is not None]
            if all(ref() is not listener for ref in self._listeners):
                self._listeners.append(_weak(listener))

    def remove_listener(self, listener: ChangeListener) -> None:
        """Stop calling ``listener``."""
        with self._lock:
            self._listeners = [
                ref for ref in self._listeners if ref() is not None and ref() is not listener
            ]

    def listener_count(self) -> int:
        """The listeners still alive."""
        with self._lock:
            return sum(ref() is not None for ref in self._listeners)

    def before_attempt(self, *, count: bool = True) -> None:
        """Let a connection attempt through, or raise :exc:`.DatabaseCircuitOpen`.

        When the open period is over, the first caller becomes the half-open trial. A trial
        that has not ended after another open period is taken as lost, and the next caller
        becomes the trial.

        :param count: Whether a refusal counts in :attr:`rejected`.
        """
        if self.state is BreakerState.CLOSED:
            return
        with self._lock:
            now = time.monotonic()
            old = t.cast(BreakerState, self.state)
            if old is BreakerState.OPEN and now - self._opened_at >= self.seconds:
                self.state = BreakerState.HALF_OPEN
                self._trial_started = now
                self.changed_at = time.time()
            elif old is BreakerState.HALF_OPEN and now - self._trial_started >= self.seconds:
                self._trial_started = now
                return
            elif old is not BreakerState.CLOSED:
                if count:
                    self.rejected += 1
                raise DatabaseCircuitOpen(self.name, max(1, math.ceil(self._retry_in(now))))
            else:
                return
        self._notify(old, BreakerState.HALF_OPEN)

    def reject(self) -> DatabaseCircuitOpen:
        """Count a checkout refused while the breaker is not closed, and return its error."""
        with self._lock:
            self.rejected += 1
            retry = self._retry_in(time.monotonic())
        return DatabaseCircuitOpen(self.name, max(1, math.ceil(retry)))

    def record_success(self) -> None:
        """A new connection answered a statement: close the breaker and reset the count.

        Opening a connection is not enough: a server or proxy that completes the handshake
        and then drops every connection (PgBouncer whose database is down) fails each one
        right after opening it.
        """
        if self.state is BreakerState.CLOSED and self._failures == 0:
            return
        with self._lock:
            self._failures = 0
            old = self.state
            if old is BreakerState.CLOSED:
                return
            self.state = BreakerState.CLOSED
            self.changed_at = time.time()
        self._notify(old, BreakerState.CLOSED)

    def record_failure(self) -> None:
        """A connection could not be opened, or was lost: count it, and open if due."""
        if self.threshold == 0:
            return
        with self._lock:
            self._failures += 1
            old = self.state
            due = old is BreakerState.CLOSED and self._failures >= self.threshold
            if not (due or old is BreakerState.HALF_OPEN):
                return
            self.state = BreakerState.OPEN
            self._opened_at = time.monotonic()
            self.changed_at = time.time()
            self.opens += 1
        self._notify(old, BreakerState.OPEN)

    def _retry_in(self, now: float) -> float:
        if self.state is BreakerState.OPEN:
            return max(self.seconds - (now - self._opened_at), 0.0)
        if self.state is BreakerState.HALF_OPEN:
            return max(self.seconds - (now - self._trial_started), 0.0)
        return 0.0

    def retry_in(self) -> float:
        """Seconds until a trial connection may be attempted; 0 when closed."""
        return self._retry_in(time.monotonic())

    def status(self) -> dict[str, t.Any]:
        """The state and counters, as JSON data."""
        with self._lock:
            return {
                "state": self.state.value,
                "consecutive_failures": self._failures,
                "opens": self.opens,
                "rejected": self.rejected,
                "retry_in": round(self._retry_in(time.monotonic()), 3),
                "failures_to_open": self.threshold,
                "open_seconds": self.seconds,
            }

    def _notify(self, old: BreakerState, new: BreakerState) -> None:
        log = logger.warning if new is BreakerState.OPEN else logger.info
        log(
            "Circuit breaker of database %r is now %s (was %s).",
            self.name,
            new.value,
            old.value,
        )
        for ref in list(self._listeners):
            listener = ref()
            if listener is None:
                continue
            try:
                listener(self.name, old, new)
            except Exception:
                logger.exception("A circuit breaker listener of database %r failed.", self.name)


def _weak(listener: ChangeListener) -> weakref.ref[ChangeListener]:
    if hasattr(listener, "__self__") and hasattr(listener, "__func__"):
        return weakref.WeakMethod(listener)
    return weakref.ref(listener)


def _libpq_version(dialect: sa.Dialect) -> int:
    dbapi = getattr(dialect, "loaded_dbapi", None)
    try:
        if dialect.driver == "psycopg":
            return int(dbapi.pq.version())  # type: ignore[union-attr]
        if dialect.driver in {"psycopg2", "psycopg2cffi"}:
            return int(dbapi.extensions.libpq_version())  # type: ignore[union-attr]
    except Exception:
        pass
    return 0


def connect_timeout_params(dialect: sa.Dialect, seconds: float) -> dict[str, t.Any]:
    """The driver's connect-timeout arguments for ``seconds``, or ``{}`` for unknown drivers.

    libpq (psycopg, psycopg2) takes whole seconds and treats anything below 2 as 2. From
    libpq 12 on, ``tcp_user_timeout`` is set to the same time as well: a connection whose sent
    data goes unacknowledged that long (a host that vanished or was black-holed) is closed by
    the kernel instead of waiting for TCP to give up after about 15 minutes. It never limits
    how long a statement may run.
    """
    if dialect.name == "postgresql" and dialect.driver in _POSTGRES_DRIVERS:
        whole = max(2, math.ceil(seconds))
        params: dict[str, t.Any] = {"connect_timeout": whole}
        if _libpq_version(dialect) >= 120000:
            params["tcp_user_timeout"] = min(whole * 1000, _MAX_MS)
        return params
    if dialect.name in {"mysql", "mariadb"} and dialect.driver == "pymysql":
        # PyMySQL's connect_timeout covers the TCP connect only; the handshake reads wait
        # read_timeout, which PerfKit lifts again once connected (see EngineGuard).
        bounded = min(seconds, _MAX_PYMYSQL_SECONDS)
        return {"connect_timeout": bounded, "read_timeout": bounded}
    if dialect.name in {"mysql", "mariadb"} and dialect.driver == "mysqldb":
        return {"connect_timeout": max(1, math.ceil(seconds))}
    if dialect.name == "sqlite" and dialect.driver == "pysqlite":
        return {"timeout": seconds}
    return {}


def _mentions(value: t.Any, *names: str) -> bool:
    return isinstance(value, str) and any(name in value for name in names)


class _BreakerWait(threading.Condition):
    """The wait of a ``QueuePool``'s queue, cut into slices that look at the breaker.

    :param lock: The queue's mutex.
    :param breaker: The breaker of the pool's engine.
    """

    def __init__(self, lock: t.Any, breaker: CircuitBreaker) -> None:
        super().__init__(lock)
        self.breaker = breaker

    def wait(self, timeout: float | None = None) -> bool:
        breaker = self.breaker
        if breaker.threshold == 0:
            return super().wait(timeout)
        if breaker.state is not BreakerState.CLOSED:
            raise breaker.reject()
        return super().wait(_WAIT_SLICE if timeout is None else min(timeout, _WAIT_SLICE))


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
        self.connect_timeout = config.database.connect_timeout
        self.statement_timeout = config.database.statement_timeout
        self.breaker = CircuitBreaker(
            name, config.database.breaker_failures, config.database.breaker_seconds
        )
        self._user_params: dict[str, t.Any] | None = None
        self._before_first: list[t.Callable[[], None]] = []
        self._before_first_lock = threading.Lock()
        self._last_log = -_LOG_INTERVAL
        self._last_disconnect = -_DISCONNECT_WINDOW
        dialect = engine.dialect
        self._dbapi_error: type[BaseException] = getattr(
            getattr(dialect, "loaded_dbapi", None), "Error", Exception
        )
        # A user's own do_connect listeners see the timeouts, so this one is added now; the
        # others matter only once the engine connects, and are added before its first attempt.
        event.listen(engine, "do_connect", self._do_connect)
        if fresh:
            self._before_first.append(self._listen_connected)
        else:
            self._listen_connected()
        if self.statement_timeout is not None and dialect.name in {"mysql", "mariadb"}:
            event.listen(engine, "connect", self._set_mysql_statement_timeout)
        if (
            self.connect_timeout is not None
            and dialect.name in {"mysql", "mariadb"}
            and dialect.driver == "pymysql"
        ):
            event.listen(engine, "connect", self._lift_pymysql_handshake_timeout)
            if hasattr(socket, "TCP_USER_TIMEOUT"):
                event.listen(engine, "connect", self._set_pymysql_tcp_user_timeout)
        self.wrap_pool(engine.pool)

    def __repr__(self) -> str:
        return f"<EngineGuard {self.name!r} breaker={self.breaker.state.value}>"

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
        self._wrap_wait(engine.pool)

    def before_first_attempt(self, callback: t.Callable[[], None]) -> None:
        """Call ``callback`` once, before the engine's next connection attempt.

        Attempts made meanwhile in other threads wait until it has returned.
        """
        with self._before_first_lock:
            self._before_first.append(callback)

    def _run_before_first(self) -> None:
        with self._before_first_lock:
            for callback in self._before_first:
                callback()
            self._before_first.clear()

    def wrap_pool(self, pool: sa.pool.Pool) -> None:
        """Put the breaker in front of ``pool``'s connection function and its wait, once.

        Pools made later by ``dispose()`` or ``recreate()`` keep the wrapped function; the
        wait is wrapped again on ``engine.dispose()``.
        """
        self._wrap_wait(pool)
        if getattr(pool._creator, "perfkit_guard", None) is self:
            return
        invoke = pool._invoke_creator
        breaker = self.breaker
        dbapi_error = self._dbapi_error

        def connect(connection_record: t.Any) -> t.Any:
            if self._before_first:
                self._run_before_first()
            breaker.before_attempt(count=getattr(_local, "probe_timeout", None) is None)
            try:
                connection = invoke(connection_record)
            except dbapi_error as exc:
                with contextlib.suppress(AttributeError, TypeError):
                    setattr(exc, _CONNECT_FAILED, True)
                breaker.record_failure()
                raise
            if (
                breaker._failures or breaker.state is not BreakerState.CLOSED
            ) and connection_record is not None:
                # Its first statement answered decides (see record_success).
                connection_record.info[_UNPROVEN] = True
            return connection

        connect.perfkit_guard = self  # type: ignore[attr-defined]
        pool._creator = connect  # type: ignore[assignment]

    def _wrap_wait(self, pool: sa.pool.Pool) -> None:
        """Let a checkout waiting for a free ``QueuePool`` connection fail once the breaker opens.

        SQLAlchemy wakes a waiting checkout only when a connection is returned, not when a
        connection attempt fails and frees its place. While the database is unreachable every
        place is taken by an attempt that will fail, so a waiting checkout would wait the whole
        ``pool_timeout``. Waiting checkouts look at the breaker every few milliseconds
        instead, and one made while the breaker is open fails at once. Only the queue's wait
        is replaced: a checkout that finds an idle connection or room to open one runs
        SQLAlchemy's own code, with no extra step.
        """
        waiting = getattr(pool, "_pool", None)
        if type(waiting) is not sa_queue.Queue:
            return
        if getattr(waiting.get, "perfkit_guard", None) is self:
            return
        waiting.not_empty = _BreakerWait(waiting.mutex, self.breaker)
        get = functools.partial(sa_queue.Queue.get, waiting)
        get.perfkit_guard = self  # type: ignore[attr-defined]
        waiting.get = get  # type: ignore[method-assign]

    def _wanted_params(self, dialect: sa.Dialect, user: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
        """The connect arguments PerfKit adds: those the user did not set.

        On libpq, a ``PGCONNECT_TIMEOUT`` or ``PGOPTIONS`` environment variable is the user's
        value too: an argument would override it.
        """
        wanted: dict[str, t.Any] = {}
        dsn = user.get("dsn")
        libpq = dialect.name == "postgresql" and dialect.driver in _POSTGRES_DRIVERS
        environment: dict[str, str] = {}
        if libpq:
            for key, variable in _LIBPQ_ENVIRONMENT.items():
                value = os.environ.get(variable)
                if value is not None and value.strip():
                    environment[key] = value
        if self.connect_timeout is not None:
            for key, value in connect_timeout_params(dialect, self.connect_timeout).items():
                if key not in user and key not in environment and not _mentions(dsn, key):
                    wanted[key] = value
        if self.statement_timeout is not None and libpq:
            # Given as an argument, options replace PGOPTIONS: keep what it holds.
            options = user["options"] if "options" in user else environment.get("options")
            options = options or ""
            if not _mentions(options, "statement_timeout") and not _mentions(
                dsn, "statement_timeout"
            ):
                ms = min(max(1, round(self.statement_timeout * 1000)), _MAX_MS)
                wanted["options"] = f"{options} -c statement_timeout={ms}".strip()
        return wanted

    def _do_connect(
        self, dialect: sa.Dialect, record: t.Any, cargs: list[t.Any], cparams: dict[str, t.Any]
    ) -> None:
        if self._user_params is None:
            # Before PerfKit adds anything: the arguments from the URL, connect_args and
            # earlier listeners. (SQLAlchemy 2.0 passes the same dict to every connect.)
            self._user_params = dict(cparams)
        user = self._user_params
        wanted = self._wanted_params(dialect, user)
        cparams.update(wanted)
        probe_timeout = getattr(_local, "probe_timeout", None)
        if probe_timeout is None or record is not None:
            return
        restore: dict[str, t.Any] = {}
        for key, value in connect_timeout_params(dialect, probe_timeout).items():
            restore[key] = user.get(key, wanted.get(key, _ABSENT))
            cparams[key] = value
        _local.restore = (cparams, restore)

    def probe_connect(self, seconds: float) -> t.Any:
        """Open a DBAPI connection outside the pool, with a connect timeout of ``seconds``.

        It passes through the breaker (it may be the half-open trial, and its failures
        count), but a refusal is not counted as a rejected checkout.

        :raises DatabaseCircuitOpen: The breaker is open.
        """
        engine = self.engine_ref()
        if engine is None:
            raise RuntimeError(f"The engine of database {self.name!r} no longer exists.")
        _local.probe_timeout = seconds
        _local.restore = None
        try:
            return engine.pool._invoke_creator(None)  # type: ignore[arg-type]
        finally:
            restore = _local.restore
            _local.probe_timeout = None
            _local.restore = None
            if restore is not None:
                cparams, values = restore
                for key, value in values.items():
                    if value is _ABSENT:
                        cparams.pop(key, None)
                    else:
                        cparams[key] = value

    def _lift_pymysql_handshake_timeout(self, dbapi_connection: t.Any, record: t.Any) -> None:
        """Take off the ``read_timeout`` PerfKit gave PyMySQL for the handshake, so it never
        limits the app's statements; a ``read_timeout`` of the user's stays."""
        if "read_timeout" in (self._user_params or {}):
            return
        if hasattr(dbapi_connection, "_read_timeout"):
            dbapi_connection._read_timeout = None

    def _set_pymysql_tcp_user_timeout(self, dbapi_connection: t.Any, record: t.Any) -> None:
        """Give a new PyMySQL connection's socket ``TCP_USER_TIMEOUT`` (Linux), as libpq's
        ``tcp_user_timeout`` does: a connection whose sent data goes unacknowledged for the
        connect timeout (a black-holed host) is closed by the kernel instead of holding its
        request until TCP gives up, about 15 minutes. It never limits how long a statement runs.
        """
        sock = getattr(dbapi_connection, "_sock", None)
        if not isinstance(sock, socket.socket) or sock.family not in {
            socket.AF_INET,
            socket.AF_INET6,
        }:
            return
        ms = min(max(1, math.ceil(t.cast(float, self.connect_timeout) * 1000)), _MAX_MS)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, ms)

    def _set_mysql_statement_timeout(self, dbapi_connection: t.Any, record: t.Any) -> None:
        user = self._user_params or {}
        command = user.get("init_command")
        if self.statement_timeout is None or _mentions(
            command, "max_statement_time", "max_execution_time"
        ):
            return
        engine = self.engine_ref()
        mariadb = engine is not None and getattr(engine.dialect, "is_mariadb", False)
        if mariadb:
            seconds = min(self.statement_timeout, _MAX_PYMYSQL_SECONDS)
            sql = f"SET SESSION max_statement_time = {seconds:.3f}"
        else:
            ms = min(max(1, round(self.statement_timeout * 1000)), 2**32 - 1)
            sql = f"SET SESSION max_execution_time = {ms}"
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(sql)
        finally:
            cursor.close()

    def _statement_answered(
        self,
        connection: sa.Connection,
        cursor: t.Any,
        statement: str,
        parameters: t.Any,
        context: t.Any,
        executemany: bool,
    ) -> None:
        if not self.breaker._failures:
            return
        if connection.connection.info.pop(_UNPROVEN, False):
            self.breaker.record_success()

    def retry_after(self) -> int:
        """Seconds for ``Retry-After``: until the breaker's trial, at least 1."""
        return max(1, math.ceil(self.breaker.retry_in()))

    def _handle_error(self, context: sa.engine.ExceptionContext) -> BaseException | None:
        if context.is_pre_ping:
            return None
        connect_failed = getattr(context.original_exception, _CONNECT_FAILED, False)
        if not (connect_failed or context.is_disconnect):
            return None
        now = time.monotonic()
        if not connect_failed:
            # A connection lost before it answered anything failed like a connect did; the
            # window is for pooled connections that a restart ends together.
            fresh = False
            dbapi_connection = getattr(context.connection, "_dbapi_connection", None)
            with contextlib.suppress(Exception):
                fresh = bool(dbapi_connection.info.pop(_UNPROVEN, False))  # type: ignore[union-attr]
            if fresh or now - self._last_disconnect >= _DISCONNECT_WINDOW:
                self._last_disconnect = now
                self.breaker.record_failure()
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
