"""The plan of a statement: what it selects from and its walk, remembered per app."""

from __future__ import annotations

import dataclasses
import typing as t

from sqlalchemy.sql.elements import UnaryExpression

from .. import _compat
from .._bounded import BoundedMemo
from . import ordering
from .page import AnySelect
from .walk import Walk


@dataclasses.dataclass(frozen=True)
class Plan:
    """How a statement is paged: what it selects from, and its walk when it has keys."""

    source: ordering.Source
    walk: Walk | None


def plan(stmt: AnySelect, dialect: str, plans: BoundedMemo[tuple[t.Any, ...], Plan]) -> Plan:
    """The plan of ``stmt`` on the database of ``dialect``, remembered in ``plans`` (the
    app's) for statements without joins.

    Building a plan (reading the statement's entities and ORDER BY, and building the SQL of
    its walk) costs more than the rest of a page's own work in Python: without this memo the
    ``pagination`` benchmark's deep cursor page spends about 200 µs more per page, which
    takes it well past 1.5x of the raw keyset endpoint. The columns a statement selects and
    the elements of its ORDER BY are the same objects each time a view builds it, while its
    filters do not matter here, so a view's query finds its plan without looking into it
    again. Plans are kept per app, at most ``PERFKIT_MAX_PAGE_PLANS`` of them.

    :raises PaginationUsageError: The ORDER BY names a column by text.
    """
    signature = _signature(stmt, dialect)
    found = plans.get(signature) if signature is not None else None
    if found is None:
        found = build(stmt, dialect)
        if signature is not None:
            plans.put(signature, found)
    return found


def build(stmt: AnySelect, dialect: str) -> Plan:
    """The plan of ``stmt``, built anew.

    :raises PaginationUsageError: The ORDER BY names a column by text.
    """
    source = ordering.source(stmt)
    keys = ordering.keys(stmt, source, dialect)
    return Plan(source, Walk(keys, source, dialect) if keys else None)


def _signature(stmt: AnySelect, dialect: str) -> tuple[t.Any, ...] | None:
    """What decides the plan of a statement without joins, or ``None`` for one with them.

    SQLAlchemy's column elements hash by identity, and compare equal only to themselves or
    to the annotated copies that wrap them, so each element's type and entity are part of
    the signature.
    """
    if _compat.has_explicit_froms(stmt):
        return None
    order: list[t.Any] = []
    for clause in _compat.order_by_clauses(stmt):
        modifiers: list[t.Any] = []
        while isinstance(clause, UnaryExpression) and len(modifiers) < 2:
            modifiers.append(clause.modifier)
            clause = clause.element
        if isinstance(clause, UnaryExpression):
            return None
        order.append((*modifiers, type(clause), clause, _compat.parent_entity(clause)))
    columns = [(type(c), c, _compat.parent_entity(c)) for c in _compat.select_columns(stmt)]
    return (dialect, *columns, None, *order)
