""":func:`paginate`: offset pages, keyset (cursor) pages, or an automatic choice."""

from __future__ import annotations

import dataclasses
import typing as t

from flask import current_app
from flask import has_request_context
from sqlalchemy import orm

from .._state import PerfKitState
from .._state import get_state
from ..config import PaginationConfig
from ..cursors import CursorCodec
from ..cursors import codec
from ..cursors import usable_key
from ..errors import ConfigError
from ..errors import InvalidCursor
from ..errors import PaginationError
from ..errors import PaginationUsageError
from ..errors import SessionRequired
from ..params import parse_int
from ..params import single_arg
from .keyset import keyset_page
from .offset import OffsetRequest
from .offset import offset_page
from .page import AnySelect
from .page import Page
from .page import Strategy
from .plan import plan
from .walk import PageQuery

_STRATEGIES = ("auto", "offset", "cursor")


def paginate(
    query: AnySelect | orm.Query[t.Any],
    *,
    page: int | str | None = None,
    page_size: int | str | None = None,
    cursor: str | None = None,
    strategy: Strategy = "auto",
    count: bool = True,
    session: orm.Session | orm.scoped_session[t.Any] | None = None,
) -> Page:
    """Read one page of an ordered query.

    Inside a request, ``page``, ``page_size`` and ``cursor`` default to the request arguments
    of those names. Bad values raise :exc:`.PaginationError`, an HTTP 400 whose JSON body
    names the parameter, so a view needs no error handling of its own.

    .. code-block:: python

        @app.get("/posts")
        def posts():
            return paginate(select(Post).order_by(Post.created_at.desc())).to_dict()

    :param query: A ``select()`` or a legacy ``Query``. Its ORDER BY sets the order, and the
        primary key is appended so the order is total; without an ORDER BY, rows come in
        primary key order.
    :param page: The page number of an offset page, from 1.
    :param page_size: Rows per page, from 1 to :data:`.PERFKIT_MAX_PAGE_SIZE`; defaults to
        :data:`.PERFKIT_PAGE_SIZE`.
    :param cursor: The ``next_cursor`` or ``prev_cursor`` of an earlier page.
    :param strategy: ``"offset"`` (LIMIT/OFFSET, no cursors), ``"cursor"`` (keyset), or
        ``"auto"``: offset pages until a cursor is given, with cursors on every page when
        ``SECRET_KEY`` is set.
    :param count: Count the rows for ``total``. ``"auto"`` counts only up to
        :data:`.PERFKIT_MAX_OFFSET` rows and reports ``None`` beyond that.
    :param session: The session to run the query in. Defaults to the legacy query's session,
        then to the session of the Flask-SQLAlchemy extension given to :class:`.PerfKit`.
    :raises PaginationError: A bad ``page`` or ``page_size``, an offset deeper than
        :data:`.PERFKIT_MAX_OFFSET`, a ``page`` with ``strategy="cursor"`` or a ``cursor``
        with ``strategy="offset"``.
    :raises InvalidCursor: A cursor that this app did not make for this ordering, with
        values that do not fit the ordering's columns, or any cursor while ``SECRET_KEY`` is
        not set.
    :raises ConfigError: ``strategy="cursor"`` while ``SECRET_KEY`` is not set.
    :raises PaginationUsageError: An unknown ``strategy``, an ORDER BY of names or text, or
        ``strategy="cursor"`` on a query with nothing to walk by.
    :raises SessionRequired: No session was given and PerfKit was registered without ``db=``.
    """
    if strategy not in _STRATEGIES:
        raise PaginationUsageError(
            f"strategy must be 'auto', 'offset' or 'cursor', not {strategy!r}."
        )
    state = get_state()
    limits = state.config.pagination
    codec = _codec() if strategy != "offset" else None
    if strategy == "cursor" and codec is None:
        raise ConfigError(
            'paginate(strategy="cursor") signs its cursors with SECRET_KEY: set SECRET_KEY'
            ' in the app config, or use strategy="auto" or "offset".'
        )
    args = _Arguments(page, page_size, cursor).from_request()
    args.refuse_foreign_position(strategy)
    page_query = _page_query(query, session, _size(limits, args.page_size), state)
    dialect = page_query.session.get_bind(clause=page_query.stmt).dialect.name
    the_plan = plan(page_query.stmt, dialect, state.page_plans)
    if strategy == "cursor" or (strategy == "auto" and args.cursor):
        if the_plan.walk is None and strategy == "cursor":
            raise PaginationUsageError(
                "Cursor pagination needs an ORDER BY of columns or a table with a primary key."
            )
        if codec is None or the_plan.walk is None:
            # Without SECRET_KEY, or without keys to walk by, no cursor was ever served, so
            # this one is not ours.
            raise InvalidCursor()
        return keyset_page(page_query, the_plan.walk, args.cursor or None, codec)
    number = _page_number(limits, args.page, page_query.size)
    cap = limits.max_offset + page_query.size if strategy == "auto" else None
    return offset_page(page_query, the_plan, OffsetRequest(number, count, cap), codec)


