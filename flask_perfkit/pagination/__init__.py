"""``paginate``: offset pages, keyset (cursor) pages, or an automatic choice.

The public helper is :func:`paginate`, which returns a :class:`Page`. Its modules:

- ``helper``: :func:`paginate` itself, reading its arguments and choosing the strategy;
- ``page``: :class:`Page` and :class:`PageMetadata`;
- ``offset``: offset pages (LIMIT/OFFSET) and their count;
- ``keyset``: keyset pages, continuing from the row a cursor names;
- ``walk``: the cursor plan of a statement, which reads rows in its total order;
- ``ordering``: the keys of that order, from the ORDER BY and the primary key;
- ``predicates``: the WHERE clause of the rows beyond a boundary row.
"""

from __future__ import annotations

from .helper import paginate
from .page import AnySelect
from .page import Page
from .page import PageMetadata
from .page import Strategy
from .plan import Plan

__all__ = ["AnySelect", "Page", "PageMetadata", "Plan", "Strategy", "paginate"]
