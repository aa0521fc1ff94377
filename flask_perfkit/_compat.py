"""Every use of a private name of SQLAlchemy, cachelib, Flask-Caching, Flask-SQLAlchemy, PyMySQL
or marshmallow.

Each is behind a small function that says what it reads and on which versions it was
checked, so that a new release of a dependency breaks in this module only. ``make test-min``
runs the suite on the oldest supported versions, ``make test`` on the newest.
"""

from __future__ import annotations

import functools
import socket
import threading
import typing as t
from collections.abc import Mapping
from time import perf_counter

import sqlalchemy as sa
from sqlalchemy import pool as sa_pool
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql import sqltypes
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.elements import _label_reference
from sqlalchemy.sql.elements import _textual_label_reference
from sqlalchemy.util import queue as sa_queue

# SQLAlchemy: statements (pagination)

_ORDER_BY_NAMES = (TextClause, _label_reference, _textual_label_reference)
#: A ``select()`` of any columns.
_AnySelect: t.TypeAlias = "sa.Select[*tuple[t.Any, ...]]"


def order_by_clauses(stmt: _AnySelect) -> tuple[t.Any, ...]:
    """The ORDER BY elements of a ``select()``, as given to ``order_by()``.

    Reads ``Select._order_by_clauses``; checked on SQLAlchemy 2.0 and 2.1.
    """
    return tuple(stmt._order_by_clauses)


def select_columns(stmt: _AnySelect) -> tuple[t.Any, ...]:
    """The columns and entities of a ``select()``, as given to it (an entity stays one
    element, not its columns).

    Reads ``Select._raw_columns``; checked on SQLAlchemy 2.0 and 2.1.
    """
    return tuple(stmt._raw_columns)


def has_explicit_froms(stmt: _AnySelect) -> bool:
    """Whether a ``select()`` was given a FROM or a join of its own (``select_from()``,
    ``join()``), beyond what its columns imply.

    Reads ``Select._from_obj`` and ``Select._setup_joins``; checked on SQLAlchemy 2.0 and
    2.1.
    """
    return bool(stmt._from_obj or stmt._setup_joins)


def parent_entity(element: t.Any) -> t.Any:
    """The mapped entity an ORM-annotated element came from (``Post.id`` gives ``Post``'s
    mapper), or ``None`` for a plain element.

    Reads the ``parententity`` of ``ClauseElement._annotations``; checked on SQLAlchemy 2.0
    and 2.1.
    """
    annotations = getattr(element, "_annotations", None)
    return annotations.get("parententity") if annotations else None


def limit_clause(rows: int) -> t.Any:
    """The LIMIT clause element of ``rows`` rows, which ``Select.limit()`` takes as it is.

    Reads ``Select._limit_clause``; checked on SQLAlchemy 2.0 and 2.1.
    """
    return sa.select(sa.null()).limit(rows)._limit_clause


def is_order_by_name(element: t.Any) -> bool:
    """Whether an ORDER BY element names a column by text (``order_by("name")``,
    ``order_by(text("name"))``) rather than being a column expression.

    Tests for ``_label_reference`` and ``_textual_label_reference`` of
    ``sqlalchemy.sql.elements``; checked on SQLAlchemy 2.0 and 2.1.
    """
    return isinstance(element, _ORDER_BY_NAMES)


def needs_unique(result: sa.Result[t.Any]) -> bool:
    """Whether the ORM marked a result as needing ``unique()`` (joined eager loading of a
    collection repeats an entity over several rows). ``True`` when the mark cannot be read.

    Reads ``Result._unique_filter_state``; checked on SQLAlchemy 2.0 and 2.1.
    """
    return getattr(result, "_unique_filter_state", True) is not None


def type_affinity(column_type: sa.types.TypeEngine[t.Any]) -> type | None:
    """The generic type class (``Integer``, ``String``, ...) a column type behaves as.

    Reads ``TypeEngine._type_affinity``; checked on SQLAlchemy 2.0 and 2.1.
    """
    return t.cast("type | None", column_type._type_affinity)


