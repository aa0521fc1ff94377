from __future__ import annotations

import base64
import datetime
import decimal
import enum
import hmac
import json
import uuid
from collections.abc import Iterator
from collections.abc import Sequence
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine
from hypothesis.stateful import precondition
from hypothesis.stateful import rule
from sqlalchemy import orm

from flask_perfkit import ConfigError
from flask_perfkit import InvalidCursor
from flask_perfkit import PaginationUsageError
from flask_perfkit import PerfKit
from flask_perfkit import SessionRequired
from flask_perfkit import _compat
from flask_perfkit import paginate
from flask_perfkit.cursors import CursorCodec
from flask_perfkit.schemas import PageSchema

from .conftest import AppFactory

BASE = datetime.datetime(2026, 1, 1, 12, 0, 0)


class Base(orm.DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "perfkit_page_items"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True, autoincrement=False)
    score: orm.Mapped[int | None]
    created: orm.Mapped[datetime.datetime] = orm.mapped_column(index=True)
    name: orm.Mapped[str] = orm.mapped_column(sa.String(40))
    tags: orm.Mapped[list[Tag]] = orm.relationship(order_by="Tag.id")

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "score": self.score}


class Tag(Base):
    __tablename__ = "perfkit_page_tags"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True, autoincrement=False)
    item_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey(Item.id))


def rows(count: int) -> list[dict[str, Any]]:
    """Rows with many ties in ``score`` and ``created``, and NULL scores."""
    return [
        {
            "id": i,
            "score": None if i % 5 == 0 else (i * 7) % 4,
            "created": BASE + datetime.timedelta(minutes=(i * 3) % 6),
            "name": f"item {i % 9}",
        }
        for i in range(1, count + 1)
    ]


@pytest.fixture
def paged(make_app: AppFactory, database_url: str) -> Iterator[tuple[Flask, SQLAlchemy]]:
    app, db, _ = make_app(database_url, SECRET_KEY="secret one")
    with app.app_context():
        Base.metadata.drop_all(db.engine)
        Base.metadata.create_all(db.engine)
        db.session.execute(sa.insert(Item), rows(61))
        db.session.execute(
            sa.insert(Tag), [{"id": i, "item_id": 1 + i % 61} for i in range(1, 121)]
        )
        db.session.commit()
        yield app, db
        db.session.rollback()
        Base.metadata.drop_all(db.engine)


def nulls_large(db: SQLAlchemy) -> bool:
    return db.engine.dialect.name == "postgresql"


def expected_ids(db: SQLAlchemy, ordering: Sequence[tuple[str, bool, bool | None]]) -> list[int]:
    """The ids in the order PerfKit must walk, computed in Python.

    ``ordering`` is ``(column, descending, nulls_first)``; ``None`` means the database's
    default NULL placement. The id breaks ties in the direction of the last column.
    """
    large = nulls_large(db)
    data = db.session.execute(sa.select(Item.id, Item.score, Item.created)).all()
    records = [dict(row._mapping) for row in data]
    last = ordering[-1][1] if ordering else False
    for column, descending, nulls_first in reversed([*ordering, ("id", last, None)]):
        first = (descending if large else not descending) if nulls_first is None else nulls_first
        present = [r for r in records if r[column] is not None]
        absent = [r for r in records if r[column] is None]
        present.sort(key=lambda r: r[column], reverse=descending)
        # Both parts keep their earlier order among ties (the sort is stable), so sorting
        # by the last key first gives the full order.
        records = absent + present if first else present + absent
    return [r["id"] for r in records]


def walk(
    stmt: sa.Select[Any], size: int, session: orm.Session | orm.scoped_session[Any]
) -> tuple[list[list[int]], list[str | None]]:
    """Follow next_cursor from the first cursor page; the ids of each page and its prev_cursor."""
    pages: list[list[int]] = []
    backs: list[str | None] = []
    cursor = None
    for _ in range(500):
        page = paginate(stmt, page_size=size, cursor=cursor, strategy="cursor", session=session)
        pages.append([item.id for item in page.items])
        backs.append(page.metadata.prev_cursor)
        assert page.metadata.strategy == "cursor"
        assert len(page.items) <= size
        if not page.metadata.has_next:
            assert page.metadata.next_cursor is None
            return pages, backs
        assert len(page.items) == size
        cursor = page.metadata.next_cursor
    raise AssertionError("the walk did not end")


