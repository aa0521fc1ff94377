"""Exceptions raised by flask-perfkit."""

from __future__ import annotations

import json
import typing as t

import sqlalchemy.exc as sa_exc
from werkzeug.exceptions import BadRequest
from werkzeug.exceptions import Forbidden
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import NotFound
from werkzeug.exceptions import NotImplemented as HTTPNotImplemented
from werkzeug.exceptions import ServiceUnavailable
from werkzeug.exceptions import Unauthorized


class PerfKitError(Exception):
    """Base class of every exception flask-perfkit raises."""


class ConfigError(PerfKitError, ValueError):
    """A ``PERFKIT_*`` value, or an argument to :class:`.PerfKit`, is not usable.

    Raised by :meth:`.PerfKit.init_app`, so a bad deployment fails at start-up rather than on
    the first request.
    """


class ConfigWarning(UserWarning):
    """A ``PERFKIT_*`` key that PerfKit does not read, most likely a misspelling, found in
    :meth:`.PerfKit.init_app`. The message names the nearest known key."""


class NotInitializedError(PerfKitError, RuntimeError):
    """The current app is not registered with a :class:`.PerfKit` instance."""


class AlreadyRegisteredError(PerfKitError, RuntimeError):
    """:meth:`.PerfKit.init_app` was called on an app that already has a :class:`.PerfKit`."""


class CapabilityDisabledError(PerfKitError, RuntimeError):
    """A capability was used on an app where it is off (``PERFKIT_ENABLED`` is false)."""


class APIError(PerfKitError, HTTPException):
    """An HTTP error whose body is the JSON error format of flask-perfkit.

    The body is ``{"error": code, "message": text, "param": name}``, with ``param`` present
    only when one request parameter is at fault. Being a werkzeug
    :class:`~werkzeug.exceptions.HTTPException`, it turns into that response in any view,
    with no error handler registered.

    :param message: A sentence safe to show to any client.
    :param error: A short machine-readable code such as ``"invalid_parameter"``.
    :param param: The request parameter at fault, if any.
    """

    #: The default machine-readable code of this class.
    error_code: t.ClassVar[str] = "error"

    def __init__(self, message: str, *, error: str | None = None, param: str | None = None) -> None:
        super().__init__(description=message)
        self.message = message
        self.error = error or self.error_code
        self.param = param

    def to_dict(self) -> dict[str, str]:
        """The JSON body of this error."""
        body = {"error": self.error, "message": self.message}
        if self.param is not None:
            body["param"] = self.param
        return body

    def get_headers(
        self,
        environ: t.Any = None,
        scope: t.Any = None,
    ) -> list[tuple[str, str]]:
        """The response headers: JSON, never stored by caches.

        :meta private:
        """
        return [("Content-Type", "application/json"), ("Cache-Control", "no-store")]

    def get_body(self, environ: t.Any = None, scope: t.Any = None) -> str:
        """The JSON body.

        :meta private:
        """
        return json.dumps(self.to_dict())


class InvalidParameter(APIError, BadRequest):
    """HTTP 400: a request parameter has a value that cannot be used."""

    error_code = "invalid_parameter"


class AdminDisabled(APIError, Forbidden):
    """HTTP 403: admin endpoints are off because no token or auth callback is set."""

    error_code = "admin_disabled"


class AuthenticationRequired(APIError, Unauthorized):
    """HTTP 401: the request lacks a valid ``Authorization: Bearer`` token."""

    error_code = "unauthorized"

    def get_headers(self, environ: t.Any = None, scope: t.Any = None) -> list[tuple[str, str]]:
        """Adds the ``WWW-Authenticate`` challenge.

        :meta private:
        """
        return [
            *super().get_headers(environ, scope),
            ("WWW-Authenticate", 'Bearer realm="perfkit"'),
        ]


class CrossOriginRequest(APIError, Forbidden):
    """HTTP 403: a form was posted from another site (its ``Origin`` is not the app's)."""

    error_code = "cross_origin"


class MetricsUnavailable(APIError, HTTPNotImplemented):
    """HTTP 501: ``GET /health/metrics`` needs the ``prometheus`` extra."""

    error_code = "metrics_unavailable"


