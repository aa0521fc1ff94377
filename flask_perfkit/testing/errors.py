"""The exceptions and warnings of the pytest plugin."""

from __future__ import annotations

from ..errors import PerfKitError


class QueryCountError(PerfKitError, AssertionError):
    """A count of statements is not what a test asserted: raised by
    :meth:`RecordedQueries.assert_count` and :meth:`RecordedQueries.assert_max`.

    :param message: What was expected, what ran, and the patterns that ran most.
    :param count: The statements that ran.
    """

    def __init__(self, message: str, count: int) -> None:
        super().__init__(message)
        self.count = count


class NPlusOneWarning(UserWarning):
    """An N+1 query of a watched test, under ``--perfkit-n-plus-one=warn``."""


class SeqScanWarning(UserWarning):
    """A sequential scan with a filter on a large table, found by ``--perfkit-explain``."""


# Documented and shown as names of the package, where they are imported from.
for _public in (NPlusOneWarning, QueryCountError, SeqScanWarning):
    _public.__module__ = "flask_perfkit.testing"