ORDERINGS: dict[str, list[tuple[str, bool, bool | None]]] = {
    "score": [("score", False, None)],
    "score-desc": [("score", True, None)],
    "created-desc": [("created", True, None)],
    "mixed": [("created", True, None), ("score", False, None)],
    "mixed-desc-last": [("score", False, None), ("created", True, None)],
    "primary-key": [],
}


def order_clause(column: str, descending: bool, nulls_first: bool | None) -> Any:
    clause = getattr(Item, column).desc() if descending else getattr(Item, column).asc()
    if nulls_first is True:
        clause = clause.nulls_first()
    elif nulls_first is False:
        clause = clause.nulls_last()
    return clause


@pytest.mark.parametrize("size", [1, 3, 7, 50])
@pytest.mark.parametrize("name", list(ORDERINGS))
def test_walks_every_row_once_forward_and_back(
    paged: tuple[Flask, SQLAlchemy], name: str, size: int
) -> None:
    _, db = paged
    ordering = ORDERINGS[name]
    stmt = sa.select(Item).order_by(*(order_clause(*o) for o in ordering))
    expected = expected_ids(db, ordering)
    pages, backs = walk(stmt, size, db.session)
    assert [i for p in pages for i in p] == expected
    assert backs[0] is None and all(backs[1:])
    # Back from the last page, each prev_cursor gives exactly the page before.
    for index in range(len(pages) - 1, 0, -1):
        page = paginate(stmt, page_size=size, cursor=backs[index], session=db.session)
        assert [item.id for item in page.items] == pages[index - 1]
        assert page.metadata.has_next
        assert page.metadata.has_prev == (index > 1)
        assert (page.metadata.prev_cursor is None) == (index == 1)


# MariaDB has no NULLS FIRST / NULLS LAST.
@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
@pytest.mark.parametrize("nulls_first", [True, False])
@pytest.mark.parametrize("descending", [True, False])
def test_explicit_null_placement_is_honoured(
    paged: tuple[Flask, SQLAlchemy], descending: bool, nulls_first: bool
) -> None:
    _, db = paged
    ordering = [("score", descending, nulls_first), ("created", False, None)]
    stmt = sa.select(Item).order_by(*(order_clause(*o) for o in ordering))
    expected = expected_ids(db, ordering)
    for size in (1, 4, 7):
        pages, backs = walk(stmt, size, db.session)
        assert [i for p in pages for i in p] == expected
        back = paginate(stmt, page_size=size, cursor=backs[-1], session=db.session)
        assert [item.id for item in back.items] == pages[-2]


def test_rows_inserted_during_a_walk_never_skip_or_repeat(
    paged: tuple[Flask, SQLAlchemy],
) -> None:
    _, db = paged
    stmt = sa.select(Item).order_by(Item.created.desc(), Item.score)
    original = expected_ids(db, ORDERINGS["mixed"])
    seen: list[int] = []
    cursor = None
    next_id = 1000
    while True:
        page = paginate(stmt, page_size=4, cursor=cursor, strategy="cursor", session=db.session)
        seen.extend(item.id for item in page.items)
        # New rows on both sides of the boundary, with values tied to existing ones.
        for minutes in (-1, 0, 3, 9):
            next_id += 1
            db.session.add(
                Item(
                    id=next_id,
                    score=next_id % 3,
                    created=BASE + datetime.timedelta(minutes=minutes),
                    name="new",
                )
            )
        db.session.commit()
        if not page.metadata.has_next:
            break
        cursor = page.metadata.next_cursor
    old = [i for i in seen if i < 1000]
    assert old == original
    assert len(seen) == len(set(seen))


def test_a_deleted_boundary_row_still_continues(paged: tuple[Flask, SQLAlchemy]) -> None:
    _, db = paged
    stmt = sa.select(Item).order_by(Item.score.desc())
    expected = expected_ids(db, ORDERINGS["score-desc"])
    first = paginate(stmt, page_size=10, strategy="cursor", session=db.session)
    db.session.execute(sa.delete(Tag).where(Tag.item_id == first.items[-1].id))
    db.session.execute(sa.delete(Item).where(Item.id == first.items[-1].id))
    db.session.commit()
    second = paginate(stmt, page_size=10, cursor=first.metadata.next_cursor, session=db.session)
    assert [item.id for item in second.items] == expected[10:20]


