"""The ordering of a statement, as keyset pages walk it: its keys and where its rows come from.

The query's ORDER BY, with the primary key appended as a tiebreaker, defines the walk. Each
key knows its direction, where its database places NULL, and whether it can be NULL at all,
and builds the comparisons of a keyset predicate for itself.
"""

from __future__ import annotations

import dataclasses
import typing as t

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.elements import Label
from sqlalchemy.sql.elements import UnaryExpression

from .. import _compat
from ..errors import PaginationUsageError
from .page import AnySelect

#: Databases that sort NULL above every value.
_NULLS_LARGE = frozenset({"postgresql", "oracle"})
_NULLS_MODIFIERS = (operators.nulls_first_op, operators.nulls_last_op)
_DIRECTION_MODIFIERS = (operators.desc_op, operators.asc_op)


@dataclasses.dataclass(frozen=True)
class Key:
    """One column of the walk's ordering."""

    expr: ColumnElement[t.Any]
    descending: bool
    nulls_first: bool
    #: Whether the database sorts NULL above every value (PostgreSQL, Oracle).
    nulls_large: bool
    #: ``False`` for a NOT NULL column of the query's own table, which needs no NULL cases.
    nullable: bool = True
    #: Added as a tiebreaker, not part of the query's own ORDER BY.
    appended: bool = False

    def order(self, backward: bool) -> ColumnElement[t.Any]:
        """The ORDER BY clause of this key, walking forward or ``backward``."""
        descending = self.descending != backward
        clause = self.expr.desc() if descending else self.expr.asc()
        nulls_first = self.nulls_first != backward
        if self.nullable and nulls_first != (descending if self.nulls_large else not descending):
            clause = clause.nulls_first() if nulls_first else clause.nulls_last()
        return clause

    def after(self, value: t.Any, backward: bool) -> ColumnElement[bool] | None:
        """Rows whose value of this key lies strictly beyond ``value`` (``None`` for NULL),
        or ``None`` when no row can."""
        descending = self.descending != backward
        nulls_first = self.nulls_first != backward
        if value is None:
            return self.expr.is_not(None) if nulls_first else None
        beyond: ColumnElement[bool] = self.expr < value if descending else self.expr > value
        if nulls_first or not self.nullable:
            return beyond
        return sa.or_(beyond, self.expr.is_(None))

    def bound(self, value: t.Any, backward: bool) -> ColumnElement[bool] | None:
        """Rows whose value of this key is ``value`` or beyond, or ``None`` for no bound."""
        if value is None:
            return None
        descending = self.descending != backward
        within: ColumnElement[bool] = self.expr <= value if descending else self.expr >= value
        if self.nulls_first != backward or not self.nullable:
            return within
        return sa.or_(within, self.expr.is_(None))

    def equals(self, value: t.Any) -> ColumnElement[bool]:
        """Rows whose value of this key is ``value`` (``None`` for NULL)."""
        return self.expr.is_(None) if value is None else self.expr == value

    def describe(self) -> str:
        """The key as text, for the fingerprint of an ordering."""
        return f"{self.expr} {'desc' if self.descending else 'asc'} {self.nulls_first:d}"


@dataclasses.dataclass(frozen=True)
class Source:
    """What a statement selects from, as far as paging cares."""

    #: The mapper of the first selected entity, when it is a plain mapped class.
    mapper: orm.Mapper[t.Any] | None
    #: The table whose NOT NULL columns are never NULL in the rows.
    own: t.Any
    #: Whether each row is just one instance of ``mapper``.
    single: bool


def source(stmt: AnySelect) -> Source:
    """What ``stmt`` selects from."""
    descriptions = stmt.column_descriptions
    entity = descriptions[0].get("entity") if descriptions else None
    mapper = sa.inspect(entity, raiseerr=False) if entity is not None else None
    if isinstance(mapper, orm.Mapper):
        single = len(descriptions) == 1 and descriptions[0].get("expr") is entity
        return Source(mapper, mapper.local_table, single)
    froms = stmt.get_final_froms()
    own = froms[0] if len(froms) == 1 else None
    while isinstance(own, sa.Join):
        own = None if own.full else own.left
    return Source(None, own, False)


def keys(stmt: AnySelect, source: Source, dialect: str) -> list[Key]:
    """The keys of the walk: the ORDER BY of ``stmt``, then the primary key columns it lacks.

    :raises PaginationUsageError: The ORDER BY names a column by text.
    """
    nulls_large = dialect in _NULLS_LARGE
    found = [_key(clause, source, nulls_large) for clause in _compat.order_by_clauses(stmt)]
    known = {str(k.expr) for k in found}
    # The tiebreaker runs the way the last ordering column runs, so one index on
    # (ordering columns..., primary key) serves the walk in both directions.
    descending = found[-1].descending if found else False
    nulls = descending if nulls_large else not descending
    for column in _primary_key(source):
        if str(column) not in known:
            found.append(Key(column, descending, nulls, nulls_large, False, appended=True))
    return found


def _key(clause: t.Any, source: Source, nulls_large: bool) -> Key:
    nulls: bool | None = None
    descending = False
    element: t.Any = clause
    if isinstance(element, UnaryExpression) and element.modifier in _NULLS_MODIFIERS:
        nulls = element.modifier is operators.nulls_first_op
        element = element.element
    if isinstance(element, UnaryExpression) and element.modifier in _DIRECTION_MODIFIERS:
        descending = element.modifier is operators.desc_op
        element = element.element
    if isinstance(element, Label):
        element = element.element
    if not isinstance(element, ColumnElement) or _compat.is_order_by_name(element):
        raise PaginationUsageError(
            "paginate() needs the query's ORDER BY to be column expressions such as"
            " Post.created_at.desc(), not names or text."
        )
    if nulls is None:
        nulls = descending if nulls_large else not descending
    nullable = not (
        isinstance(element, sa.Column) and not element.nullable and element.table is source.own
    )
    return Key(element, descending, nulls, nulls_large, nullable)


def _primary_key(source: Source) -> list[ColumnElement[t.Any]]:
    mapper = source.mapper
    if mapper is None:
        return list(getattr(source.own, "primary_key", None) or [])
    entity = mapper.class_
    return [
        getattr(entity, mapper.get_property_by_column(c).key).expression for c in mapper.primary_key
    ]
