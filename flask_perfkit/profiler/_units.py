"""The units the profiler serves: milliseconds and ISO 8601 times."""

from __future__ import annotations

import datetime


def iso(timestamp: float) -> str:
    """``timestamp`` as an ISO 8601 UTC time to the millisecond."""
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).isoformat(
        timespec="milliseconds"
    )


def ms(seconds: float) -> float:
    """``seconds`` in milliseconds, to the microsecond."""
    return round(seconds * 1000, 3)
