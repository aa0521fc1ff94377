"""The history of an app's numbers: points rolled up from the totals PerfKit keeps anyway,
served by ``GET /health/history`` and drawn by the dashboard.

Two rings of points are kept in the process: a fine one (by default a point every 10 seconds
for the last hour) and a coarse one (a point a minute for the last 24 hours). A point is
rolled up lazily, by the first request after its interval ends, rather than by a thread of
its own; :ref:`history` says why.
"""

from __future__ import annotations

from ._points import QUANTILES
from ._points import TOP_PATTERNS
from ._points import quantile_ms
from ._rings import RANGES
from ._rings import History
from ._rings import Reading
from ._rings import Ring

__all__ = [
    "QUANTILES",
    "RANGES",
    "TOP_PATTERNS",
    "History",
    "Reading",
    "Ring",
    "quantile_ms",
]
