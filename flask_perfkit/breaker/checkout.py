"""The breaker in front of a pool: its connection function and its wait for a free connection.

A healthy checkout of a pooled connection runs SQLAlchemy's code alone: only opening a
connection, waiting for one, and failing pass through here.
"""

from __future__ import annotations

import contextlib
import threading
import typing as t

import sqlalchemy as sa

from .._compat import PoolInvoker
from .._compat import pool_creator
from .._compat import pool_invoker
from .._compat import pool_queue
from .._compat import queue_mutex
from .._compat import queue_wait_owner
from .._compat import set_pool_creator
from .._compat import set_queue_wait
from .state import BreakerState
from .state import CircuitBreaker
from .timeouts import probe_state

#: Set on a DBAPI exception raised while opening a connection.
CONNECT_FAILED = "_perfkit_connect_failed"
#: In the ``info`` of a connection opened while failures were counted, until it answers.
UNPROVEN = "perfkit_unproven"
# How often a checkout waiting for a free connection looks whether the breaker opened.
_WAIT_SLICE = 0.1


class GuardedCreator:
    """A pool's connection function behind a circuit breaker.

    :param owner: The guard that made it, so that it wraps a pool once.
    :param invoke: The pool's own way to call its connection function.
    :param breaker: The breaker of the pool's engine.
    :param dbapi_error: The driver's base error class: what counts as a failed connect.
    :param prepare: Called before every attempt, before the breaker is asked.
    """

    def __init__(
        self,
        owner: object,
        invoke: PoolInvoker,
        breaker: CircuitBreaker,
        dbapi_error: type[BaseException],
        prepare: t.Callable[[], None],
    ) -> None:
        self.owner = owner
        self.invoke = invoke
        self.breaker = breaker
        self.dbapi_error = dbapi_error
        self.prepare = prepare

    def __call__(self, connection_record: t.Any) -> t.Any:
        """Open a connection, unless the breaker refuses.

        :raises DatabaseCircuitOpen: The breaker is open.
        """
        self.prepare()
        breaker = self.breaker
        breaker.before_attempt(count=probe_state.timeout is None)
        try:
            connection = self.invoke(connection_record)
        except self.dbapi_error as exc:
            with contextlib.suppress(AttributeError, TypeError):
                setattr(exc, CONNECT_FAILED, True)
            breaker.record_failure()
            raise
        if (
            breaker.consecutive_failures or breaker.state is not BreakerState.CLOSED
        ) and connection_record is not None:
            # Its first statement answered decides (see CircuitBreaker.record_success).
            connection_record.info[UNPROVEN] = True
        return connection


def wrap_creator(
    pool: sa.pool.Pool,
    owner: object,
    breaker: CircuitBreaker,
    dbapi_error: type[BaseException],
    prepare: t.Callable[[], None],
) -> None:
    """Put ``breaker`` in front of ``pool``'s connection function, once per ``owner``.

    Pools made later by ``dispose()`` or ``recreate()`` keep the wrapped function.
    """
    installed = getattr(pool_creator(pool), "__self__", None)
    if isinstance(installed, GuardedCreator) and installed.owner is owner:
        return
    guarded = GuardedCreator(owner, pool_invoker(pool), breaker, dbapi_error, prepare)
    # The bound method, not the object: SQLAlchemy reads the signature of the function it
    # is given, and reads a method's in one step.
    set_pool_creator(pool, guarded.__call__)


class BreakerWait(threading.Condition):
    """The wait of a ``QueuePool``'s queue, cut into slices that look at the breaker.

    :param lock: The queue's mutex.
    :param breaker: The breaker of the pool's engine.
    """

    def __init__(self, lock: t.Any, breaker: CircuitBreaker) -> None:
        super().__init__(lock)
        self.breaker = breaker

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a returned connection, at most one slice at a time.

        :raises DatabaseCircuitOpen: The breaker is not closed.
        """
        breaker = self.breaker
        if breaker.threshold == 0:
            return super().wait(timeout)
        if breaker.state is not BreakerState.CLOSED:
            raise breaker.reject()
        return super().wait(_WAIT_SLICE if timeout is None else min(timeout, _WAIT_SLICE))


def wrap_wait(pool: sa.pool.Pool, breaker: CircuitBreaker, owner: object) -> None:
    """Let a checkout waiting for a free ``QueuePool`` connection fail once the breaker opens.

    SQLAlchemy wakes a waiting checkout only when a connection is returned, not when a
    connection attempt fails and frees its place. While the database is unreachable every
    place is taken by an attempt that will fail, so a waiting checkout would wait the whole
    ``pool_timeout``. Waiting checkouts look at the breaker every few milliseconds
    instead, and one made while the breaker is open fails at once. Only the queue's wait
    is replaced: a checkout that finds an idle connection or room to open one runs
    SQLAlchemy's own code, with no extra step. Done once per ``owner``.
    """
    queue = pool_queue(pool)
    if queue is None or queue_wait_owner(queue) is owner:
        return
    set_queue_wait(queue, BreakerWait(queue_mutex(queue), breaker), owner)
