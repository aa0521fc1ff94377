"""Testing with PerfKit: the recorder, records and checks behind the pytest plugin.

The plugin itself is :mod:`flask_perfkit.pytest_plugin`; see :doc:`/testing`. The modules of
this package, one per concern: :mod:`.hub` (the engine listeners), :mod:`.recording` (a
test's statements and its N+1 queries), :mod:`.queries` (the ``perfkit_queries`` recorder),
:mod:`.errors`, :mod:`.site` (the user's line), :mod:`.snapshots`
(``.perfkit-queries.json``), :mod:`.explain` (``--perfkit-explain``), :mod:`.report`
(messages and the terminal summary) and :mod:`.session` (the hooks).
"""

from __future__ import annotations

from .errors import NPlusOneWarning
from .errors import QueryCountError
from .errors import SeqScanWarning
from .queries import QueryPattern
from .queries import QueryRecorder
from .queries import RecordedQueries

__all__ = [
    "NPlusOneWarning",
    "QueryCountError",
    "QueryPattern",
    "QueryRecorder",
    "RecordedQueries",
    "SeqScanWarning",
]

for _public in (
    NPlusOneWarning,
    QueryCountError,
    QueryPattern,
    QueryRecorder,
    RecordedQueries,
    SeqScanWarning,
):
    _public.__module__ = __name__