@dataclasses.dataclass
class _Arguments:
    """Where to start a page and how long it is, as given to :func:`paginate`."""

    page: int | str | None
    page_size: int | str | None
    cursor: str | None

    def from_request(self) -> _Arguments:
        """These arguments, each one not given taken from the request's arguments."""
        if not has_request_context():
            return self
        return _Arguments(
            single_arg("page", PaginationError) if self.page is None else self.page,
            single_arg("page_size", PaginationError) if self.page_size is None else self.page_size,
            single_arg("cursor", PaginationError) if self.cursor is None else self.cursor,
        )

    def refuse_foreign_position(self, strategy: Strategy) -> None:
        """A page number on a cursor list, or a cursor on a numbered list, is a 400 naming
        it, rather than being ignored. ``auto`` takes both, and a cursor wins over a page
        number. An empty value counts as absent.

        :raises PaginationError: The position is of the other strategy.
        """
        if strategy == "cursor" and self.page not in (None, ""):
            raise PaginationError(
                "This list is read by cursor, not by page number: leave out 'page' and follow"
                " next_cursor.",
                param="page",
            )
        if strategy == "offset" and self.cursor not in (None, ""):
            raise PaginationError(
                "This list is read by page number, not by cursor: leave out 'cursor' and ask"
                " for the next 'page'.",
                param="cursor",
            )


def _size(limits: PaginationConfig, page_size: int | str | None) -> int:
    """The rows per page asked for.

    :raises PaginationError: ``page_size`` is not a whole number in range.
    """
    size = limits.page_size if page_size is None else page_size
    return parse_int("page_size", size, 1, limits.max_page_size, PaginationError)


def _page_number(limits: PaginationConfig, page: int | str | None, size: int) -> int:
    """The page number asked for.

    :raises PaginationError: ``page`` is not a whole number from 1, or lies deeper than the
        deepest offset served.
    """
    number = parse_int("page", 1 if page is None else page, 1, None, PaginationError)
    if (number - 1) * size > limits.max_offset:
        raise PaginationError(
            f"Pages that deep (past row {limits.max_offset}) are not served by page number:"
            " follow next_cursor instead.",
            error="offset_too_deep",
            param="page",
        )
    return number


def _page_query(
    query: AnySelect | orm.Query[t.Any],
    session: orm.Session | orm.scoped_session[t.Any] | None,
    size: int,
    state: PerfKitState,
) -> PageQuery:
    if isinstance(query, orm.Query):
        session = session or query.session
        stmt: AnySelect = t.cast(AnySelect, query.statement)
    else:
        stmt = query
    return PageQuery(_session(session, state), stmt, size)


def _session(
    session: orm.Session | orm.scoped_session[t.Any] | None, state: PerfKitState
) -> orm.Session:
    if isinstance(session, orm.scoped_session):
        return t.cast(orm.Session, session())
    if session is not None:
        return session
    db = state.db
    if db is None:
        raise SessionRequired(
            "paginate() needs a session: pass session=, or register PerfKit with db=."
        )
    return t.cast(orm.Session, db.session())


def _codec() -> CursorCodec | None:
    """The codec of the app's secret keys, or ``None`` when ``SECRET_KEY`` is not set (or is
    not a string or bytes)."""
    config = current_app.config
    key = config.get("SECRET_KEY")
    if not usable_key(key):
        return None
    # An empty fallback would let anyone sign a cursor: only keys with content are used.
    fallbacks = config.get("SECRET_KEY_FALLBACKS") or ()
    return codec((*filter(usable_key, fallbacks), key))
