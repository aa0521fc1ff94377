"""Signals sent by flask-perfkit.

Each signal is sent with the Flask application as the sender, so a receiver can subscribe for
one app with ``signal.connect_via(app)``.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: Sent when a statement takes at least ``PERFKIT_SLOW_QUERY_MS``. Keyword argument: ``record``.
slow_query = _signals.signal("slow-query")

#: Sent when one request runs a SELECT pattern at least ``PERFKIT_N_PLUS_ONE_THRESHOLD``
#: times. Keyword argument: ``suspect``.
n_plus_one = _signals.signal("n-plus-one")

#: Sent when the cache backend fails and a call runs uncached. Keyword arguments: ``tier``,
#: ``error`` (a short summary, never the key or value).
cache_error = _signals.signal("cache-error")

#: Sent when a health check's status changes. Keyword arguments: ``check`` (its name),
#: ``old`` and ``new`` (``"pass"``, ``"warn"``, ``"fail"``; ``old`` is ``None`` the first time).
health_changed = _signals.signal("health-changed")

#: Sent when the circuit breaker of a database engine changes state. Keyword arguments:
#: ``bind`` (the bind name), ``old`` and ``new`` (``"closed"``, ``"open"``, ``"half_open"``).
db_breaker_changed = _signals.signal("db-breaker-changed")
