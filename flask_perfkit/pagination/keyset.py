"""Keyset (cursor) pages: the rows after, or before, the boundary row a cursor names."""

from __future__ import annotations

from ..cursors import MAX_CURSOR_LENGTH
from ..cursors import CursorCodec
from .page import Page
from .page import PageMetadata
from .walk import PageQuery
from .walk import Walk


def keyset_page(query: PageQuery, walk: Walk, cursor: str | None, codec: CursorCodec) -> Page:
    """The page of ``query`` after (or, for a ``prev_cursor``, before) the row of ``cursor``,
    or the first page when ``cursor`` is ``None``.

    :raises InvalidCursor: The cursor was not made by this app for this ordering, or its
        values do not fit the ordering's columns.
    """
    print_ = walk.fingerprint
    backward = False
    if cursor:
        values, backward = codec.decode(cursor, print_, len(walk.keys))
        rows = walk.read(query, backward=backward, boundary=walk.boundary(values))
    else:
        rows = walk.read(query)
    items = rows.items
    # Going forward, a cursor means rows were left behind; going backward, the cursor's
    # own row lies ahead.
    has_next = bool(items) and (backward or rows.more)
    has_prev = bool(items) and (rows.more if backward else cursor is not None)
    metadata = PageMetadata(
        total=None,
        page=None,
        page_size=query.size,
        total_pages=None,
        has_next=has_next,
        has_prev=has_prev,
        next_cursor=serve(codec.encode(rows.key(-1), False, print_)) if has_next else None,
        prev_cursor=serve(codec.encode(rows.key(0), True, print_)) if has_prev else None,
        strategy="cursor",
    )
    return Page(items, metadata)


def serve(cursor: str) -> str | None:
    """``cursor``, or ``None`` when it is too long to be accepted back: a client is never
    handed a cursor that would be refused."""
    return cursor if len(cursor) <= MAX_CURSOR_LENGTH else None
