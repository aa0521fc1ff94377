"""The units the profiler serves: milliseconds and ISO 8601 times."""

from __future__ import annotations

from .._time import iso_time

#: ``timestamp`` as an ISO 8601 UTC time to the millisecond: PerfKit's one time format.
iso = iso_time


def ms(seconds: float) -> float:
    """``seconds`` in milliseconds, to the microsecond."""
    return round(seconds * 1000, 3)