def test_offset_pages_and_their_metadata(paged: tuple[Flask, SQLAlchemy]) -> None:
    _, db = paged
    stmt = sa.select(Item).order_by(Item.score.desc())
    expected = expected_ids(db, ORDERINGS["score-desc"])
    got: list[int] = []
    for number in range(1, 8):
        page = paginate(stmt, page=number, page_size=10, strategy="offset", session=db.session)
        meta = page.metadata
        assert (meta.total, meta.total_pages, meta.page, meta.page_size) == (61, 7, number, 10)
        assert meta.has_prev == (number > 1)
        assert meta.has_next == (number < 7)
        assert meta.next_cursor is None and meta.prev_cursor is None
        assert meta.strategy == "offset"
        got.extend(item.id for item in page.items)
    assert got == expected
    past = paginate(stmt, page=9, page_size=10, strategy="offset", session=db.session)
    assert past.items == [] and not past.metadata.has_next and past.metadata.has_prev
    uncounted = paginate(stmt, page=2, page_size=10, count=False, session=db.session)
    assert uncounted.metadata.total is None and uncounted.metadata.total_pages is None
    assert uncounted.metadata.has_next


def test_auto_switches_to_cursors_from_any_page(paged: tuple[Flask, SQLAlchemy]) -> None:
    _, db = paged
    stmt = sa.select(Item).order_by(Item.created.desc(), Item.score)
    expected = expected_ids(db, ORDERINGS["mixed"])
    third = paginate(stmt, page=3, page_size=7, session=db.session)
    assert third.metadata.strategy == "offset" and third.metadata.total == 61
    assert [item.id for item in third.items] == expected[14:21]
    after = paginate(stmt, page_size=7, cursor=third.metadata.next_cursor, session=db.session)
    assert after.metadata.strategy == "cursor"
    assert [item.id for item in after.items] == expected[21:28]
    before = paginate(stmt, page_size=7, cursor=third.metadata.prev_cursor, session=db.session)
    assert [item.id for item in before.items] == expected[7:14]
    first = paginate(stmt, page_size=7, session=db.session)
    assert first.metadata.prev_cursor is None and first.metadata.next_cursor


def test_auto_counts_only_up_to_the_offset_cap(make_app: AppFactory) -> None:
    app, db, _ = make_app(SECRET_KEY="k", PERFKIT_MAX_OFFSET=20)
    with app.app_context():
        Base.metadata.create_all(db.engine)
        db.session.execute(sa.insert(Item), rows(61))
        stmt = sa.select(Item).order_by(Item.id)
        assert paginate(stmt, page_size=10, session=db.session).metadata.total is None
        exact = paginate(stmt, page_size=10, strategy="offset", session=db.session)
        assert exact.metadata.total == 61
        small = paginate(stmt.where(Item.id <= 25), page_size=10, session=db.session)
        assert small.metadata.total == 25 and small.metadata.total_pages == 3


def test_legacy_query_row_selects_and_joined_collections(
    paged: tuple[Flask, SQLAlchemy],
) -> None:
    app, db = paged
    legacy = db.session.query(Item).filter(Item.score == 1).order_by(Item.created.desc())
    page = paginate(legacy, page_size=5, strategy="cursor")
    following = paginate(legacy, page_size=5, cursor=page.metadata.next_cursor)
    ids = [i.id for i in page.items + following.items]
    assert ids == [i.id for i in legacy.order_by(Item.id.desc()).all()][:10]

    columns = sa.select(Item.id, Item.name).order_by(Item.name, Item.id.desc())
    with app.test_request_context("/?page_size=4"):
        first = paginate(columns, strategy="cursor")
        assert first.to_dict()["items"][0] == {"id": 54, "name": "item 0"}
        second = paginate(columns, cursor=first.metadata.next_cursor).to_dict()["items"]
        assert [r["id"] for r in second] == [18, 9, 55, 46]

    tagged = sa.select(Item).options(orm.joinedload(Item.tags)).order_by(Item.id)
    pages = [paginate(tagged, page=1, page_size=10, session=db.session)]
    while pages[-1].metadata.has_next:
        cursor = pages[-1].metadata.next_cursor
        pages.append(paginate(tagged, page_size=10, cursor=cursor, session=db.session))
    assert [i.id for p in pages for i in p.items] == list(range(1, 62))
    assert pages[0].metadata.total == 61
    assert all(len(item.tags) in {1, 2} for item in pages[0].items)


