"""The driver timeouts PerfKit gives an engine's new connections.

The connect timeout (``PERFKIT_DB_CONNECT_TIMEOUT``) of psycopg, psycopg2, PyMySQL, mysqlclient
and SQLite, and the statement timeout (``PERFKIT_DB_STATEMENT_TIMEOUT``) of PostgreSQL, MariaDB
and MySQL. A value the user set in ``connect_args``, the URL or libpq's environment wins.
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import threading
import typing as t

import sqlalchemy as sa
from sqlalchemy import event

from .._compat import clear_pymysql_read_timeout
from .._compat import pymysql_socket

# The largest values the servers accept: PostgreSQL's int milliseconds, PyMySQL's seconds.
_MAX_MS = 2**31 - 1
_MAX_PYMYSQL_SECONDS = 31536000
_POSTGRES_DRIVERS = frozenset({"psycopg", "psycopg2", "psycopg2cffi"})
_MYSQL_DIALECTS = frozenset({"mysql", "mariadb"})
# libpq's environment variables for the arguments PerfKit adds: set there, they are the user's.
_LIBPQ_ENVIRONMENT = {"connect_timeout": "PGCONNECT_TIMEOUT", "options": "PGOPTIONS"}
_ABSENT = object()


class _ProbeState(threading.local):
    """What a probe connection in progress in this thread needs (see :func:`probing`)."""

    #: The connect timeout of the probe under way, or ``None``.
    timeout: float | None = None
    #: The connect arguments the probe changed, and their values to put back.
    restore: tuple[dict[str, t.Any], dict[str, t.Any]] | None = None


#: The probe connection under way in the current thread, if any.
probe_state = _ProbeState()


@contextlib.contextmanager
def probing(seconds: float) -> t.Iterator[None]:
    """Open connections outside the pool with a connect timeout of ``seconds`` inside the
    block, and put the engine's connect arguments back after it."""
    probe_state.timeout = seconds
    probe_state.restore = None
    try:
        yield
    finally:
        restore = probe_state.restore
        probe_state.timeout = None
        probe_state.restore = None
        if restore is not None:
            cparams, values = restore
            for key, value in values.items():
                if value is _ABSENT:
                    cparams.pop(key, None)
                else:
                    cparams[key] = value


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
    if dialect.name in _MYSQL_DIALECTS and dialect.driver == "pymysql":
        # PyMySQL's connect_timeout covers the TCP connect only; the handshake reads wait
        # read_timeout, which PerfKit lifts again once connected (see DriverTimeouts).
        bounded = min(seconds, _MAX_PYMYSQL_SECONDS)
        return {"connect_timeout": bounded, "read_timeout": bounded}
    if dialect.name in _MYSQL_DIALECTS and dialect.driver == "mysqldb":
        return {"connect_timeout": max(1, math.ceil(seconds))}
    if dialect.name == "sqlite" and dialect.driver == "pysqlite":
        return {"timeout": seconds}
    return {}


def _mentions(value: t.Any, *names: str) -> bool:
    return isinstance(value, str) and any(name in value for name in names)


def _libpq_environment() -> dict[str, str]:
    environment: dict[str, str] = {}
    for key, variable in _LIBPQ_ENVIRONMENT.items():
        value = os.environ.get(variable)
        if value is not None and value.strip():
            environment[key] = value
    return environment


