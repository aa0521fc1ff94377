"""Testing with PerfKit: the recorder, records and checks behind the pytest plugin.

The plugin itself is :mod:`flask_perfkit.pytest_plugin`; see :doc:`/testing`. The modules of
this package, one per concern: :mod:`.hub` (the engine listeners), :mod:`.recording` (a
test's statements and its N+1 queries), :mod:`.queries` (the ``perfkit_queries`` recorder),
:mod:`.errors`, :mod:`.site` (the user's line), :mod:`.snapshots`
(``.perfkit-queries.json``), :mod:`.explain` (``--perfkit-explain``), :mod:`.report`
(messages and the terminal summary), :mod:`.markers` (the markers' arguments) and
:mod:`.session` (the hooks).

The names below are imported the first time they are used: the plugin is loaded by every
pytest run of the environment, and a run that watches no test imports neither Flask nor
SQLAlchemy for it.
"""

from __future__ import annotations

import importlib
import typing as t

if t.TYPE_CHECKING:
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

_SOURCES = {
    "NPlusOneWarning": "errors",
    "QueryCountError": "errors",
    "SeqScanWarning": "errors",
    "QueryPattern": "queries",
    "QueryRecorder": "queries",
    "RecordedQueries": "queries",
}


def __getattr__(name: str) -> t.Any:
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{source}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
