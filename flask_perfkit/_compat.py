"""Every use of a private name of SQLAlchemy, cachelib, Flask-Caching or Flask-SQLAlchemy.

Each is behind a small function that says what it reads and on which versions it was
checked, so that a new release of a dependency breaks in this module only. ``make test-min``
runs the suite on the oldest supported versions, ``make test`` on the newest.
"""

from __future__ import annotations

import typing as t
from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.sql import sqltypes
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.elements import _label_reference
from sqlalchemy.sql.elements import _textual_label_reference

# SQLAlchemy: statements (pagination)

_ORDER_BY_NAMES = (TextClause, _label_reference, _textual_label_reference)
#: A ``select()`` of any columns.
_AnySelect: t.TypeAlias = "sa.Select[*tuple[t.Any, ...]]"


def order_by_clauses(stmt: _AnySelect) -> tuple[t.Any, ...]:
    """The ORDER BY elements of a ``select()``, as given to ``order_by()``.

    Reads ``Select._order_by_clauses``; checked on SQLAlchemy 2.0 and 2.1.
    """
    return tuple(stmt._order_by_clauses)


def select_columns(stmt: _AnySelect) -> tuple[t.Any, ...]:
    """The columns and entities of a ``select()``, as given to it (an entity stays one
    element, not its columns).

    Reads ``Select._raw_columns``; checked on SQLAlchemy 2.0 and 2.1.
    """
    return tuple(stmt._raw_columns)


def has_explicit_froms(stmt: _AnySelect) -> bool:
    """Whether a ``select()`` was given a FROM or a join of its own (``select_from()``,
    ``join()``), beyond what its columns imply.

    Reads ``Select._from_obj`` and ``Select._setup_joins``; checked on SQLAlchemy 2.0 and
    2.1.
    """
    return bool(stmt._from_obj or stmt._setup_joins)


def parent_entity(element: t.Any) -> t.Any:
    """The mapped entity an ORM-annotated element came from (``Post.id`` gives ``Post``'s
    mapper), or ``None`` for a plain element.

    Reads the ``parententity`` of ``ClauseElement._annotations``; checked on SQLAlchemy 2.0
    and 2.1.
    """
    annotations = getattr(element, "_annotations", None)
    return annotations.get("parententity") if annotations else None


def limit_clause(rows: int) -> t.Any:
    """The LIMIT clause element of ``rows`` rows, which ``Select.limit()`` takes as it is.

    Reads ``Select._limit_clause``; checked on SQLAlchemy 2.0 and 2.1.
    """
    return sa.select(sa.null()).limit(rows)._limit_clause


def is_order_by_name(element: t.Any) -> bool:
    """Whether an ORDER BY element names a column by text (``order_by("name")``,
    ``order_by(text("name"))``) rather than being a column expression.

    Tests for ``_label_reference`` and ``_textual_label_reference`` of
    ``sqlalchemy.sql.elements``; checked on SQLAlchemy 2.0 and 2.1.
    """
    return isinstance(element, _ORDER_BY_NAMES)


def needs_unique(result: sa.Result[t.Any]) -> bool:
    """Whether the ORM marked a result as needing ``unique()`` (joined eager loading of a
    collection repeats an entity over several rows). ``True`` when the mark cannot be read.

    Reads ``Result._unique_filter_state``; checked on SQLAlchemy 2.0 and 2.1.
    """
    return getattr(result, "_unique_filter_state", True) is not None


def type_affinity(column_type: sa.types.TypeEngine[t.Any]) -> type | None:
    """The generic type class (``Integer``, ``String``, ...) a column type behaves as.

    Reads ``TypeEngine._type_affinity``; checked on SQLAlchemy 2.0 and 2.1.
    """
    return t.cast("type | None", column_type._type_affinity)


def is_interval(column_type: sa.types.TypeEngine[t.Any]) -> bool:
    """Whether a column type is an interval (``Interval``, PostgreSQL's ``INTERVAL``, ...).

    Tests for ``sqlalchemy.sql.sqltypes._AbstractInterval``; checked on SQLAlchemy 2.0 and
    2.1.
    """
    return isinstance(column_type, sqltypes._AbstractInterval)


def is_binary(affinity: type | None) -> bool:
    """Whether a type affinity (see :func:`type_affinity`) is a binary type.

    Tests for a subclass of ``sqlalchemy.sql.sqltypes._Binary``; checked on SQLAlchemy 2.0
    and 2.1.
    """
    return affinity is not None and issubclass(affinity, sqltypes._Binary)


# SQLAlchemy: engines and pools


def pool_argument_names() -> Mapping[str, str]:
    """The ``create_engine`` name of each pool argument whose name differs on the pool.

    Reads ``sqlalchemy.engine.create._pool_translate_kwargs`` (``{"timeout": "pool_timeout",
    ...}``), an empty mapping when it is gone. Checked on SQLAlchemy 2.0 and 2.1.
    """
    from sqlalchemy.engine import create

    return getattr(create, "_pool_translate_kwargs", {})


# cachelib and Flask-Caching

# Flask-SQLAlchemy