def test_no_order_by_walks_the_primary_key_and_core_tables_work(
    paged: tuple[Flask, SQLAlchemy],
) -> None:
    _, db = paged
    table = Item.__table__
    # The ORM select of the same table first: its remembered plan must not serve the other.
    orm_page = paginate(sa.select(Item), page_size=30, strategy="cursor", session=db.session)
    assert isinstance(orm_page.items[0], Item)
    page = paginate(sa.select(table), page_size=30, strategy="cursor", session=db.session)
    assert page.to_dict()["items"][0]["name"] == "item 1"
    rest = paginate(
        sa.select(table), page_size=40, cursor=page.metadata.next_cursor, session=db.session
    )
    assert [r["id"] for r in page.to_dict()["items"] + rest.to_dict()["items"]] == list(
        range(1, 62)
    )
    assert not rest.metadata.has_next


def test_page_schema_dumps_items_and_metadata(paged: tuple[Flask, SQLAlchemy]) -> None:
    from marshmallow import Schema
    from marshmallow import fields

    class ItemSchema(Schema):
        id = fields.Integer()
        name = fields.String()

    _, db = paged
    page = paginate(sa.select(Item).order_by(Item.id), page_size=2, session=db.session)
    dumped = PageSchema(item_schema=ItemSchema()).dump(page)
    assert dumped["items"] == [{"id": 1, "name": "item 1"}, {"id": 2, "name": "item 2"}]
    assert dumped["metadata"]["total"] == 61 and dumped["metadata"]["strategy"] == "offset"
    assert PageSchema().dump(page)["items"] == [{"id": 1, "score": 3}, {"id": 2, "score": 2}]
    assert PageSchema().validate(page.to_dict()) == {}


def test_the_plan_uses_the_ordering_index_on_postgres(make_app: AppFactory) -> None:
    from .conftest import POSTGRES_URL
    from .conftest import require

    require("PostgreSQL", POSTGRES_URL)
    app, db, _ = make_app(POSTGRES_URL, SECRET_KEY="k")
    statements: list[tuple[str, Any]] = []
    with app.app_context():
        Base.metadata.drop_all(db.engine)
        Base.metadata.create_all(db.engine)
        try:
            db.session.execute(
                sa.text(
                    "INSERT INTO perfkit_page_items (id, score, created, name)"
                    " SELECT g, g % 7, timestamp '2026-01-01' + (g / 10) * interval '1 second',"
                    " 'n' FROM generate_series(1, 50000) g"
                )
            )
            db.session.execute(sa.text("ANALYZE perfkit_page_items"))
            db.session.commit()
            stmt = sa.select(Item).order_by(Item.created.desc())
            first = paginate(stmt, page_size=20, strategy="cursor", session=db.session)

            @sa.event.listens_for(db.engine, "before_cursor_execute")
            def record(conn: Any, cursor: Any, statement: str, params: Any, *args: Any) -> None:
                statements.append((statement, params))

            paginate(stmt, page_size=20, cursor=first.metadata.next_cursor, session=db.session)
            sa.event.remove(db.engine, "before_cursor_execute", record)
            statement, params = statements[-1]
            with db.engine.connect() as conn:
                plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, params))
            assert "Index Scan Backward using ix_perfkit_page_items_created" in plan, plan
            assert "Index Cond: (created <=" in plan, plan
            assert "Seq Scan" not in plan and "Sort Key: perfkit_page_items.created" not in plan
        finally:
            db.session.rollback()
            Base.metadata.drop_all(db.engine)


# -- bad input, through a view ------------------------------------------------------------


@pytest.fixture
def api(make_app: AppFactory) -> Iterator[tuple[Flask, FlaskClient]]:
    app, db, _ = make_app("sqlite://", SECRET_KEY="secret one", PERFKIT_MAX_OFFSET=100)

    @app.get("/items")
    def items() -> Any:
        return paginate(sa.select(Item).order_by(Item.score.desc())).to_dict()

    @app.get("/items/by-name")
    def items_by_name() -> Any:
        return paginate(sa.select(Item).order_by(Item.name)).to_dict()

    with app.app_context():
        Base.metadata.create_all(db.engine)
        db.session.execute(sa.insert(Item), rows(61))
        db.session.commit()
    yield app, app.test_client()