class HistoryDisabled(APIError, NotFound):
    """HTTP 404: ``GET /health/history`` with ``PERFKIT_HISTORY_ENABLED = False``."""

    error_code = "history_disabled"


class DatabaseUnavailable(APIError, ServiceUnavailable):
    """HTTP 503: the database could not serve the request, for example the pool was exhausted.

    :param retry_after: Seconds a client should wait before retrying.
    """

    error_code = "database_unavailable"

    def __init__(
        self,
        message: str,
        *,
        error: str | None = None,
        param: str | None = None,
        retry_after: int = 1,
    ) -> None:
        super().__init__(message, error=error, param=param)
        self.retry_after = retry_after

    def get_headers(self, environ: t.Any = None, scope: t.Any = None) -> list[tuple[str, str]]:
        """Adds ``Retry-After``.

        :meta private:
        """
        return [*super().get_headers(environ, scope), ("Retry-After", str(self.retry_after))]


#: The message of every 503 for a database that cannot be reached.
UNAVAILABLE_MESSAGE = "The database is unavailable. Try again shortly."


class DatabaseCircuitOpen(sa_exc.OperationalError, DatabaseUnavailable):
    """HTTP 503: the engine's circuit breaker is open, so no connection was attempted.

    Raised by a checkout that would need a new connection while the breaker of its engine is
    open, or while the one trial connection of a half-open breaker is under way. It is also a
    :exc:`sqlalchemy.exc.OperationalError`, so code that catches connection errors catches it
    too, and Flask finds an app's error handler for that class (or a base of it) before one for
    :exc:`~werkzeug.exceptions.HTTPException`.

    :param bind: The bind name of the engine.
    :param retry_after: Whole seconds until the breaker lets a trial connection through.
    """

    #: The HTTP status, in place of SQLAlchemy's error code.
    code = 503  # type: ignore[assignment]

    def __init__(self, bind: str, retry_after: int) -> None:
        message = f"The circuit breaker of database {bind!r} is open. Try again shortly."
        Exception.__init__(self, message)
        _set_unavailable(self, message, retry_after)
        self.bind = bind
        # What SQLAlchemy reads from its own errors.
        self.statement = None
        self.params = None
        self.orig = None
        self.ismulti = None
        self.hide_parameters = False
        self.connection_invalidated = False
        self.detail = []

    def to_dict(self) -> dict[str, str]:
        """The JSON body: the same for every unreachable database, naming no bind.

        :meta private:
        """
        return {"error": self.error, "message": UNAVAILABLE_MESSAGE}

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> t.Any:
        return type(self), (self.bind, self.retry_after)


_unavailable_types: dict[type[sa_exc.DBAPIError], type[DatabaseUnavailable]] = {}


def database_unavailable(error: sa_exc.DBAPIError, retry_after: int) -> DatabaseUnavailable:
    """The 503 raised in a request in place of a SQLAlchemy connectivity error.

    The result is an instance of both the class of ``error`` (such as
    :exc:`sqlalchemy.exc.OperationalError`) and :exc:`DatabaseUnavailable`, with the same
    attributes (``orig``, ``connection_invalidated``), so ``except`` clauses and error handlers
    written for the SQLAlchemy class still match it; the SQLAlchemy class comes first, so an
    app's handler for it wins over one for :exc:`~werkzeug.exceptions.HTTPException`. Its body
    never holds driver text.

    :param error: The SQLAlchemy error.
    :param retry_after: Seconds for the ``Retry-After`` header.
    """
    base = type(error)
    cls = _unavailable_types.get(base)
    if cls is None:
        cls = type(
            f"DatabaseUnavailable{base.__name__}",
            (base, DatabaseUnavailable),
            {"__module__": __name__, "__str__": lambda self: str(self.args[0]), "code": 503},
        )
        _unavailable_types[base] = cls
    unavailable = cls.__new__(cls)
    unavailable.__dict__.update(error.__dict__)
    # SQLAlchemy's error code would shadow the HTTP status.
    unavailable.__dict__.pop("code", None)
    unavailable.args = error.args
    _set_unavailable(unavailable, UNAVAILABLE_MESSAGE, retry_after)
    return unavailable


