"""Database outages: connection timeouts and a circuit breaker for each engine.

Every engine PerfKit watches gets an :class:`EngineGuard` (:mod:`.guard`):

- A ``do_connect`` listener gives each new connection the driver's connect timeout
  (``PERFKIT_DB_CONNECT_TIMEOUT``) and, when set, a statement timeout
  (``PERFKIT_DB_STATEMENT_TIMEOUT``). A value the user set in ``connect_args`` or the URL wins
  (:mod:`.timeouts`).
- The pool's connection function is wrapped by a :class:`CircuitBreaker` (:mod:`.state`,
  :mod:`.checkout`). After ``PERFKIT_DB_BREAKER_FAILURES`` consecutive connection-level
  failures it opens for ``PERFKIT_DB_BREAKER_SECONDS``: a checkout that needs a new
  connection then fails at once with :exc:`.DatabaseCircuitOpen`, without touching the
  network. After the open period one trial connection (half-open) decides whether it closes
  or opens again.
- A ``handle_error`` listener counts disconnects toward the breaker and, inside a request,
  raises connectivity errors as :exc:`.DatabaseUnavailable` (HTTP 503), which is also an
  instance of the SQLAlchemy error class.
- A ``QueuePool`` checkout waiting for a free connection fails as soon as the breaker opens,
  instead of waiting out ``pool_timeout`` for places held by connection attempts that fail.

A healthy checkout of a pooled connection runs SQLAlchemy's code alone: only opening a
connection, waiting for one, and failing pass through the breaker.
"""

from __future__ import annotations

from .checkout import BreakerWait as BreakerWait
from .checkout import GuardedCreator as GuardedCreator
from .guard import EngineGuard as EngineGuard
from .guard import find_guard as find_guard
from .guard import guard_engine as guard_engine
from .state import BreakerState as BreakerState
from .state import ChangeListener as ChangeListener
from .state import CircuitBreaker as CircuitBreaker
from .timeouts import DriverTimeouts as DriverTimeouts
from .timeouts import connect_timeout_params as connect_timeout_params