def next_cursor(client: FlaskClient, url: str = "/items?page_size=5") -> str:
    cursor = client.get(url).get_json()["metadata"]["next_cursor"]
    assert isinstance(cursor, str)
    return cursor


@pytest.mark.parametrize(
    ("query", "param", "error"),
    [
        ("page=0", "page", "invalid_parameter"),
        ("page=-1", "page", "invalid_parameter"),
        ("page=x", "page", "invalid_parameter"),
        ("page=1.5", "page", "invalid_parameter"),
        ("page=1e9", "page", "invalid_parameter"),
        ("page_size=-5", "page_size", "invalid_parameter"),
        ("page=%C2%B2", "page", "invalid_parameter"),
        ("page=", "page", "invalid_parameter"),
        ("page=99999999999999999999999", "page", "invalid_parameter"),
        ("page=999999999", "page", "offset_too_deep"),
        ("page=7&page_size=20", "page", "offset_too_deep"),
        ("page_size=0", "page_size", "invalid_parameter"),
        ("page_size=101", "page_size", "invalid_parameter"),
        ("page_size=ten", "page_size", "invalid_parameter"),
        ("cursor=abc", "cursor", "invalid_cursor"),
        ("cursor=" + "A" * 2000, "cursor", "invalid_cursor"),
    ],
)
def test_bad_input_is_a_400_naming_the_parameter(
    api: tuple[Flask, FlaskClient], query: str, param: str, error: str
) -> None:
    _, client = api
    response = client.get(f"/items?{query}")
    assert response.status_code == 400
    body = response.get_json()
    assert body["param"] == param and body["error"] == error
    assert "score" not in body["message"] and "perfkit_page_items" not in body["message"]


def test_deep_offset_suggests_the_cursor(api: tuple[Flask, FlaskClient]) -> None:
    _, client = api
    assert client.get("/items?page=6&page_size=20").status_code == 200
    body = client.get("/items?page=7&page_size=20").get_json()
    assert "next_cursor" in body["message"]


def test_tampered_foreign_and_rekeyed_cursors_are_400(api: tuple[Flask, FlaskClient]) -> None:
    app, client = api
    good = next_cursor(client)
    assert client.get(f"/items?cursor={good}").status_code == 200
    for position in (0, len(good) // 2, len(good) - 1):
        flipped = good[:position] + ("B" if good[position] != "B" else "C") + good[position + 1 :]
        assert client.get(f"/items?cursor={flipped}").get_json()["error"] == "invalid_cursor"
    assert client.get(f"/items?cursor={good[:-3]}").status_code == 400
    # A cursor of another ordering.
    assert client.get(f"/items/by-name?cursor={good}").get_json()["param"] == "cursor"
    # Another app's key.
    stranger = CursorCodec(["another key"]).encode([1, 5], False, "x")
    assert client.get(f"/items?cursor={stranger}").status_code == 400
    # Rotation: the old key keeps working as a fallback, and only then.
    app.config.update(SECRET_KEY="secret two", SECRET_KEY_FALLBACKS=["secret one"])
    assert client.get(f"/items?cursor={good}").status_code == 200
    app.config.update(SECRET_KEY_FALLBACKS=[])
    assert client.get(f"/items?cursor={good}").get_json()["error"] == "invalid_cursor"


def test_signed_but_malformed_payloads_are_invalid() -> None:
    codec = CursorCodec(["k"])

    def signed(payload: Any, raw: bytes | None = None) -> str:
        data = base64.urlsafe_b64encode(raw or json.dumps(payload).encode()).rstrip(b"=")
        signature = base64.urlsafe_b64encode(hmac.digest(key, data, "sha256")).rstrip(b"=")
        return f"{data.decode()}.{signature.decode()}"

    # The key is derived from the secret with a salt of the cursors' own.
    key = hmac.digest(b"k", b"flask-perfkit.cursor", "sha256")

    good = ["n", "fp", ["i", "3"], ["n"]]
    assert codec.decode(signed(good), "fp", 2) == ([3, None], False)
    assert codec.decode(signed(["p", *good[1:]]), "fp", 2) == ([3, None], True)
    bad: list[Any] = [
        [],
        "text",
        {"v": good},
        ["x", *good[1:]],
        ["n", "other", *good[2:]],
        good[:-1],
        [*good, ["n"]],
        ["n", "fp", ["i", 3], ["n"]],
        ["n", "fp", ["i", "9" * 60], ["n"]],
        ["n", "fp", ["dt", "yesterday"], ["n"]],
        ["n", "fp", ["zz", "1"], ["n"]],
        ["n", "fp", ["d", "1e"], ["n"]],
        ["n", "fp", ["u", "not-a-uuid"], ["n"]],
        ["n", "fp", ["by", "!!"], ["n"]],
        ["n", "fp", ["f", None], ["n"]],
        ["n", "fp", ["n", 1], ["n"]],
        ["n", "fp", "i", ["n"]],
    ]
    for payload in bad:
        with pytest.raises(InvalidCursor):
            codec.decode(signed(payload), "fp", 2)
    with pytest.raises(InvalidCursor):
        codec.decode(signed(None, raw=b"\xff not json"), "fp", 2)
    with pytest.raises(InvalidCursor):
        codec.decode(signed(None, raw=b"[1, 2"), "fp", 2)


cursor_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.dates(),
    st.datetimes(timezones=st.none() | st.timezones()),
    st.times(),
    st.uuids(),
    st.binary(max_size=20),
)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(cursor_values, min_size=1, max_size=4), backward=st.booleans())
def test_cursor_values_round_trip_with_their_types(values: list[Any], backward: bool) -> None:
    codec = CursorCodec(["k"])
    token = codec.encode(values, backward, "fp")
    assert all(c.isalnum() or c in "-_." for c in token)
    decoded, direction = codec.decode(token, "fp", len(values))
    assert direction is backward
    assert [type(v) for v in decoded] == [type(v) for v in values]
    for got, sent in zip(decoded, values, strict=True):
        if isinstance(sent, datetime.datetime):
            # The zone becomes its offset at that instant: the same wall time and offset.
            # (Aware datetimes in a DST fold never compare equal across zones.)
            assert got.replace(tzinfo=None) == sent.replace(tzinfo=None)
            assert got.utcoffset() == sent.utcoffset()
        else:
            assert got == sent


