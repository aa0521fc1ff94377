"""A bounded connectivity probe of a database, outside the engine's pool.

The probe opens a connection of its own with the engine's connection function, outside the
pool, so it never waits for a pool slot (``pool_timeout``) and never takes one from the app.
While it connects, the driver's connect timeout is set from the probe's budget (libpq's
floor is 2 s), whatever the app configured, so a database that accepts connections and never
answers releases the probe's thread soon after the health response has given up on it. Once
connected, a watchdog shuts the probe's socket down when its statements have taken the whole
budget: a statement the server never answers (a half-dead connection) cannot hold the probe
either, and the next probe after the memo window starts afresh on a new connection.

The probe passes through the engine's circuit breaker (:mod:`flask_perfkit.breaker`): while
it is open the check fails with the output ``"circuit open"`` without connecting, and after the
open period the probe may be the one trial connection that closes it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import typing as t

import sqlalchemy as sa

from . import breaker
from ._compat import pymysql_socket
from .errors import ProbeTimeout

if t.TYPE_CHECKING:
    from .pool import EngineMonitor


def _probe_connection(engine: sa.Engine, seconds: float) -> t.Any:
    guard = breaker.find_guard(engine)
    if guard is not None:
        return guard.probe_connect(seconds)
    cargs, cparams = engine.dialect.create_connect_args(engine.url)
    return engine.dialect.connect(
        *cargs, **{**cparams, **breaker.connect_timeout_params(engine.dialect, seconds)}
    )


def _is_disconnect(engine: sa.Engine, error: Exception, connection: t.Any, cursor: t.Any) -> bool:
    """Whether the dialect takes ``error`` for a lost connection; never raises."""
    try:
        return bool(engine.dialect.is_disconnect(error, connection, cursor))  # type: ignore[arg-type]
    except Exception:
        return False


class _Watchdog:
    """Abandons a probe's connection when its time is up, by shutting its socket down.

    The driver call blocked on that socket then fails at once, whether or not the server
    ever received the statement, so the probe's thread is never held past its budget.
    """

    def __init__(self, connection: t.Any, seconds: float) -> None:
        self.connection = connection
        self.fired = False
        self._lock = threading.Lock()
        self._done = False
        self._timer: threading.Timer | None = None
        if _has_socket(connection):
            self._timer = threading.Timer(max(seconds, 0.0), self._fire)
            self._timer.daemon = True
            self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.fired = True
            # Under the lock, so the probe cannot close the connection (and its descriptor be
            # reused) meanwhile.
            with contextlib.suppress(Exception):
                _shutdown(self.connection)

    def stop(self) -> None:
        """The probe is over: never fire."""
        with self._lock:
            self._done = True
        if self._timer is not None:
            self._timer.cancel()


def _has_socket(connection: t.Any) -> bool:
    return pymysql_socket(connection) is not None or callable(getattr(connection, "fileno", None))


def _shutdown(connection: t.Any) -> None:
    sock = pymysql_socket(connection)
    if sock is not None:
        sock.shutdown(socket.SHUT_RDWR)
        return
    fileno = getattr(connection, "fileno", None)
    if callable(fileno):
        duplicate = socket.socket(fileno=os.dup(fileno()))
        try:
            duplicate.shutdown(socket.SHUT_RDWR)
        finally:
            duplicate.close()


_MAX_CONNECTIONS_SQL = {
    "postgresql": "SHOW max_connections",
    "mysql": "SELECT @@max_connections",
    "mariadb": "SELECT @@max_connections",
}


def probe(monitor: EngineMonitor, timeout: float) -> float:
    """Connect outside the pool, run ``SELECT 1`` and return the round trip in milliseconds.

    The first successful probe on PostgreSQL or MySQL also reads the server's
    ``max_connections`` into :attr:`.EngineMonitor.server_max_connections`.
    """
    engine = monitor.engine
    guard = breaker.find_guard(engine)
    start = time.perf_counter()
    connection = _probe_connection(engine, timeout)
    # The statements get a budget of their own, as a slow connect is no hung statement.
    watchdog = _Watchdog(connection, timeout)
    try:
        cursor = connection.cursor()
        try:
            try:
                cursor.execute(
                    str(sa.select(sa.literal_column("1")).compile(dialect=engine.dialect))
                )
                cursor.fetchall()
            except Exception as exc:
                # A connection dropped right after it opened counts toward the breaker; a
                # statement that is merely slow does not.
                if (
                    guard is not None
                    and not watchdog.fired
                    and _is_disconnect(engine, exc, connection, cursor)
                ):
                    guard.breaker.record_failure()
                raise
            if guard is not None:
                guard.breaker.record_success()
            elapsed = (time.perf_counter() - start) * 1000
            sql = _MAX_CONNECTIONS_SQL.get(engine.dialect.name)
            if sql is not None and monitor.server_max_connections is None:
                cursor.execute(sql)
                row = cursor.fetchone()
                if row is not None:
                    monitor.server_max_connections = int(row[0])
        finally:
            cursor.close()
    except Exception:
        if watchdog.fired:
            raise ProbeTimeout("The probe ran out of time and was abandoned.") from None
        raise
    finally:
        watchdog.stop()
        with contextlib.suppress(Exception):
            connection.close()
    return round(elapsed, 3)
