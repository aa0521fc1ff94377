"""The cursor plan of a statement: how pages are read in its order and where a page ends.

Pages with a walk are read in the walk's total order (the query's ORDER BY and the primary
key), with the key values of the first and last rows at hand for cursors. Keyset pages
continue from the boundary row's ordering values instead of skipping rows, so a deep page
costs what the first one does. Walking backward flips the ORDER BY and reverses the rows
fetched. The boundary values are bound parameters, so SQLAlchemy's compiled cache serves
every page of an ordering after the first.
"""

from __future__ import annotations

import dataclasses
import typing as t

import sqlalchemy as sa
from sqlalchemy import orm

from .. import _compat
from ..cursors import fingerprint
from ..cursors import value_reader
from ..errors import InvalidCursor
from . import ordering
from .page import AnySelect
from .predicates import ROW_VALUE_DIALECTS
from .predicates import after

_LABEL = "_perfkit_key_"


@dataclasses.dataclass(slots=True)
class PageQuery:
    """One page to read: the statement, the session it runs in, and the rows per page."""

    session: orm.Session
    stmt: AnySelect
    size: int


@dataclasses.dataclass(slots=True)
class Rows:
    """The items of a page and the key values of its first and last rows."""

    items: list[t.Any]
    #: Whether a row lay beyond the page.
    more: bool
    #: The attribute names of the keys on each item, when items are instances.
    names: list[str] | None = None
    #: The key values of each item, when they were selected with it.
    values: list[list[t.Any]] | None = None

    def key(self, index: int) -> list[t.Any]:
        """The key values of the item at ``index``."""
        if self.values is not None:
            return self.values[index]
        item = self.items[index]
        return [getattr(item, name) for name in t.cast(list[str], self.names)]

    def reverse(self) -> None:
        """Put the rows of a backward walk in the order of the walk forward."""
        self.items.reverse()
        if self.values is not None:
            self.values.reverse()