def test_cursor_values_of_other_types_are_refused() -> None:
    with pytest.raises(TypeError):
        CursorCodec(["k"]).encode([object()], False, "fp")
    assert CursorCodec(["k"]).decode(
        CursorCodec(["k"]).encode([decimal.Decimal("1.10"), uuid.UUID(int=5)], False, "fp"),
        "fp",
        2,
    ) == ([decimal.Decimal("1.10"), uuid.UUID(int=5)], False)


class Grade(str, enum.Enum):  # noqa: UP042
    """A str-mixin enum: its ``str()`` is ``Grade.low``, its value ``"l"``."""

    low = "l"
    high = "h"


def test_walks_an_ordering_by_a_str_mixin_enum(make_app: AppFactory) -> None:
    app, db, _ = make_app(SECRET_KEY="k")
    table = sa.Table(
        "perfkit_graded",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("grade", sa.Enum(Grade, name="perfkit_grade")),
    )
    with app.app_context():
        table.create(db.engine)
        with db.engine.begin() as conn:
            conn.execute(
                table.insert(), [{"id": i, "grade": list(Grade)[i % 2]} for i in range(1, 7)]
            )
        stmt = sa.select(table).order_by(table.c.grade, table.c.id)
        first = paginate(stmt, page_size=2, strategy="cursor", session=db.session)
        rest = paginate(stmt, page_size=9, cursor=first.metadata.next_cursor, session=db.session)
        expected = db.session.scalars(sa.select(table.c.id).order_by(table.c.grade, table.c.id))
        assert [r["id"] for r in [*first.items, *rest.items]] == list(expected)
    codec = CursorCodec(["k"])
    assert codec.decode(codec.encode([Grade.high], False, "fp"), "fp", 1) == (["h"], False)


@settings(max_examples=5000, deadline=None)
@given(data=st.text(max_size=1100))
def test_fuzzed_text_cursors_only_raise_invalid_cursor(data: str) -> None:
    codec = CursorCodec(["k"])
    with pytest.raises(InvalidCursor):
        codec.decode(data, "fp", 2)