def is_interval(column_type: sa.types.TypeEngine[t.Any]) -> bool:
    """Whether a column type is an interval (``Interval``, PostgreSQL's ``INTERVAL``, ...).

    Tests for ``sqlalchemy.sql.sqltypes._AbstractInterval``; checked on SQLAlchemy 2.0 and
    2.1.
    """
    return isinstance(column_type, sqltypes._AbstractInterval)


def is_binary(affinity: type | None) -> bool:
    """Whether a type affinity (see :func:`type_affinity`) is a binary type.

    Tests for a subclass of ``sqlalchemy.sql.sqltypes._Binary``; checked on SQLAlchemy 2.0
    and 2.1.
    """
    return affinity is not None and issubclass(affinity, sqltypes._Binary)


# SQLAlchemy: engines and pools


def queue_pool_settings(pool: sa_pool.QueuePool) -> dict[str, t.Any]:
    """The constructor arguments of ``pool`` that :meth:`~sqlalchemy.pool.QueuePool.recreate`
    passes on: ``_max_overflow``, ``_recycle``, ``_pre_ping``, ``_pool.use_lifo``,
    ``_orig_logging_name`` and ``_reset_on_return``.

    Checked on SQLAlchemy 2.0 and 2.1.
    """
    return {
        "pool_size": pool.size(),
        "max_overflow": pool._max_overflow,
        "timeout": pool.timeout(),
        "recycle": pool._recycle,
        "pre_ping": pool._pre_ping,
        "use_lifo": pool._pool.use_lifo,
        "echo": pool.echo,
        "logging_name": pool._orig_logging_name,
        "reset_on_return": pool._reset_on_return,
    }


def rebuild_pool(pool: sa_pool.Pool, settings: t.Mapping[str, t.Any]) -> sa_pool.Pool:
    """A pool of the class of ``pool`` with ``settings``, keeping its connection function
    (``_creator``), its dialect (``_dialect``) and its listeners, as
    :meth:`~sqlalchemy.pool.Pool.recreate` does.

    Checked on SQLAlchemy 2.0 and 2.1.
    """
    return type(pool)(
        pool_creator(pool),
        _dispatch=pool.dispatch,
        dialect=pool._dialect,
        **settings,
    )


def max_overflow(pool: sa_pool.QueuePool) -> int:
    """The ``max_overflow`` of ``pool`` (``_max_overflow``), which it has no public reader of.

    Checked on SQLAlchemy 2.0 and 2.1.
    """
    return int(pool._max_overflow)


def recycle_seconds(pool: sa_pool.Pool) -> int:
    """The ``recycle`` of any pool (``_recycle``), ``-1`` for never.

    Checked on SQLAlchemy 2.0 and 2.1.
    """
    return int(getattr(pool, "_recycle", -1))


def pre_ping(pool: sa_pool.Pool) -> bool:
    """Whether any pool tests connections on checkout (``_pre_ping``).

    Checked on SQLAlchemy 2.0 and 2.1.
    """
    return bool(getattr(pool, "_pre_ping", False))


def mark_statement_start(
    conn: t.Any, cursor: t.Any, statement: str, parameters: t.Any, context: t.Any, many: bool
) -> None:
    """Store the start time of a statement on its execution context.

    The profiler's ``before_cursor_execute`` listener. It sets ``_perfkit_start``, an
    attribute of PerfKit's own, on the ``DefaultExecutionContext`` (which has no
    ``__slots__``), as Flask-SQLAlchemy's ``record_queries`` sets ``_fsa_start_time``.
    Checked on SQLAlchemy 2.0 and 2.1.
    """
    context._perfkit_start = perf_counter()


