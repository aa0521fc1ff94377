"""A histogram of durations in log-spaced buckets, shared by the profiler and the metrics.

The bucket layout is defined here and nowhere else: :attr:`LogHistogram.STEPS` buckets per
doubling of duration, counted in microseconds. Bucket ``0`` holds durations below 1 us, and
bucket ``b`` (``b >= 1``) holds durations from ``2 ** ((b - 1) / STEPS)`` up to, not
including, ``2 ** (b / STEPS)`` microseconds. So bucket ``STEPS * k`` ends exactly at
``2 ** k`` us, which is what lets the Prometheus exposition use powers of two as its upper
bounds and add up whole buckets.
"""

from __future__ import annotations

import math
import typing as t

_log2 = math.log2


class LogHistogram:
    """Counts of durations per log-spaced bucket.

    :param counts: Counts to start from, by bucket.
    """

    __slots__ = ("counts",)

    #: Buckets per doubling of duration: each about 19 % wide, so a percentile read from
    #: the middle of its bucket is within 9 % of the exact value.
    STEPS: t.ClassVar[int] = 4

    def __init__(self, counts: t.Mapping[int, int] | None = None) -> None:
        #: The count of each bucket that has one.
        self.counts: dict[int, int] = dict(counts) if counts else {}

    @classmethod
    def bucket(cls, seconds: float) -> int:
        """The bucket that holds a duration of ``seconds``."""
        return int(math.log2(seconds * 1e6) * cls.STEPS) + 1 if seconds >= 1e-6 else 0

    @classmethod
    def upper_edge(cls, bucket: int) -> float:
        """The end of ``bucket`` in seconds: its durations are all below it."""
        return 2 ** (bucket / cls.STEPS) / 1e6

    @classmethod
    def middle(cls, bucket: int) -> float:
        """The middle of ``bucket`` on a log scale, in seconds; ``0.0`` for bucket 0."""
        return 0.0 if bucket == 0 else 2 ** ((bucket - 0.5) / cls.STEPS) / 1e6

    @classmethod
    def power_of_two_edge(cls, exponent: int) -> int:
        """The bucket that ends exactly at ``2 ** exponent`` microseconds."""
        return cls.STEPS * exponent

    def add(self, seconds: float) -> None:
        """Count one duration of ``seconds``."""
        # bucket(), inlined: this runs for every statement.
        bucket = int(_log2(seconds * 1e6) * self.STEPS) + 1 if seconds >= 1e-6 else 0
        counts = self.counts
        counts[bucket] = counts.get(bucket, 0) + 1

    def merge(self, counts: t.Mapping[int, int]) -> None:
        """Add the bucket counts of another histogram.

        :param counts: Counts by bucket, such as another histogram's :attr:`counts`.
        """
        mine = self.counts
        for bucket, count in counts.items():
            mine[bucket] = mine.get(bucket, 0) + count

    def percentile(self, fraction: float, low: float, high: float) -> float:
        """The duration below which ``fraction`` of the counted durations fall, in seconds.

        :param fraction: Between 0 and 1, such as ``0.95``.
        :param low: The smallest duration counted; the result is never below it.
        :param high: The largest duration counted; the result is never above it.
        """
        wanted = fraction * sum(self.counts.values())
        seen = 0
        for bucket in sorted(self.counts):
            seen += self.counts[bucket]
            if seen >= wanted:
                return min(max(self.middle(bucket), low), high)
        return high