class Walk:
    """The ordering of one statement on one database, as pages read it.

    :param keys: The keys of the ordering, the tiebreaker included.
    :param source: What the statement selects from.
    :param dialect: The name of the database's dialect.
    """

    def __init__(self, keys: list[ordering.Key], source: ordering.Source, dialect: str) -> None:
        self.keys = keys
        self.source = source
        self.dialect = dialect
        self.fingerprint = fingerprint([k.describe() for k in keys])
        #: The attribute names of the keys on each row's instance, when rows are instances
        #: of a class that maps every key column: key values are then read from the
        #: instances instead of being selected again.
        self.names = _attribute_names(keys, source)
        self.readers = [value_reader(k.expr.type, dialect, k.nullable) for k in keys]
        self.labels = [k.expr.label(f"{_LABEL}{i}") for i, k in enumerate(keys)]
        self.backward_order = [k.order(True) for k in keys]
        #: Going forward, the query's own ORDER BY stands and only the tiebreaker is added.
        self.tiebreak = [k.order(False) for k in keys if k.appended]
        self.params = [
            sa.bindparam(f"{_LABEL}after_{i}", type_=k.expr.type) for i, k in enumerate(keys)
        ]
        self._param_names = [p.key for p in self.params]
        self.row_values = dialect in ROW_VALUE_DIALECTS
        self._predicates: dict[tuple[bool, tuple[bool, ...]], sa.ColumnElement[bool]] = {}
        self._limits: dict[int, t.Any] = {}

    def boundary(self, values: list[t.Any]) -> list[t.Any]:
        """The values to bind for a cursor's ``values``.

        :raises InvalidCursor: A value does not fit the type of its ordering column.
        """
        try:
            return [read(value) for read, value in zip(self.readers, values, strict=True)]
        except ValueError:
            raise InvalidCursor() from None

    def read(
        self,
        query: PageQuery,
        *,
        backward: bool = False,
        offset: int = 0,
        boundary: list[t.Any] | None = None,
    ) -> Rows:
        """Up to ``query.size`` rows in walking order, from ``offset`` or after ``boundary``."""
        stmt = query.stmt
        if self.names is None:
            stmt = stmt.add_columns(*self.labels)
        if backward:
            stmt = stmt.order_by(None).order_by(*self.backward_order)
        elif self.tiebreak:
            stmt = stmt.order_by(*self.tiebreak)
        params = None
        if boundary is not None:
            predicate, params = self._after(boundary, backward)
            stmt = stmt.where(predicate)
        size = query.size
        limit = self._limits.get(size)
        stmt = stmt.limit(self._limit(size) if limit is None else limit)
        if offset:
            stmt = stmt.offset(offset)
        rows = self._rows(unique(query.session.execute(stmt, params)), size)
        if backward:
            rows.reverse()
        return rows

    def _after(
        self, boundary: list[t.Any], backward: bool
    ) -> tuple[sa.ColumnElement[bool], dict[str, t.Any]]:
        """The predicate of the rows beyond ``boundary``, and its parameters.

        The boundary values are bound parameters, so a predicate depends only on the
        direction and on which values are NULL, and is built once for each: building one
        anew each page makes the ``pagination`` benchmark's deep cursor page measurably
        slower (about 10% of its time in Python).
        """
        nulls = tuple(value is None for value in boundary)
        predicate = self._predicates.get((backward, nulls))
        if predicate is None:
            predicate = after(self.keys, self.params, nulls, backward, self.row_values)
            self._predicates[backward, nulls] = predicate
        return predicate, dict(zip(self._param_names, boundary, strict=True))

    def _limit(self, size: int) -> t.Any:
        """The LIMIT clause of a page of ``size`` rows (one more row is read, to know
        whether another page follows), made once for each page size.

        SQLAlchemy coerces an int given to ``limit()`` into a bound parameter each time,
        which costs more than the rest of the clause: a few µs of the ``pagination``
        benchmark's deep cursor page (measured with the page's CPU time).
        """
        if len(self._limits) > 16:
            self._limits.clear()
        limit = self._limits[size] = _compat.limit_clause(size + 1)
        return limit

    def _rows(self, result: sa.Result[t.Any], size: int) -> Rows:
        if self.names is not None:
            items = list(result.scalars().all())
            return Rows(items[:size], len(items) > size, names=self.names)
        fetched = result.all()
        items, values = split(fetched[:size], len(self.keys))
        return Rows(items, len(fetched) > size, values=values)


def _attribute_names(keys: list[ordering.Key], source: ordering.Source) -> list[str] | None:
    mapper = source.mapper
    if mapper is None or not source.single:
        return None
    names = []
    for key in keys:
        expr = key.expr
        if not isinstance(expr, sa.Column) or expr.table is not source.own:
            return None
        try:
            names.append(mapper.get_property_by_column(expr).key)
        except orm.exc.UnmappedColumnError:
            return None
    return names


def unique(result: sa.Result[t.Any]) -> sa.Result[t.Any]:
    """``result``, made unique when the ORM marked it so (joined eager loading of a
    collection repeats an entity over several rows)."""
    return result.unique() if _compat.needs_unique(result) else result


def split(rows: t.Sequence[sa.Row[t.Any]], arity: int) -> tuple[list[t.Any], list[list[t.Any]]]:
    """The items of ``rows`` and the last ``arity`` values of each, its key values.

    An item is the row's one value, or a dict of its values when it has several.
    """
    items: list[t.Any] = []
    values: list[list[t.Any]] = []
    for row in rows:
        fields = tuple(row)
        head = fields[: len(fields) - arity]
        values.append(list(fields[len(head) :]))
        if len(head) == 1:
            items.append(head[0])
        else:
            names = list(row._fields)[: len(head)]
            items.append(dict(zip(names, head, strict=True)))
    return items, values
