"""The one time format PerfKit serves."""

from __future__ import annotations

import datetime
import time


def iso_time(timestamp: float | None = None) -> str:
    """``timestamp`` (by default now) as an ISO 8601 UTC time to the millisecond, the one
    format of every time PerfKit serves: ``2026-01-31T12:00:00.000+00:00``.

    :param timestamp: Seconds since the epoch, as :func:`time.time` returns.
    """
    if timestamp is None:
        timestamp = time.time()
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).isoformat(
        timespec="milliseconds"
    )