def statement_duration(context: t.Any) -> float | None:
    """Seconds since :func:`mark_statement_start` ran for ``context``.

    Reads ``_perfkit_start`` from the execution context; ``None`` when it is not there, as
    for a statement that started before the listener was attached. Checked on SQLAlchemy
    2.0 and 2.1.
    """
    try:
        return perf_counter() - context._perfkit_start  # type: ignore[no-any-return]
    except AttributeError:
        return None


def pool_argument_names() -> Mapping[str, str]:
    """The ``create_engine`` name of each pool argument whose name differs on the pool.

    Reads ``sqlalchemy.engine.create._pool_translate_kwargs`` (``{"timeout": "pool_timeout",
    ...}``), an empty mapping when it is gone. Checked on SQLAlchemy 2.0 and 2.1.
    """
    from sqlalchemy.engine import create

    return getattr(create, "_pool_translate_kwargs", {})


# -- the database circuit breaker (flask_perfkit.breaker)

#: What a pool calls to open a DBAPI connection: its entry, or ``None`` outside the pool.
PoolInvoker = t.Callable[[ConnectionPoolEntry | None], t.Any]


def pool_creator(pool: sa.pool.Pool) -> t.Callable[..., t.Any]:
    """The connection function ``pool`` was made with, ``Pool._creator``.

    Checked on SQLAlchemy 2.0 and 2.1.
    """
    return pool._creator


def set_pool_creator(pool: sa.pool.Pool, creator: t.Callable[..., t.Any]) -> None:
    """Replace ``pool``'s connection function, ``Pool._creator``.

    Its setter also rebuilds ``Pool._invoke_creator``, and pools made later by ``dispose()``
    or ``recreate()`` are given the same function. Checked on SQLAlchemy 2.0 and 2.1.
    """
    pool._creator = creator


def pool_invoker(pool: sa.pool.Pool) -> PoolInvoker:
    """How ``pool`` calls its connection function, ``Pool._invoke_creator``: with the
    connection's pool entry, or ``None`` for a connection made outside the pool.

    Checked on SQLAlchemy 2.0 and 2.1.
    """
    return t.cast(PoolInvoker, pool._invoke_creator)


def pool_queue(pool: sa.pool.Pool) -> sa_queue.Queue[t.Any] | None:
    """The queue of idle connections of a ``QueuePool`` (``QueuePool._pool``), when it is
    SQLAlchemy's threading queue; ``None`` for other pools and the asyncio queue.

    Checked on SQLAlchemy 2.0 and 2.1.
    """
    waiting = getattr(pool, "_pool", None)
    if type(waiting) is not sa_queue.Queue:
        return None
    return waiting


def queue_mutex(queue: sa_queue.Queue[t.Any]) -> t.Any:
    """The lock every condition of ``queue`` shares, ``Queue.mutex``.

    Checked on SQLAlchemy 2.0 and 2.1.
    """
    return queue.mutex


def set_queue_wait(
    queue: sa_queue.Queue[t.Any], condition: threading.Condition, owner: object
) -> None:
    """Make ``Queue.get`` wait on ``condition``, in place of ``Queue.not_empty``, and mark
    the queue's ``get`` as set up by ``owner`` (see :func:`queue_wait_owner`).

    ``condition`` must be made with :func:`queue_mutex` as its lock. Checked on SQLAlchemy
    2.0 and 2.1.
    """
    queue.not_empty = condition
    get = functools.partial(sa_queue.Queue.get, queue)
    get.perfkit_guard = owner  # type: ignore[attr-defined]
    queue.get = get  # type: ignore[method-assign]


def queue_wait_owner(queue: sa_queue.Queue[t.Any]) -> object | None:
    """The ``owner`` of the last :func:`set_queue_wait` on ``queue``, or ``None``.

    Checked on SQLAlchemy 2.0 and 2.1.
    """
    return getattr(queue.get, "perfkit_guard", None)


