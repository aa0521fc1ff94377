"""``paginate``: offset pages, keyset (cursor) pages, or an automatic choice.

Keyset pages continue from the boundary row's ordering values instead of skipping rows, so a
deep page costs what the first one does. The query's ORDER BY, with the primary key appended
as a tiebreaker, defines the walk. The predicate is the expanded form, NULL-aware in each
database's own NULL placement, led by a bound on the first ordering column so the database
starts an index range scan at the boundary. Walking backward flips every direction (each
database's default NULL placement flips with it) and reverses the rows fetched.
"""

from __future__ import annotations

import dataclasses
import math
import typing as t
import weakref

import sqlalchemy as sa
from flask import current_app
from flask import has_request_context
from sqlalchemy import orm
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.elements import Label
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.elements import _label_reference
from sqlalchemy.sql.elements import _textual_label_reference

from ._state import PerfKitState
from ._state import get_state
from .cursors import MAX_CURSOR_LENGTH
from .cursors import CursorCodec
from .cursors import fingerprint
from .cursors import usable_key
from .cursors import value_reader
from .errors import ConfigError
from .errors import InvalidCursor
from .errors import PaginationError
from .params import parse_int
from .params import single_arg

Strategy = t.Literal["auto", "offset", "cursor"]
#: A ``select()`` of any columns.
AnySelect: t.TypeAlias = "sa.Select[*tuple[t.Any, ...]]"
_LABEL = "_perfkit_key_"
_NULLS_LARGE = frozenset({"postgresql", "oracle"})
#: Databases that turn ``(a, b) < (x, y)`` into an index range scan.
_ROW_VALUES = frozenset({"postgresql", "sqlite"})
_ORDER_BY_NAMES = (TextClause, _label_reference, _textual_label_reference)


@dataclasses.dataclass(frozen=True)
class PageMetadata:
    """The ``metadata`` of a page."""

    #: Rows in the whole result, or ``None`` when not counted (``count=False``, cursor pages).
    total: int | None
    #: The page number of an offset page; ``None`` for a cursor page.
    page: int | None
    page_size: int
    total_pages: int | None
    has_next: bool
    has_prev: bool
    #: Continues after the last row; present on every page that has a next page.
    next_cursor: str | None
    #: Continues before the first row.
    prev_cursor: str | None
    #: ``"offset"`` or ``"cursor"``: how this page was read.
    strategy: str


@dataclasses.dataclass(frozen=True)
class Page:
    """One page of results: ``items`` and ``metadata``."""

    items: list[t.Any]
    metadata: PageMetadata

    def to_dict(self, item: t.Callable[[t.Any], t.Any] | None = None) -> dict[str, t.Any]:
        """The page as JSON-ready data.

        :param item: Turns an item into JSON-ready data. By default an item's ``to_dict()``
            is used if it has one, a row becomes a dict, and anything else is kept.
        """
        return {
            "items": [(item or _item_data)(i) for i in self.items],
            "metadata": {f.name: getattr(self.metadata, f.name) for f in _METADATA_FIELDS},
        }


_METADATA_FIELDS = dataclasses.fields(PageMetadata)


