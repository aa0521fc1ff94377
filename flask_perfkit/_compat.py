"""Every use of a private name of SQLAlchemy, cachelib, Flask-Caching or Flask-SQLAlchemy.

Each is behind a small function that says what it reads and on which versions it was
checked, so that a new release of a dependency breaks in this module only. ``make test-min``
runs the suite on the oldest supported versions, ``make test`` on the newest.
"""

from __future__ import annotations

import typing as t
from collections.abc import Mapping
from time import perf_counter

# SQLAlchemy: statements (pagination)

# SQLAlchemy: engines and pools


def mark_statement_start(
    conn: t.Any, cursor: t.Any, statement: str, parameters: t.Any, context: t.Any, many: bool
) -> None:
    """Store the start time of a statement on its execution context.

    The profiler's ``before_cursor_execute`` listener. It sets ``_perfkit_start``, an
    attribute of PerfKit's own, on the ``DefaultExecutionContext`` (which has no
    ``__slots__``), as Flask-SQLAlchemy's ``record_queries`` sets ``_fsa_start_time``.
    Checked on SQLAlchemy 2.0 and 2.1.
    """
    context._perfkit_start = perf_counter()


def statement_duration(context: t.Any) -> float | None:
    """Seconds since :func:`mark_statement_start` ran for ``context``.

    Reads ``_perfkit_start`` from the execution context; ``None`` when it is not there, as
    for a statement that started before the listener was attached. Checked on SQLAlchemy
    2.0 and 2.1.
    """
    try:
        return perf_counter() - context._perfkit_start  # type: ignore[no-any-return]
    except AttributeError:
        return None


def pool_argument_names() -> Mapping[str, str]:
    """The ``create_engine`` name of each pool argument whose name differs on the pool.

    Reads ``sqlalchemy.engine.create._pool_translate_kwargs`` (``{"timeout": "pool_timeout",
    ...}``), an empty mapping when it is gone. Checked on SQLAlchemy 2.0 and 2.1.
    """
    from sqlalchemy.engine import create

    return getattr(create, "_pool_translate_kwargs", {})


# cachelib and Flask-Caching

# Flask-SQLAlchemy