def queue_waiters(pool: sa.pool.Pool) -> int:
    """How many checkouts of a ``QueuePool`` wait for a free connection now: the threads
    waiting on its queue's ``not_empty`` condition (``Condition._waiters``); 0 for other pools.

    Checked on SQLAlchemy 2.0 and 2.1, and CPython 3.11 to 3.14.
    """
    queue = pool_queue(pool)
    if queue is None:
        return 0
    return len(getattr(queue.not_empty, "_waiters", ()))


def pooled_connection(connection: sa.Connection | None) -> PoolProxiedConnection | None:
    """The pool's proxy of ``connection``'s DBAPI connection, ``Connection._dbapi_connection``;
    ``None`` once it is closed or invalidated. Unlike ``Connection.connection`` it never
    reconnects. Checked on SQLAlchemy 2.0 and 2.1.
    """
    return getattr(connection, "_dbapi_connection", None)


# cachelib and Flask-Caching


def redis_scan_client(backend: t.Any) -> t.Any | None:
    """The redis-py client a cachelib Redis or Valkey backend writes with, or ``None``.

    Reads ``RedisCache._write_client``, whose client has ``scan_iter`` and ``unlink``; ``None``
    for other backends. Checked on cachelib 0.17 (Flask-Caching 2.5).
    """
    client = getattr(backend, "_write_client", None)
    return client if client is not None and hasattr(client, "scan_iter") else None


def redis_key_prefix(backend: t.Any) -> str:
    """The prefix a cachelib Redis or Valkey backend puts before every key, or ``""``.

    Calls ``RedisCache._get_prefix()``, which gives ``key_prefix``, or what it returns when it
    is a callable. Checked on cachelib 0.17 (Flask-Caching 2.5).
    """
    get_prefix = getattr(backend, "_get_prefix", None)
    return str(get_prefix()) if callable(get_prefix) else ""


def simple_cache_store(backend: t.Any) -> dict[t.Any, t.Any] | None:
    """The dict a cachelib ``SimpleCache`` keeps its entries in, or ``None``.

    Reads ``SimpleCache._cache``, keyed by the keys as given to ``set``; ``None`` for other
    backends. Checked on cachelib 0.17 (Flask-Caching 2.5).
    """
    store = getattr(backend, "_cache", None)
    return store if isinstance(store, dict) else None


# Flask-SQLAlchemy


def engine_options_of(db: t.Any) -> dict[str, t.Any]:
    """The ``engine_options`` given to the ``SQLAlchemy()`` constructor (``_engine_options``).

    Checked on Flask-SQLAlchemy 3.1.
    """
    return dict(getattr(db, "_engine_options", None) or {})


# PyMySQL


def clear_pymysql_read_timeout(dbapi_connection: t.Any) -> None:
    """Take the read timeout off an open PyMySQL connection, ``Connection._read_timeout``,
    which PyMySQL applies to every later read of its socket. Does nothing for other drivers.

    Checked on PyMySQL 1.1 and 1.2.
    """
    if hasattr(dbapi_connection, "_read_timeout"):
        dbapi_connection._read_timeout = None


def pymysql_socket(dbapi_connection: t.Any) -> socket.socket | None:
    """The TCP or Unix socket of an open PyMySQL connection, ``Connection._sock``; ``None``
    for other drivers. Checked on PyMySQL 1.1 and 1.2.
    """
    sock = getattr(dbapi_connection, "_sock", None)
    return sock if isinstance(sock, socket.socket) else None


# marshmallow


def declare_fields(schema: t.Any, declared: Mapping[str, t.Any]) -> None:
    """Give one schema instance its own declared fields, ``Schema._declared_fields``, before
    ``Schema.__init__`` copies them into its ``fields``. For a schema whose fields come from
    the registry, so a class made per call with ``Schema.from_dict`` is not needed.

    Call it before ``super().__init__()``. Checked on marshmallow 4.4.
    """
    schema._declared_fields = dict(declared)