def _item_data(item: t.Any) -> t.Any:
    to_dict = getattr(item, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    mapping = getattr(item, "_mapping", None)
    return dict(mapping) if mapping is not None else item


@dataclasses.dataclass(frozen=True)
class _Key:
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
        descending = self.descending != backward
        clause = self.expr.desc() if descending else self.expr.asc()
        nulls_first = self.nulls_first != backward
        if self.nullable and nulls_first != (descending if self.nulls_large else not descending):
            clause = clause.nulls_first() if nulls_first else clause.nulls_last()
        return clause

    def after(self, value: t.Any, backward: bool) -> ColumnElement[bool] | None:
        descending = self.descending != backward
        nulls_first = self.nulls_first != backward
        if value is None:
            return self.expr.is_not(None) if nulls_first else None
        beyond: ColumnElement[bool] = self.expr < value if descending else self.expr > value
        if nulls_first or not self.nullable:
            return beyond
        return sa.or_(beyond, self.expr.is_(None))

    def bound(self, value: t.Any, backward: bool) -> ColumnElement[bool] | None:
        if value is None:
            return None
        descending = self.descending != backward
        within: ColumnElement[bool] = self.expr <= value if descending else self.expr >= value
        if self.nulls_first != backward or not self.nullable:
            return within
        return sa.or_(within, self.expr.is_(None))

    def equals(self, value: t.Any) -> ColumnElement[bool]:
        return self.expr.is_(None) if value is None else self.expr == value


@dataclasses.dataclass(frozen=True)
class _Source:
    """What a statement selects from, as far as paging cares."""

    #: The mapper of the first selected entity, when it is a plain mapped class.
    mapper: orm.Mapper[t.Any] | None
    #: The table whose NOT NULL columns are never NULL in the rows.
    own: t.Any
    #: Whether each row is just one instance of ``mapper``.
    single: bool


def _source(stmt: AnySelect) -> _Source:
    descriptions = stmt.column_descriptions
    entity = descriptions[0].get("entity") if descriptions else None
    mapper = sa.inspect(entity, raiseerr=False) if entity is not None else None
    if isinstance(mapper, orm.Mapper):
        single = len(descriptions) == 1 and descriptions[0].get("expr") is entity
        return _Source(mapper, mapper.local_table, single)
    froms = stmt.get_final_froms()
    own = froms[0] if len(froms) == 1 else None
    while isinstance(own, sa.Join):
        own = None if own.full else own.left
    return _Source(None, own, False)


def _keys(stmt: AnySelect, source: _Source, nulls_large: bool) -> list[_Key]:
    keys: list[_Key] = []
    for clause in stmt._order_by_clauses:
        nulls: bool | None = None
        descending = False
        element: t.Any = clause
        if isinstance(element, UnaryExpression) and element.modifier in (
            operators.nulls_first_op,
            operators.nulls_last_op,
        ):
            nulls = element.modifier is operators.nulls_first_op
            element = element.element
        if isinstance(element, UnaryExpression) and element.modifier in (
            operators.desc_op,
            operators.asc_op,
        ):
            descending = element.modifier is operators.desc_op
            element = element.element
        if isinstance(element, Label):
            element = element.element
        if not isinstance(element, ColumnElement) or isinstance(element, _ORDER_BY_NAMES):
            raise ValueError(
                "paginate() needs the query's ORDER BY to be column expressions such as"
                " Post.created_at.desc(), not names or text."
            )
        if nulls is None:
            nulls = descending if nulls_large else not descending
        nullable = not (
            isinstance(element, sa.Column) and not element.nullable and element.table is source.own
        )
        keys.append(_Key(element, descending, nulls, nulls_large, nullable))
    known = {str(k.expr) for k in keys}
    # The tiebreaker runs the way the last ordering column runs, so one index on
    # (ordering columns..., primary key) serves the walk in both directions.
    descending = keys[-1].descending if keys else False
    nulls = descending if nulls_large else not descending
    for column in _primary_key(source):
        if str(column) not in known:
            keys.append(_Key(column, descending, nulls, nulls_large, False, appended=True))
    return keys


_PRIMARY_KEYS: weakref.WeakKeyDictionary[orm.Mapper[t.Any], list[ColumnElement[t.Any]]] = (
    weakref.WeakKeyDictionary()
)


def _primary_key(source: _Source) -> list[ColumnElement[t.Any]]:
    mapper = source.mapper
    if mapper is None:
        return list(getattr(source.own, "primary_key", None) or [])
    columns = _PRIMARY_KEYS.get(mapper)
    if columns is None:
        entity = mapper.class_
        columns = _PRIMARY_KEYS[mapper] = [
            getattr(entity, mapper.get_property_by_column(c).key).expression
            for c in mapper.primary_key
        ]
    return columns


def _session(session: orm.Session | orm.scoped_session[t.Any] | None) -> orm.Session:
    if isinstance(session, orm.scoped_session):
        return t.cast(orm.Session, session())
    if session is not None:
        return session
    db = get_state().db
    if db is None:
        raise RuntimeError(
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
    keys = (*filter(usable_key, fallbacks), key)
    state = get_state()
    codec = state.cursor_codec
    if codec is None or codec.secret_keys != keys:
        codec = state.cursor_codec = CursorCodec(keys)
    return codec


def _refuse_foreign_position(strategy: Strategy, page: t.Any, cursor: t.Any) -> None:
    """A page number on a cursor list, or a cursor on a numbered list, is a 400 naming it,
    rather than being ignored. ``auto`` takes both, and a cursor wins over a page number. An
    empty value counts as absent."""
    if strategy == "cursor" and page not in (None, ""):
        raise PaginationError(
            "This list is read by cursor, not by page number: leave out 'page' and follow"
            " next_cursor.",
            param="page",
        )
    if strategy == "offset" and cursor not in (None, ""):
        raise PaginationError(
            "This list is read by page number, not by cursor: leave out 'cursor' and ask for"
            " the next 'page'.",
            param="cursor",
        )


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
    """
    if strategy not in ("auto", "offset", "cursor"):
        raise ValueError(f"strategy must be 'auto', 'offset' or 'cursor', not {strategy!r}.")
    state = get_state()
    config = state.config
    codec = _codec() if strategy != "offset" else None
    if strategy == "cursor" and codec is None:
        raise ConfigError(
            'paginate(strategy="cursor") signs its cursors with SECRET_KEY: set SECRET_KEY'
            ' in the app config, or use strategy="auto" or "offset".'
        )
    if isinstance(query, orm.Query):
        session = session or query.session
        stmt: AnySelect = t.cast(AnySelect, query.statement)
    else:
        stmt = query
    if has_request_context():
        if page is None:
            page = single_arg("page", PaginationError)
        if page_size is None:
            page_size = single_arg("page_size", PaginationError)
        if cursor is None:
            cursor = single_arg("cursor", PaginationError)
    _refuse_foreign_position(strategy, page, cursor)
    size = parse_int(
        "page_size",
        config.pagination.page_size if page_size is None else page_size,
        1,
        config.pagination.max_page_size,
        PaginationError,
    )
    db_session = _session(session)
    dialect = db_session.get_bind(clause=stmt).dialect.name
    source, _, walk = _plan(state, stmt, dialect)

    if strategy == "cursor" or (strategy == "auto" and cursor):
        if walk is None and strategy == "cursor":
            raise ValueError(
                "Cursor pagination needs an ORDER BY of columns or a table with a primary key."
            )
        if codec is None or walk is None:
            # Without SECRET_KEY, or without keys to walk by, no cursor was ever served, so
            # this one is not ours.
            raise InvalidCursor()
        return _keyset_page(db_session, stmt, source, walk, size, cursor or None, codec)
    number = parse_int("page", 1 if page is None else page, 1, None, PaginationError)
    offset = (number - 1) * size
    max_offset = config.pagination.max_offset
    if offset > max_offset:
        raise PaginationError(
            f"Pages that deep (past row {max_offset}) are not served by page number:"
            " follow next_cursor instead.",
            error="offset_too_deep",
            param="page",
        )
    if walk is None:
        codec = None
    cap = max_offset + size if strategy == "auto" else None
    return _offset_page(db_session, stmt, source, walk, codec, number, size, offset, count, cap)


class _Walk:
    """The SQL of one ordering, built once and shared by every page read with it.

    The boundary values are bind parameters given at execution, so the pieces here do not
    change from page to page, and SQLAlchemy's compiled cache serves every page after the
    first.
    """

    def __init__(self, keys: list[_Key], dialect: str) -> None:
        self.keys = keys
        self.row_values = dialect in _ROW_VALUES
        #: Turn decoded cursor values into the values bound for each key.
        self.readers = [value_reader(k.expr.type, dialect, k.nullable) for k in keys]
        self.fingerprint = fingerprint(
            [f"{k.expr} {'desc' if k.descending else 'asc'} {k.nulls_first:d}" for k in keys]
        )
        self.labels = [k.expr.label(f"{_LABEL}{i}") for i, k in enumerate(keys)]
        self.orders = {b: [k.order(b) for k in keys] for b in (False, True)}
        #: Going forward, the query's own ORDER BY stands and only the tiebreaker is added.
        self.tiebreak = [k.order(False) for k in keys if k.appended]
        self.params = [
            sa.bindparam(f"{_LABEL}after_{i}", type_=k.expr.type) for i, k in enumerate(keys)
        ]
        self._predicates: dict[tuple[bool, tuple[bool, ...]], ColumnElement[bool]] = {}
        # Coercing an int into a LIMIT parameter costs more than the rest of the clause.
        self._limits: dict[int, t.Any] = {}
        self._attributes: dict[orm.Mapper[t.Any], list[str] | None] = {}

    def boundary(self, values: list[t.Any]) -> list[t.Any]:
        """The values to bind for a cursor's ``values``.

        :raises InvalidCursor: A value does not fit the type of its ordering column.
        """
        try:
            return [read(value) for read, value in zip(self.readers, values, strict=True)]
        except ValueError:
            raise InvalidCursor() from None

    def attributes(self, source: _Source) -> list[str] | None:
        """The attribute names of the keys on each row's instance, when rows are instances of
        a class that maps every key column; the key values are then read from the instances
        instead of being selected again."""
        mapper = source.mapper
        if mapper is None or not source.single:
            return None
        if mapper not in self._attributes:
            names: list[str] | None = []
            for key in self.keys:
                expr = key.expr
                try:
                    if not isinstance(expr, sa.Column) or expr.table is not source.own:
                        raise orm.exc.UnmappedColumnError(str(expr))
                    prop = mapper.get_property_by_column(expr)
                except orm.exc.UnmappedColumnError:
                    names = None
                    break
                t.cast(list[str], names).append(prop.key)
            self._attributes[mapper] = names
        return self._attributes[mapper]

    def after(
        self, boundary: list[t.Any], backward: bool
    ) -> tuple[ColumnElement[bool], dict[str, t.Any]]:
        """The predicate for rows beyond ``boundary``, and its parameters."""
        nulls = tuple(value is None for value in boundary)
        predicate = self._predicates.get((backward, nulls))
        if predicate is None:
            predicate = self._predicates[backward, nulls] = _after(
                self.keys, self.params, nulls, backward, self.row_values
            )
        return predicate, {p.key: v for p, v in zip(self.params, boundary, strict=True)}

    def read(
        self,
        session: orm.Session,
        stmt: AnySelect,
        source: _Source,
        size: int,
        *,
        backward: bool = False,
        offset: int = 0,
        boundary: list[t.Any] | None = None,
    ) -> _Rows:
        """Up to ``size`` rows in walking order, from ``offset`` or after ``boundary``."""
        names = self.attributes(source)
        query = stmt if names is not None else stmt.add_columns(*self.labels)
        if backward:
            query = query.order_by(None).order_by(*self.orders[True])
        elif self.tiebreak:
            query = query.order_by(*self.tiebreak)
        params = None
        if boundary is not None:
            predicate, params = self.after(boundary, backward)
            query = query.where(predicate)
        limit = self._limits.get(size)
        if limit is None:
            if len(self._limits) > 16:
                self._limits.clear()
            limit = self._limits[size] = sa.select(sa.null()).limit(size + 1)._limit_clause
        query = query.limit(limit)
        if offset:
            query = query.offset(offset)
        result = _unique(session.execute(query, params))
        if names is not None:
            items = list(result.scalars().all())
            rows = _Rows(items[:size], len(items) > size, names=names)
        else:
            arity = len(self.keys)
            fetched = result.all()
            items, values = _split(fetched[:size], arity)
            rows = _Rows(items, len(fetched) > size, values=values)
        if backward:
            rows.items.reverse()
            if rows.values is not None:
                rows.values.reverse()
        return rows


class _Rows:
    """The items of a page and the key values of its first and last rows."""

    def __init__(
        self,
        items: list[t.Any],
        more: bool,
        *,
        names: list[str] | None = None,
        values: list[list[t.Any]] | None = None,
    ) -> None:
        self.items = items
        #: Whether a row lay beyond the page.
        self.more = more
        self.names = names
        self.values = values

    def key(self, index: int) -> list[t.Any]:
        if self.values is not None:
            return self.values[index]
        item = self.items[index]
        return [getattr(item, name) for name in t.cast(list[str], self.names)]


Plan: t.TypeAlias = tuple[_Source, list[_Key], _Walk | None]


def _plan(state: PerfKitState, stmt: AnySelect, dialect: str) -> Plan:
    """The source, keys and walk of a statement, remembered for statements without joins.

    The columns a statement selects and the elements of its ORDER BY are the same objects
    each time a view builds it, while its filters do not matter here, so a view's query finds
    its plan without looking into it again. Plans are kept per app, at most
    ``PERFKIT_MAX_PAGE_PLANS`` of them.
    """
    signature = _signature(stmt, dialect)
    plan = state.page_plans.get(signature) if signature is not None else None
    if plan is None:
        source = _source(stmt)
        keys = _keys(stmt, source, dialect in _NULLS_LARGE)
        plan = (source, keys, _walk(state, keys, dialect) if keys else None)
        if signature is not None:
            state.page_plans.put(signature, plan)
    return plan


def _signature(stmt: AnySelect, dialect: str) -> tuple[t.Any, ...] | None:
    if stmt._from_obj or stmt._setup_joins:
        return None
    order: list[t.Any] = []
    for clause in stmt._order_by_clauses:
        modifiers: list[t.Any] = []
        while isinstance(clause, UnaryExpression) and len(modifiers) < 2:
            modifiers.append(clause.modifier)
            clause = clause.element
        if isinstance(clause, UnaryExpression):
            return None
        order.append((*modifiers, type(clause), clause, _parent(clause)))
    # SQLAlchemy's annotated elements compare equal to the plain ones they wrap, so each
    # element's type and entity are part of the signature.
    columns = [(type(c), c, _parent(c)) for c in stmt._raw_columns]
    return (dialect, *columns, None, *order)


def _parent(element: t.Any) -> t.Any:
    annotations = getattr(element, "_annotations", None)
    return annotations.get("parententity") if annotations else None


def _walk(state: PerfKitState, keys: list[_Key], dialect: str) -> _Walk:
    # Column objects hash by identity, and the mapped columns of a model are the same objects
    # on every request, so a view's ordering finds its walk here.
    cache_key = (dialect, *((type(k.expr), _parent(k.expr), k) for k in keys))
    walk = state.page_walks.get(cache_key)
    if walk is None:
        walk = state.page_walks.put(cache_key, _Walk(keys, dialect))
    return walk


def _unique(result: sa.Result[t.Any]) -> sa.Result[t.Any]:
    # Joined eager loading of collections repeats an entity over several rows; the ORM marks
    # such a result as needing unique().
    if getattr(result, "_unique_filter_state", True) is not None:
        return result.unique()
    return result


def _split(rows: t.Sequence[sa.Row[t.Any]], arity: int) -> tuple[list[t.Any], list[list[t.Any]]]:
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


def _count(session: orm.Session, stmt: AnySelect, source: _Source, cap: int | None) -> int | None:
    inner = stmt.order_by(None)
    if source.mapper is not None:
        inner = inner.options(orm.lazyload("*"))
    if cap is not None:
        inner = inner.limit(cap + 1)
    counted = sa.select(sa.func.count()).select_from(inner.subquery())
    total = int(session.execute(counted).scalar_one())
    return None if cap is not None and total > cap else total


def _offset_page(
    session: orm.Session,
    stmt: AnySelect,
    source: _Source,
    walk: _Walk | None,
    codec: CursorCodec | None,
    number: int,
    size: int,
    offset: int,
    count: bool,
    cap: int | None,
) -> Page:
    next_cursor = prev_cursor = None
    if walk is None:
        fetched = _unique(session.execute(stmt.limit(size + 1).offset(offset))).all()
        items, _ = _split(fetched[:size], 0)
        has_next = len(fetched) > size
    else:
        # The primary key breaks ties, so pages neither overlap nor leave rows out.
        rows = walk.read(session, stmt, source, size, offset=offset)
        items, has_next = rows.items, rows.more
        if codec is not None and items:
            if has_next:
                next_cursor = _serve(codec.encode(rows.key(-1), False, walk.fingerprint))
            if number > 1:
                prev_cursor = _serve(codec.encode(rows.key(0), True, walk.fingerprint))
    total = _count(session, stmt, source, cap) if count else None
    return Page(
        items,
        PageMetadata(
            total=total,
            page=number,
            page_size=size,
            total_pages=None if total is None else math.ceil(total / size),
            has_next=has_next,
            has_prev=number > 1,
            next_cursor=next_cursor,
            prev_cursor=prev_cursor,
            strategy="offset",
        ),
    )


def _serve(cursor: str) -> str | None:
    """``cursor``, or ``None`` when it is too long to be accepted back: a client is never
    handed a cursor that would be refused."""
    return cursor if len(cursor) <= MAX_CURSOR_LENGTH else None


def _keyset_page(
    session: orm.Session,
    stmt: AnySelect,
    source: _Source,
    walk: _Walk,
    size: int,
    cursor: str | None,
    codec: CursorCodec,
) -> Page:
    print_ = walk.fingerprint
    if cursor:
        values, backward = codec.decode(cursor, print_, len(walk.keys))
        boundary = walk.boundary(values)
        rows = walk.read(session, stmt, source, size, backward=backward, boundary=boundary)
    else:
        backward = False
        rows = walk.read(session, stmt, source, size)
    items = rows.items
    # Going forward, a cursor means rows were left behind; going backward, the cursor's
    # own row lies ahead.
    has_next = bool(items) and (backward or rows.more)
    has_prev = bool(items) and (rows.more if backward else cursor is not None)
    return Page(
        items,
        PageMetadata(
            total=None,
            page=None,
            page_size=size,
            total_pages=None,
            has_next=has_next,
            has_prev=has_prev,
            next_cursor=_serve(codec.encode(rows.key(-1), False, print_)) if has_next else None,
            prev_cursor=_serve(codec.encode(rows.key(0), True, print_)) if has_prev else None,
            strategy="cursor",
        ),
    )


def _after(
    keys: list[_Key],
    values: list[sa.BindParameter[t.Any]],
    nulls: tuple[bool, ...],
    backward: bool,
    row_values: bool,
) -> ColumnElement[bool]:
    """Rows strictly beyond the boundary ``values`` in the walking direction.

    ``nulls`` tells which boundary values are NULL. When every key is NOT NULL and runs one
    way, this is one comparison: a row value ``(k1, k2) < (v1, v2)`` where the database plans
    it as an index range. Otherwise it is the expanded form
    ``k1 > v1 OR (k1 = v1 AND k2 > v2) OR ...``, each step NULL-aware, led by the bound
    ``k1 >= v1`` that an index on the first column turns into a range scan.
    """
    descending = keys[0].descending != backward
    simple = all(not k.nullable and k.descending == keys[0].descending for k in keys)
    if simple and row_values and len(keys) > 1 and not any(nulls):
        row = sa.tuple_(*(k.expr for k in keys))
        bound = sa.tuple_(*values)
        return row < bound if descending else row > bound
    alternatives = []
    for i, key in enumerate(keys):
        step = key.after(None if nulls[i] else values[i], backward)
        if step is None:
            continue
        equal = [keys[j].equals(None if nulls[j] else values[j]) for j in range(i)]
        alternatives.append(sa.and_(*equal, step))
    if not alternatives:
        return sa.false()
    predicate = sa.or_(*alternatives)
    first = keys[0].bound(None if nulls[0] else values[0], backward) if len(keys) > 1 else None
    return predicate if first is None else sa.and_(first, predicate)
