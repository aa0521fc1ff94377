"""The circuit breaker's state machine: closed, open, half-open."""

from __future__ import annotations

import enum
import logging
import math
import threading
import time
import typing as t
import weakref

from ..errors import DatabaseCircuitOpen

logger = logging.getLogger("flask_perfkit")


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
        #: Connection-level failures since the last success. Read it freely; it changes
        #: under the lock.
        self.consecutive_failures = 0
        #: Times it opened.
        self.opens = 0
        #: Connection attempts it refused.
        self.rejected = 0
        #: When the state last changed, as a Unix time, or ``None``.
        self.changed_at: float | None = None
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
        :raises DatabaseCircuitOpen: The breaker is open, or another trial is under way.
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
        if self.state is BreakerState.CLOSED and self.consecutive_failures == 0:
            return
        with self._lock:
            self.consecutive_failures = 0
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
            self.consecutive_failures += 1
            old = self.state
            due = old is BreakerState.CLOSED and self.consecutive_failures >= self.threshold
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
                "consecutive_failures": self.consecutive_failures,
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