@settings(max_examples=5000, deadline=None)
@given(data=st.binary(max_size=600), cut=st.integers(min_value=0, max_value=200))
def test_fuzzed_and_truncated_binary_cursors_only_raise_invalid_cursor(
    data: bytes, cut: int
) -> None:
    codec = CursorCodec(["k"])
    good = codec.encode([1, "a"], False, "fp")
    forged = base64.urlsafe_b64encode(data).decode().rstrip("=")
    candidates = [forged, forged + "." + good.split(".")[-1], good[: cut % len(good)]]
    if forged:
        candidates.append(good + forged)
    for candidate in candidates:
        with pytest.raises(InvalidCursor):
            codec.decode(candidate, "fp", 2)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    query=st.dictionaries(
        st.sampled_from(["page", "page_size", "cursor"]),
        st.text(max_size=30) | st.integers(-5, 10**6).map(str),
        max_size=3,
    )
)
def test_fuzzed_request_arguments_never_give_a_500(
    api: tuple[Flask, FlaskClient], query: dict[str, str]
) -> None:
    _, client = api
    response = client.get("/items", query_string=query)
    assert response.status_code in {200, 400}
    if response.status_code == 400:
        assert response.get_json()["param"] in query


def test_cursor_pages_need_a_secret_key(make_app: AppFactory) -> None:
    app, db, _ = make_app()
    with app.app_context():
        Base.metadata.create_all(db.engine)
        db.session.execute(sa.insert(Item), rows(5))
        stmt = sa.select(Item).order_by(Item.id)
        page = paginate(stmt, page_size=2, session=db.session)
        assert page.metadata.next_cursor is None and page.metadata.has_next
        with pytest.raises(ConfigError, match="set SECRET_KEY"):
            paginate(stmt, strategy="cursor", session=db.session)


def test_the_session_comes_from_the_extension_or_is_required(make_app: AppFactory) -> None:
    app, db, _ = make_app(SECRET_KEY="k")
    with app.app_context():
        Base.metadata.create_all(db.engine)
        assert paginate(sa.select(Item)).items == []
    bare = Flask("bare")
    PerfKit(bare)
    with bare.app_context(), pytest.raises(RuntimeError, match="session="):
        paginate(sa.select(Item))
    with app.app_context(), pytest.raises(ValueError, match="strategy"):
        paginate(sa.select(Item), strategy="keyset")  # type: ignore[arg-type]
    with app.app_context(), pytest.raises(ValueError, match="column expressions"):
        paginate(sa.select(Item).order_by(sa.text("name")))
    # Each is also PerfKit's own error.
    with bare.app_context(), pytest.raises(SessionRequired):
        paginate(sa.select(Item))
    for stmt in (sa.select(Item).order_by("name"), sa.select(sa.literal(1).label("n"))):
        with app.app_context(), pytest.raises(PaginationUsageError):
            paginate(stmt, strategy="cursor")


def test_compat_reads_the_parts_of_statements_that_paging_needs() -> None:
    stmt = sa.select(Item).order_by(Item.created.desc(), "name")
    clauses = _compat.order_by_clauses(stmt)
    assert len(clauses) == 2
    assert not _compat.is_order_by_name(clauses[0]) and _compat.is_order_by_name(clauses[1])
    assert not _compat.is_order_by_name(Item.id.expression)
    assert len(_compat.select_columns(sa.select(Item, Item.id))) == 2
    assert not _compat.has_explicit_froms(stmt)
    assert _compat.has_explicit_froms(stmt.join(Tag))
    assert _compat.has_explicit_froms(sa.select(Item.id).select_from(Item))
    assert _compat.parent_entity(Item.id.expression) is sa.inspect(Item)
    assert _compat.parent_entity(sa.literal(1)) is None
    assert _compat.is_interval(sa.Interval()) and not _compat.is_interval(sa.DateTime())
    assert _compat.type_affinity(sa.BigInteger()) is sa.Integer
    assert _compat.is_binary(_compat.type_affinity(sa.LargeBinary()))
    assert not _compat.is_binary(_compat.type_affinity(sa.String())) and not _compat.is_binary(None)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    scores=st.lists(st.none() | st.integers(0, 3), min_size=0, max_size=40),
    size=st.sampled_from([1, 3, 7, 50]),
    descending=st.booleans(),
)
def test_random_tables_walk_exactly_once(
    make_app: AppFactory, scores: list[int | None], size: int, descending: bool
) -> None:
    app, db, _ = make_app(SECRET_KEY="k")
    with app.app_context():
        Base.metadata.create_all(db.engine)
        if scores:
            db.session.execute(
                sa.insert(Item),
                [
                    {"id": i, "score": s, "created": BASE, "name": "n"}
                    for i, s in enumerate(scores, 1)
                ],
            )
        ordering = [("score", descending, None)]
        stmt = sa.select(Item).order_by(order_clause(*ordering[0]))
        pages, backs = walk(stmt, size, db.session)
        assert [i for p in pages for i in p] == expected_ids(db, ordering)
        if len(pages) > 1:
            back = paginate(stmt, page_size=size, cursor=backs[-1], session=db.session)
            assert [item.id for item in back.items] == pages[-2]


