"""The circuit breaker in front of a cache backend, and how its failures are reported.

After ``PERFKIT_CACHE_BREAKER_FAILURES`` failures in a row the backend is left alone for
``PERFKIT_CACHE_BREAKER_SECONDS``, so a black-holed Redis does not add its timeout to every
call. Each failure is signalled; it is logged at most once a minute per tier.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import weakref

from flask import Flask

from ..checks import summarize_error
from ..signals import cache_error
from .tiers import Tier

logger = logging.getLogger("flask_perfkit")

#: Seconds between two log lines about one tier's backend errors.
LOG_INTERVAL = 60.0


@dataclasses.dataclass(frozen=True)
class BackendStatus:
    """The backend's class, whether the breaker is open, and the last error summary."""

    backend: str
    circuit_open: bool
    last_error: str | None


class BackendGuard:
    """Counts a backend's failures in a row and opens the breaker after too many.

    :param failures: Failures in a row that open the breaker.
    :param seconds: How long the breaker stays open.
    :param app: The app, the sender of :data:`~flask_perfkit.signals.cache_error`; held
        weakly.
    """

    def __init__(self, failures: int, seconds: float, app: Flask) -> None:
        self.max_failures = failures
        self.seconds = seconds
        #: Failures in a row; read without the lock on the path of every call.
        self.failures = 0
        #: When the breaker closes again, on the monotonic clock; 0 when it is closed.
        self.open_until = 0.0
        #: The summary of the last failure.
        self.last_error: str | None = None
        self._app = weakref.ref(app)
        self._lock = threading.Lock()
        self._last_log: dict[Tier, float] = {}

    @property
    def is_open(self) -> bool:
        """Whether the backend is being left alone after repeated failures."""
        return time.monotonic() < self.open_until

    def failed(self, tier: Tier, exc: BaseException, backend_name: str) -> None:
        """Count a failure of the backend, log it (once a minute per tier) and signal it.

        :param backend_name: The backend's class name, for the log line.
        """
        summary = summarize_error(exc)
        now = time.monotonic()
        with self._lock:
            self.failures += 1
            self.last_error = summary
            if self.failures >= self.max_failures:
                self.open_until = now + self.seconds
            should_log = now - self._last_log.get(tier, -LOG_INTERVAL) >= LOG_INTERVAL
            if should_log:
                self._last_log[tier] = now
        if should_log:
            logger.warning(
                "The %s cache backend failed (%s); calls run uncached.", backend_name, summary
            )
        app = self._app()
        if app is not None:
            cache_error.send(app, tier=tier.value, error=summary)

    def succeeded(self) -> None:
        """Close the breaker and start counting failures again."""
        if self.failures:
            with self._lock:
                self.failures = 0
                self.open_until = 0.0
