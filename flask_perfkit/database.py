"""Database health: a bounded connectivity probe, pool checks and recommendations.

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
import dataclasses
import os
import socket
import threading
import time
import typing as t

import sqlalchemy as sa

from . import breaker
from .checks import CheckResult
from .checks import HealthCheck
from .checks import Status
from .errors import DatabaseCircuitOpen
from .pool import EngineMonitor
from .pool import PoolStatus

#: Pool utilization at or above which the pool check warns.
WARN_UTILIZATION = 0.7
#: Pool utilization at or above which the pool check fails.
FAIL_UTILIZATION = 0.9


def check_name(bind: str) -> str:
    """The ``checks`` key of a bind's connectivity check: ``db``, or ``db.<bind>``."""
    return "db" if bind == "default" else f"db.{bind}"


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
    return isinstance(getattr(connection, "_sock", None), socket.socket) or callable(
        getattr(connection, "fileno", None)
    )


def _shutdown(connection: t.Any) -> None:
    sock = getattr(connection, "_sock", None)
    if isinstance(sock, socket.socket):
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
            raise TimeoutError("The probe ran out of time and was abandoned.") from None
        raise
    finally:
        watchdog.stop()
        with contextlib.suppress(Exception):
            connection.close()
    return round(elapsed, 3)


def pool_check_status(status: PoolStatus) -> Status:
    """``warn`` from 70 % pool utilization, ``fail`` from 90 %."""
    if status.utilization is None:
        return Status.PASS
    if status.utilization >= FAIL_UTILIZATION:
        return Status.FAIL
    if status.utilization >= WARN_UTILIZATION:
        return Status.WARN
    return Status.PASS


@dataclasses.dataclass(frozen=True)
class Recommendation:
    """Advice drawn from the numbers.

    :param severity: ``"info"``, ``"warning"`` or ``"critical"``.
    :param message: One or two sentences saying what to change.
    """

    severity: str
    message: str


def recommendations(
    monitor: EngineMonitor, status: PoolStatus, checkout_timeouts: int
) -> list[Recommendation]:
    """Advice about one engine's pool, from its snapshot and event counts."""
    advice: list[Recommendation] = []
    name = monitor.name
    if status.utilization is not None and status.utilization >= FAIL_UTILIZATION:
        advice.append(
            Recommendation(
                "critical",
                f"The pool of {name!r} is {status.utilization:.0%} used ({status.checked_out} of"
                f" {status.capacity}). Raise PERFKIT_POOL_SIZE or PERFKIT_POOL_MAX_OVERFLOW, or"
                " look for requests that hold connections too long.",
            )
        )
    elif status.utilization is not None and status.utilization >= WARN_UTILIZATION:
        advice.append(
            Recommendation(
                "warning",
                f"The pool of {name!r} is {status.utilization:.0%} used. Bursts may soon wait"
                " for a connection.",
            )
        )
    if checkout_timeouts:
        advice.append(
            Recommendation(
                "critical",
                f"{checkout_timeouts} request(s) waited out PERFKIT_POOL_TIMEOUT for a connection."
                " Raise the pool's capacity or shorten transactions.",
            )
        )
    counts = monitor.event_counts()
    invalidated = counts["invalidate"] + counts["soft_invalidate"]
    if invalidated:
        advice.append(
            Recommendation(
                "warning",
                f"{invalidated} connection(s) of {name!r} were invalidated, usually by database"
                " restarts or network errors.",
            )
        )
    if status.pool_class == "QueuePool" and not status.pre_ping:
        advice.append(
            Recommendation(
                "info",
                "PERFKIT_POOL_PRE_PING is off: a connection the server closed fails the request"
                " that gets it.",
            )
        )
    if status.pool_class == "NullPool":
        advice.append(
            Recommendation(
                "info",
                f"{name!r} uses NullPool and opens a new connection for every checkout.",
            )
        )
    limit = monitor.server_max_connections
    if limit is not None and status.capacity is not None:
        if status.capacity >= limit:
            advice.append(
                Recommendation(
                    "critical",
                    f"The pool of {name!r} may open {status.capacity} connections but the server"
                    f" allows {limit} (max_connections). Lower PERFKIT_POOL_SIZE and"
                    " PERFKIT_POOL_MAX_OVERFLOW, or raise max_connections.",
                )
            )
        elif status.capacity * 2 > limit:
            advice.append(
                Recommendation(
                    "warning",
                    f"The pool of {name!r} may open {status.capacity} of the server's {limit}"
                    " connections (max_connections): two such processes would exhaust it. Size"
                    " the pool as max_connections divided by the number of processes.",
                )
            )
    return advice


def connectivity_check(monitor: EngineMonitor, timeout: float) -> HealthCheck:
    """The critical check that the database answers ``SELECT 1``."""

    def check() -> CheckResult:
        try:
            latency = probe(monitor, timeout)
        except DatabaseCircuitOpen:
            return CheckResult(Status.FAIL, output="circuit open")
        return CheckResult(Status.PASS, observed_value=latency, observed_unit="ms")

    return HealthCheck(check_name(monitor.name), check, critical=True, component_type="datastore")


def pool_check(monitor: EngineMonitor) -> HealthCheck:
    """The check of pool utilization; does no I/O.

    A busy pool (from 70 %, ``fail`` from 90 %) only makes readiness ``warn``: it is no reason
    to take an instance out of a load balancer. An exhausted pool, where every connection the
    pool may open is checked out and the next request would wait for ``pool_timeout``, fails
    readiness (503) until a connection is free, so traffic goes to instances that can serve it.
    """

    def check() -> CheckResult:
        status = monitor.status()
        verdict = pool_check_status(status)
        exhausted = status.utilization is not None and status.utilization >= 1.0
        output = None
        if exhausted:
            output = "pool exhausted"
        elif verdict is not Status.PASS:
            output = f"pool {status.utilization:.0%} used"
        return CheckResult(
            verdict,
            output=output,
            observed_value=status.checked_out,
            observed_unit="connections",
            critical=True if exhausted else None,
        )

    return HealthCheck(
        f"{check_name(monitor.name)}:connections",
        check,
        critical=False,
        component_type="datastore",
        in_thread=False,
    )