def test_a_hundred_equal_timestamps_walk_once_each_way(
    make_app: AppFactory, database_url: str
) -> None:
    app, db, _ = make_app(database_url, SECRET_KEY="k")
    with app.app_context():
        Base.metadata.drop_all(db.engine)
        Base.metadata.create_all(db.engine)
        try:
            db.session.execute(
                sa.insert(Item),
                [{"id": i, "score": 1, "created": BASE, "name": "n"} for i in range(1, 101)],
            )
            db.session.commit()
            stmt = sa.select(Item).order_by(Item.created.desc())
            for size in (1, 7, 10, 11):
                pages, backs = walk(stmt, size, db.session)
                assert [i for p in pages for i in p] == list(range(100, 0, -1))
                assert len(pages) == -(-100 // size)
                back = paginate(stmt, page_size=size, cursor=backs[-1], session=db.session)
                assert [item.id for item in back.items] == pages[-2]
        finally:
            db.session.rollback()
            Base.metadata.drop_all(db.engine)


class WalkWhileWriting(RuleBasedStateMachine):
    """Inserts and deletes between the pages of one walk, newest score first."""

    def __init__(self) -> None:
        super().__init__()
        self.app = Flask("walk_machine")
        self.app.config.update(SQLALCHEMY_DATABASE_URI="sqlite://", SECRET_KEY="k")
        self.db = SQLAlchemy()
        PerfKit(self.app, db=self.db)
        self.db.init_app(self.app)
        self.ctx = self.app.app_context()
        self.ctx.push()
        Base.metadata.create_all(self.db.engine)
        self.db.session.execute(sa.insert(Item), rows(25))
        self.db.session.commit()
        self.stmt = sa.select(Item).order_by(Item.score.desc())
        self.keys = {r["id"]: self._key(r["id"], r["score"]) for r in rows(25)}
        self.untouched = set(self.keys)
        self.behind: set[int] = set()
        self.seen: list[int] = []
        self.cursor: str | None = None
        self.done = False
        self.next_id = 1000

    @staticmethod
    def _key(id_: int, score: int | None) -> tuple[bool, int, int]:
        # SQLite: descending score with NULLs last, then the id descending.
        return (score is None, -(score or 0), -id_)

    @rule(score=st.none() | st.integers(0, 3))
    def insert(self, score: int | None) -> None:
        self.next_id += 1
        self.db.session.add(Item(id=self.next_id, score=score, created=BASE, name="new"))
        self.db.session.commit()
        key = self._key(self.next_id, score)
        self.keys[self.next_id] = key
        if self.seen and key < self.keys[self.seen[-1]]:
            self.behind.add(self.next_id)

    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        existing = sorted(self.db.session.scalars(sa.select(Item.id)))
        if existing:
            victim = data.draw(st.sampled_from(existing))
            self.db.session.execute(sa.delete(Item).where(Item.id == victim))
            self.db.session.commit()
            self.untouched.discard(victim)

    @precondition(lambda self: not self.done)
    @rule(size=st.integers(1, 11))
    def next_page(self, size: int) -> None:
        page = paginate(self.stmt, page_size=size, cursor=self.cursor, strategy="cursor")
        self.seen.extend(item.id for item in page.items)
        self.cursor = page.metadata.next_cursor
        self.done = not page.metadata.has_next

    def teardown(self) -> None:
        try:
            while not self.done:
                self.next_page(5)
            assert len(self.seen) == len(set(self.seen))
            assert not set(self.seen) & self.behind
            assert self.untouched <= set(self.seen)
            assert [self.keys[i] for i in self.seen] == sorted(self.keys[i] for i in self.seen)
        finally:
            self.db.session.remove()
            self.db.engine.dispose()
            self.ctx.pop()


WalkWhileWriting.TestCase.settings = settings(
    max_examples=40, stateful_step_count=15, deadline=None
)
test_walk_while_writing = WalkWhileWriting.TestCase
