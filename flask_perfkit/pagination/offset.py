"""Offset pages: LIMIT and OFFSET, numbered from 1, with a count of the rows when asked."""

from __future__ import annotations

import dataclasses
import math

import sqlalchemy as sa
from sqlalchemy import orm

from ..cursors import CursorCodec
from .keyset import serve
from .page import AnySelect
from .page import Page
from .page import PageMetadata
from .plan import Plan
from .walk import PageQuery
from .walk import split
from .walk import unique


@dataclasses.dataclass(frozen=True)
class OffsetRequest:
    """Which offset page to read, and how to count the rows."""

    #: The page number, from 1.
    number: int
    #: Whether to count the rows for ``total``.
    count: bool
    #: Count at most this many rows and report ``None`` beyond them; ``None`` for no cap.
    cap: int | None


def offset_page(
    query: PageQuery, plan: Plan, request: OffsetRequest, codec: CursorCodec | None
) -> Page:
    """The page ``request.number`` of ``query``.

    With a walk, rows are read in its total order, so pages neither overlap nor leave rows
    out, and the page carries cursors when ``codec`` is given.
    """
    number, size = request.number, query.size
    offset = (number - 1) * size
    next_cursor = prev_cursor = None
    walk = plan.walk
    if walk is None:
        stmt = query.stmt.limit(size + 1).offset(offset)
        fetched = unique(query.session.execute(stmt)).all()
        items, _ = split(fetched[:size], 0)
        has_next = len(fetched) > size
    else:
        rows = walk.read(query, offset=offset)
        items, has_next = rows.items, rows.more
        if codec is not None and items:
            if has_next:
                next_cursor = serve(codec.encode(rows.key(-1), False, walk.fingerprint))
            if number > 1:
                prev_cursor = serve(codec.encode(rows.key(0), True, walk.fingerprint))
    total = _count(query, plan, request.cap) if request.count else None
    metadata = PageMetadata(
        total=total,
        page=number,
        page_size=size,
        total_pages=None if total is None else math.ceil(total / size),
        has_next=has_next,
        has_prev=number > 1,
        next_cursor=next_cursor,
        prev_cursor=prev_cursor,
        strategy="offset",
    )
    return Page(items, metadata)


def _count(query: PageQuery, plan: Plan, cap: int | None) -> int | None:
    inner: AnySelect = query.stmt.order_by(None)
    if plan.source.mapper is not None:
        inner = inner.options(orm.lazyload("*"))
    if cap is not None:
        inner = inner.limit(cap + 1)
    counted = sa.select(sa.func.count()).select_from(inner.subquery())
    total = int(query.session.execute(counted).scalar_one())
    return None if cap is not None and total > cap else total
