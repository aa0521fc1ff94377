"""The WHERE clause of a keyset page: the rows beyond the boundary row.

The predicate is the expanded form, NULL-aware in each database's own NULL placement, led by
a bound on the first ordering column so the database starts an index range scan at the
boundary. Walking backward flips every direction (each database's default NULL placement
flips with it).
"""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from .ordering import Key

#: Databases that turn ``(a, b) < (x, y)`` into an index range scan.
ROW_VALUE_DIALECTS = frozenset({"postgresql", "sqlite"})


def after(
    keys: list[Key],
    values: t.Sequence[t.Any],
    nulls: tuple[bool, ...],
    backward: bool,
    row_values: bool,
) -> ColumnElement[bool]:
    """Rows strictly beyond the boundary ``values`` in the walking direction.

    When every key is NOT NULL and runs one way, this is one comparison: a row value
    ``(k1, k2) < (v1, v2)`` where the database plans it as an index range. Otherwise it is
    the expanded form ``k1 > v1 OR (k1 = v1 AND k2 > v2) OR ...``, each step NULL-aware, led
    by the bound ``k1 >= v1`` that an index on the first column turns into a range scan.

    :param keys: The keys of the walk.
    :param values: The boundary value of each key, most often a bound parameter.
    :param nulls: Which boundary values are NULL.
    :param backward: Whether the walk goes backward.
    :param row_values: Whether the database plans row value comparisons as index ranges.
    """
    descending = keys[0].descending != backward
    simple = all(not k.nullable and k.descending == keys[0].descending for k in keys)
    if simple and row_values and len(keys) > 1 and not any(nulls):
        row = sa.tuple_(*(k.expr for k in keys))
        bound = sa.tuple_(*values)
        return row < bound if descending else row > bound
    given = [None if null else value for null, value in zip(nulls, values, strict=True)]
    alternatives = []
    for i, key in enumerate(keys):
        step = key.after(given[i], backward)
        if step is None:
            continue
        equal = [keys[j].equals(given[j]) for j in range(i)]
        alternatives.append(sa.and_(*equal, step))
    if not alternatives:
        return sa.false()
    predicate = sa.or_(*alternatives)
    first = keys[0].bound(given[0], backward) if len(keys) > 1 else None
    return predicate if first is None else sa.and_(first, predicate)