class DriverTimeouts:
    """The connect and statement timeouts of one engine's new connections.

    :param connect_timeout: Seconds, or ``None`` to leave the driver's default.
    :param statement_timeout: Seconds, or ``None`` to leave the server's default.
    """

    def __init__(self, connect_timeout: float | None, statement_timeout: float | None) -> None:
        self.connect_timeout = connect_timeout
        self.statement_timeout = statement_timeout
        #: The connect arguments before PerfKit added any, taken on the first connect.
        self.user_params: dict[str, t.Any] | None = None
        self._dialect: sa.Dialect | None = None

    def listen(self, engine: sa.Engine) -> None:
        """Add the listeners that give ``engine``'s new connections the timeouts."""
        dialect = self._dialect = engine.dialect
        event.listen(engine, "do_connect", self.do_connect)
        if self.statement_timeout is not None and dialect.name in _MYSQL_DIALECTS:
            event.listen(engine, "connect", self.set_mysql_statement_timeout)
        if (
            self.connect_timeout is not None
            and dialect.name in _MYSQL_DIALECTS
            and dialect.driver == "pymysql"
        ):
            event.listen(engine, "connect", self.lift_pymysql_handshake_timeout)
            if hasattr(socket, "TCP_USER_TIMEOUT"):
                event.listen(engine, "connect", self.set_pymysql_tcp_user_timeout)

    def wanted_params(self, dialect: sa.Dialect, user: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
        """The connect arguments PerfKit adds: those the user did not set.

        On libpq, a ``PGCONNECT_TIMEOUT`` or ``PGOPTIONS`` environment variable is the user's
        value too: an argument would override it.
        """
        wanted: dict[str, t.Any] = {}
        dsn = user.get("dsn")
        libpq = dialect.name == "postgresql" and dialect.driver in _POSTGRES_DRIVERS
        environment = _libpq_environment() if libpq else {}
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

    def do_connect(
        self, dialect: sa.Dialect, record: t.Any, cargs: list[t.Any], cparams: dict[str, t.Any]
    ) -> None:
        """The ``do_connect`` listener: add the timeouts to the connect arguments, and a
        probe's own connect timeout to a connection made outside the pool."""
        if self.user_params is None:
            # Before PerfKit adds anything: the arguments from the URL, connect_args and
            # earlier listeners. (SQLAlchemy 2.0 passes the same dict to every connect.)
            self.user_params = dict(cparams)
        user = self.user_params
        wanted = self.wanted_params(dialect, user)
        cparams.update(wanted)
        seconds = probe_state.timeout
        if seconds is None or record is not None:
            return
        restore: dict[str, t.Any] = {}
        for key, value in connect_timeout_params(dialect, seconds).items():
            restore[key] = user.get(key, wanted.get(key, _ABSENT))
            cparams[key] = value
        probe_state.restore = (cparams, restore)

    def lift_pymysql_handshake_timeout(self, dbapi_connection: t.Any, record: t.Any) -> None:
        """Take off the ``read_timeout`` PerfKit gave PyMySQL for the handshake, so it never
        limits the app's statements; a ``read_timeout`` of the user's stays."""
        if "read_timeout" in (self.user_params or {}):
            return
        clear_pymysql_read_timeout(dbapi_connection)

    def set_pymysql_tcp_user_timeout(self, dbapi_connection: t.Any, record: t.Any) -> None:
        """Give a new PyMySQL connection's socket ``TCP_USER_TIMEOUT`` (Linux), as libpq's
        ``tcp_user_timeout`` does: a connection whose sent data goes unacknowledged for the
        connect timeout (a black-holed host) is closed by the kernel instead of holding its
        request until TCP gives up, about 15 minutes. It never limits how long a statement runs.
        """
        sock = pymysql_socket(dbapi_connection)
        if sock is None or sock.family not in {socket.AF_INET, socket.AF_INET6}:
            return
        ms = min(max(1, math.ceil(t.cast(float, self.connect_timeout) * 1000)), _MAX_MS)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, ms)

    def set_mysql_statement_timeout(self, dbapi_connection: t.Any, record: t.Any) -> None:
        """Set the session's statement timeout on a new MariaDB or MySQL connection, unless
        the user's ``init_command`` sets one."""
        command = (self.user_params or {}).get("init_command")
        if self.statement_timeout is None or _mentions(
            command, "max_statement_time", "max_execution_time"
        ):
            return
        if getattr(self._dialect, "is_mariadb", False):
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
