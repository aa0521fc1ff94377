"""A pytest plugin that records every distinct SQL statement the test suite runs.

``python -m benchmarks.normalize --capture`` runs the suite with it (the example app's tests
included) and writes the corpus the normalization benchmark reads::

    python -m pytest -p benchmarks._capture

The corpus goes to :data:`CORPUS`, one ``[dialect, statement]`` pair per distinct statement,
in the order first seen.
"""

from __future__ import annotations

import gzip
import json
import typing as t
from pathlib import Path

import pytest
import sqlalchemy as sa

CORPUS = Path(__file__).parent / "corpus" / "statements.json.gz"
#: Longer statements are left out: the benchmark times the bulk insert on its own.
MAX_LENGTH = 20_000

_seen: dict[tuple[str, str], None] = {}


def _record(
    conn: sa.Connection, cursor: t.Any, statement: str, params: t.Any, context: t.Any, many: bool
) -> None:
    if len(statement) <= MAX_LENGTH:
        _seen.setdefault((conn.dialect.name, statement), None)


def pytest_sessionstart(session: pytest.Session) -> None:
    sa.event.listen(sa.Engine, "before_cursor_execute", _record)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    sa.event.remove(sa.Engine, "before_cursor_execute", _record)
    CORPUS.parent.mkdir(exist_ok=True)
    with gzip.open(CORPUS, "wt", encoding="utf-8") as file:
        json.dump([list(key) for key in _seen], file, ensure_ascii=False, indent=0)