def _set_unavailable(error: DatabaseUnavailable, message: str, retry_after: int) -> None:
    """Give ``error`` the fields of a :exc:`DatabaseUnavailable`, made without its
    ``__init__``. Its ``description``, what an app's handler for
    :exc:`~werkzeug.exceptions.HTTPException` shows, is the same for every unreachable
    database and names no bind.
    """
    error.description = UNAVAILABLE_MESSAGE
    error.response = None
    error.message = message
    error.error = DatabaseUnavailable.error_code
    error.param = None
    error.retry_after = retry_after


class EngineGoneError(PerfKitError, RuntimeError):
    """The engine of a database PerfKit watches was garbage-collected while still in use."""


class UnknownBind(PerfKitError, KeyError):
    """:meth:`.PerfKit.pool_status` was asked about an engine PerfKit does not watch.

    :param bind: The bind name that was asked for.
    """

    def __init__(self, bind: str) -> None:
        super().__init__(bind)
        self.bind = bind

    def __str__(self) -> str:
        return f"PerfKit watches no engine with the bind name {self.bind!r}."


class ProbeTimeout(PerfKitError, TimeoutError):
    """A database probe of a health check ran out of time and was abandoned.

    The check runner reports it as the output ``"timeout"``; it never leaves a health check.
    """


class QueryBudgetExceeded(PerfKitError):
    """A :meth:`.PerfKit.query_budget` block ran more statements than its budget.

    :param limit: The budget.
    :param count: The statements that ran.
    :param patterns: The most frequent normalized statements, most frequent first.
    """

    def __init__(self, limit: int, count: int, patterns: list[str]) -> None:
        listing = "; ".join(patterns)
        super().__init__(
            f"{count} statements ran where the budget is {limit}. Most frequent: {listing}"
        )
        self.limit = limit
        self.count = count
        self.patterns = patterns


class UnkeyableArgument(PerfKitError, TypeError):
    """A cached function was called with an argument that has no stable cache key."""


class UnknownTier(PerfKitError, ValueError):
    """A cache tier was named that is not ``"short"``, ``"medium"`` or ``"long"``."""


class InvalidationUnsupported(PerfKitError, NotImplementedError):
    """Invalidating by pattern was asked of a backend whose keys cannot be listed.

    Redis, Valkey and SimpleCache can be; single calls can be invalidated on any backend.
    """


class CacheBackendUnavailable(PerfKitError, RuntimeError):
    """The tiered cache has no backend to use: the ``Cache`` given to :class:`.PerfKit` is
    not initialised on the app, or the app is gone.

    Cached calls never raise it: it is counted and logged as a backend failure.
    """


class PaginationError(InvalidParameter):
    """HTTP 400: a pagination parameter (``page``, ``page_size``, ``cursor``) is unusable.

    Also a werkzeug :class:`~werkzeug.exceptions.BadRequest`, so it answers 400 with the JSON
    error body in any view, with no handler.
    """

    error_code = "invalid_parameter"


class InvalidCursor(PaginationError):
    """HTTP 400: the cursor was not made by this app for this query, or was altered.

    The message never echoes the cursor, column names or values.
    """

    error_code = "invalid_cursor"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message or "The cursor is not valid for this list. Start again from the first page.",
            param="cursor",
        )


class UnencodableCursorValue(PerfKitError, TypeError):
    """:func:`.paginate` cannot put a row's ordering value in a cursor: its type (such as a
    list or a custom class) has no cursor form. Order by columns of scalar types, or use
    ``strategy="offset"``.
    """


class MalformedValue(PerfKitError, ValueError):
    """A tagged value read back from a cursor is not one PerfKit writes.

    Raised while a cursor is decoded, and turned into :exc:`InvalidCursor` there.
    """


class PaginationUsageError(PerfKitError, ValueError):
    """:func:`.paginate` was called in a way it cannot serve: an unknown ``strategy``, an
    ORDER BY of names or text instead of column expressions, or ``strategy="cursor"`` on a
    query with nothing to walk by (no ORDER BY of columns and no primary key).

    A programming error, not a bad request: it is not an HTTP error.
    """


class SessionRequired(PerfKitError, RuntimeError):
    """:func:`.paginate` has no session to run the query in: pass ``session=``, or register
    :class:`.PerfKit` with ``db=``."""
