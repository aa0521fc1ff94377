"""What a hostile or careless client can send: no input ever gives a 500."""

from __future__ import annotations

import base64
import datetime
import decimal
import enum
import json
import logging
import math
import typing as t
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.sessions import SessionInterface
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from sqlalchemy import orm

from flask_perfkit import ConfigError
from flask_perfkit import PerfKit
from flask_perfkit import paginate
from flask_perfkit.cursors import MAX_CURSOR_LENGTH
from flask_perfkit.cursors import CursorCodec
from flask_perfkit.cursors import signer

from .conftest import AppFactory
from .conftest import CountQueries

TOKEN = "hostile-input-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BASE = datetime.datetime(2026, 3, 1, 8, 30, 0)


class Base(orm.DeclarativeBase):
    pass


class Mood(enum.Enum):
    calm = "c"
    happy = "h"
    sad = "s"


class Row(Base):
    __tablename__ = "perfkit_hostile_rows"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True, autoincrement=False)
    created: orm.Mapped[datetime.datetime]
    day: orm.Mapped[datetime.date]
    name: orm.Mapped[str] = orm.mapped_column(sa.String(20))
    ratio: orm.Mapped[float | None] = orm.mapped_column(sa.Float)
    amount: orm.Mapped[decimal.Decimal] = orm.mapped_column(sa.Numeric(10, 2))
    token: orm.Mapped[uuid.UUID]
    mood: orm.Mapped[Mood] = orm.mapped_column(sa.Enum(Mood, name="perfkit_hostile_mood"))
    span: orm.Mapped[datetime.timedelta]


def _rows(count: int) -> list[dict[str, t.Any]]:
    return [
        {
            "id": i,
            "created": BASE + datetime.timedelta(minutes=i),
            "day": BASE.date() + datetime.timedelta(days=i),
            "name": f"row {i:03d}",
            "ratio": i / 8,
            "amount": decimal.Decimal(i) / 4,
            "token": uuid.UUID(int=i),
            "mood": list(Mood)[i % 3],
            "span": datetime.timedelta(hours=i % 5, microseconds=i),
        }
        for i in range(1, count + 1)
    ]


def _fill(db: SQLAlchemy) -> None:
    Base.metadata.drop_all(db.engine)
    Base.metadata.create_all(db.engine)
    db.session.execute(sa.insert(Row), _rows(12))
    db.session.commit()


ORDERINGS = {
    "id": lambda: sa.select(Row).order_by(Row.id),
    "created": lambda: sa.select(Row).order_by(Row.created.desc()),
    "day": lambda: sa.select(Row).order_by(Row.day),
    "name": lambda: sa.select(Row).order_by(Row.name),
    "ratio": lambda: sa.select(Row).order_by(Row.ratio),
    "amount": lambda: sa.select(Row).order_by(Row.amount),
    "token": lambda: sa.select(Row).order_by(Row.token),
    "mood": lambda: sa.select(Row).order_by(Row.mood.desc()),
    "span": lambda: sa.select(Row).order_by(Row.span.desc()),
}


def _add_views(app: Flask, db: SQLAlchemy) -> None:
    @app.get("/rows/<ordering>")
    def rows(ordering: str) -> t.Any:
        return paginate(ORDERINGS[ordering](), session=db.session).to_dict(lambda r: r.id)

    @app.get("/keyset")
    def keyset() -> t.Any:
        stmt = ORDERINGS["id"]()
        return paginate(stmt, strategy="cursor", session=db.session).to_dict(lambda r: r.id)


@pytest.fixture
def hostile(make_app: AppFactory, database_url: str) -> Iterator[tuple[Flask, SQLAlchemy]]:
    app, db, _ = make_app(
        database_url,
        SECRET_KEY="hostile secret",
        PERFKIT_ADMIN_TOKEN=TOKEN,
        PERFKIT_SLOW_QUERY_MS=0,
    )
    _add_views(app, db)
    with app.app_context():
        _fill(db)
        yield app, db
        db.session.rollback()
        Base.metadata.drop_all(db.engine)


# -- 1: numeric query parameters --------------------------------------------------------

#: Values that are not a plain ASCII whole number, whatever the range.
NOT_WHOLE = [
    "",
    "\u00b2",  # superscript two: str.isdigit() is true, int() fails
    "\u0663",  # ARABIC-INDIC DIGIT THREE: int() takes it
    "\uff15",  # FULLWIDTH DIGIT FIVE
    "1" * 4301,  # past Python's int-string limit
    "9" * 19,
    "-0",
    "-1",
    "+1",
    " 1",
    "1 ",
    "1\n",
    "\t1",
    "1.0",
    "1e3",
    "1_0",
    "1,0",
    "0x10",
    "nan",
    "inf",
    "1\x00",
    "one",
]
#: Values that are not a plain ASCII decimal number.
NOT_NUMBER = [v for v in NOT_WHOLE if v != "1.0"] + [".5", "5.", "1.2.3", "1e-3", "-0.0"]


def _int_cases() -> list[tuple[str, str, str]]:
    cases = []
    for value in NOT_WHOLE:
        cases.append(("/health/profiling/queries", "limit", value))
        cases.append(("/health/profiling/slow-queries", "limit", value))
        cases.append(("/rows/id", "page", value))
        cases.append(("/rows/id", "page_size", value))
    for value in NOT_NUMBER:
        cases.append(("/health/profiling/slow-queries", "min_ms", value))
    for path, param, value in [
        ("/health/profiling/queries", "limit", "0"),
        ("/health/profiling/queries", "limit", "1001"),
        ("/health/profiling/slow-queries", "min_ms", "1000000001"),
        ("/rows/id", "page", "0"),
        ("/rows/id", "page_size", "101"),
    ]:
        cases.append((path, param, value))
    return cases


@pytest.mark.parametrize("headers", [{}, AUTH], ids=["anonymous", "token"])
def test_every_bad_numeric_parameter_is_a_400_naming_it(
    make_app: AppFactory, headers: dict[str, str]
) -> None:
    app, db, _ = make_app(SECRET_KEY="k", PERFKIT_ADMIN_TOKEN=TOKEN)
    _add_views(app, db)
    client = app.test_client()
    with app.app_context():
        Base.metadata.create_all(db.engine)
    failures = []
    for path, param, value in _int_cases():
        for query in ({param: value}, [(param, "1"), (param, "1")]):
            response = client.get(path, query_string=query, headers=headers)
            body = response.get_json(silent=True) or {}
            if (
                response.status_code != 400
                or body.get("param") != param
                or body.get("error") != "invalid_parameter"
                or not body.get("message")
            ):
                failures.append((path, param, value[:20], response.status_code, body))
    assert failures == []
    # Plain values in range are still taken.
    for url in (
        "/health/profiling/queries?limit=1000",
        "/health/profiling/slow-queries?limit=1&min_ms=12.5",
        "/health/profiling/slow-queries?min_ms=0",
        "/rows/id?page=1&page_size=100",
        "/rows/id?page=007",
    ):
        assert client.get(url, headers=headers).status_code == 200, url


HEALTH_GETS = [
    "",
    "/ready",
    "/full",
    "/database",
    "/database/events",
    "/cache",
    "/profiling",
    "/profiling/queries",
    "/profiling/slow-queries",
    "/profiling/n-plus-one",
    "/metrics",
]
HEALTH_POSTS = ["/cache/clear", "/cache/reset-stats", "/profiling/reset"]
PARAMS = ["limit", "min_ms", "sort", "tier", "range", "page", "page_size", "cursor"]

_bad = st.sampled_from(["short", "medium", "long", "total", "calls", "p95", *NOT_NUMBER])
_value = st.one_of(
    *[_bad] * 3,
    st.text(max_size=30),
    st.from_regex(r"[+-]?[0-9]{0,25}(\.[0-9]{0,5})?([eE][+-]?[0-9]{1,4})?", fullmatch=True),
)
_name = st.one_of(*[st.sampled_from(PARAMS)] * 3, st.text(max_size=8))
_query = st.one_of(
    st.lists(st.tuples(_name, _value), max_size=4),
    # Raw query strings: stray percent escapes, separators and bytes of any kind.
    st.text(alphabet=st.sampled_from("%&=;+ 0123456789afAFlimt_\x00\xff\u00b2"), max_size=40),
)


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", p) for p in HEALTH_GETS] + [("POST", p) for p in HEALTH_POSTS],
)
def test_fuzzing_every_health_parameter_never_gives_a_500(
    make_app: AppFactory, method: str, path: str
) -> None:
    app, _, _ = make_app(PERFKIT_ADMIN_TOKEN=TOKEN)
    client = app.test_client()
    statuses: set[int] = set()

    @settings(
        max_examples=200,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(query=_query, authorized=st.booleans())
    def check(query: t.Any, authorized: bool) -> None:
        response = client.open(
            f"/health{path}",
            method=method,
            query_string=query,
            headers=AUTH if authorized else {},
        )
        statuses.add(response.status_code)
        assert response.status_code < 500, (query, response.data[:200])
        if response.status_code == 400:
            body = response.get_json()
            assert {"error", "message", "param"} <= body.keys()

    check()
    assert statuses & {200, 503}


# -- 6: no SECRET_KEY ---------------------------------------------------------------------


def test_without_secret_key_a_cursor_is_a_400_and_cursor_pages_a_config_error(
    make_app: AppFactory, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    keyed, keyed_db, _ = make_app(database_url, SECRET_KEY="another app's key")
    perfkit = PerfKit()
    db = SQLAlchemy()
    apps = []
    with caplog.at_level(logging.WARNING, logger="flask_perfkit"):
        for _ in range(2):
            app = Flask("no_secret")
            app.config.update(SQLALCHEMY_DATABASE_URI=database_url, TESTING=True)
            perfkit.init_app(app, db=db)
            db.init_app(app)
            _add_views(app, db)
            apps.append(app)
    warnings = [r for r in caplog.records if "SECRET_KEY" in r.getMessage()]
    assert len(warnings) == 1
    assert "cursor" in warnings[0].getMessage()

    app = apps[0]
    _add_views(keyed, keyed_db)
    with app.app_context():
        _fill(db)
    try:
        foreign = keyed.test_client().get("/rows/id?page_size=2").get_json()
        foreign_cursor = foreign["metadata"]["next_cursor"]
        assert foreign_cursor

        client = app.test_client()
        page = client.get("/rows/id?page_size=5").get_json()
        assert [r for r in page["items"]] == [1, 2, 3, 4, 5]
        assert page["metadata"]["next_cursor"] is None
        assert page["metadata"]["prev_cursor"] is None
        assert page["metadata"]["has_next"] is True
        for cursor in ("abc", foreign_cursor, "x" * 5000, "\u00e9"):
            response = client.get("/rows/id", query_string={"cursor": cursor})
            assert response.status_code == 400, cursor[:20]
            assert response.get_json() == {
                "error": "invalid_cursor",
                "message": response.get_json()["message"],
                "param": "cursor",
            }
        for query in ({}, {"cursor": "abc"}, {"cursor": foreign_cursor}, {"page_size": "x"}):
            with pytest.raises(ConfigError, match="SECRET_KEY"):
                client.get("/keyset", query_string=query)
    finally:
        for made in apps:
            with made.app_context():
                if made is app:
                    Base.metadata.drop_all(db.engine)
                db.engine.dispose()


class _NoSessions(SessionInterface):
    """Opens no session: Flask before 3.1 cannot sign its cookie with a key that is not text."""

    def open_session(self, app: Flask, request: t.Any) -> None:
        return None

    def save_session(self, app: Flask, session: t.Any, response: t.Any) -> None:
        return None


def _first_page(
    make_app: AppFactory, *, sessions: bool = True, **config: t.Any
) -> tuple[FlaskClient, dict[str, t.Any]]:
    """A client of an app with the rows views (on an in-memory database) and its first page."""
    app, db, _ = make_app(**config)
    if not sessions:
        app.session_interface = _NoSessions()
    _add_views(app, db)
    with app.app_context():
        _fill(db)
    client = app.test_client()
    response = client.get("/rows/id?page_size=3")
    assert response.status_code == 200
    return client, response.get_json()


@pytest.mark.parametrize("key", [12345, ["a list"], ""])
def test_a_secret_key_that_cannot_sign_is_treated_as_missing(
    make_app: AppFactory, key: t.Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="flask_perfkit"):
        client, page = _first_page(make_app, sessions=False, SECRET_KEY=key)
    assert any("SECRET_KEY" in r.getMessage() for r in caplog.records)
    assert page["metadata"]["next_cursor"] is None
    response = client.get("/rows/id?cursor=abc")
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_cursor"
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        client.get("/keyset")


def test_empty_key_fallbacks_sign_and_accept_nothing(make_app: AppFactory) -> None:
    # An empty key is a key anyone has: a cursor signed with it must not be accepted.
    client, page = _first_page(make_app, SECRET_KEY="k", SECRET_KEY_FALLBACKS=["", b"", None])
    cursor = page["metadata"]["next_cursor"]
    assert client.get("/rows/id", query_string={"cursor": cursor}).status_code == 200
    for key in ("", b""):
        forged = CursorCodec([key]).encode([3, 3], False, _fingerprint(cursor))
        response = client.get("/rows/id", query_string={"cursor": forged})
        assert response.status_code == 400
        assert response.get_json()["error"] == "invalid_cursor"


@pytest.mark.parametrize("ordering", ["title", "title_desc"])
def test_every_cursor_served_is_accepted_back(make_app: AppFactory, ordering: str) -> None:
    # Titles of 255 characters of three and four UTF-8 bytes each, and some far longer.
    app, db, _ = make_app(SECRET_KEY="k")
    table = sa.Table(
        "perfkit_long_titles",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.String(5000)),
    )
    titles = ["\u4e2d" * 255, "\U0001f600" * 254, "\u4e2d" * 3000, "\U0001f600" * 3000, "short"]
    with app.app_context():
        table.create(db.engine)
        with db.engine.begin() as conn:
            conn.execute(
                table.insert(), [{"id": i, "title": titles[i % 5] + str(i)} for i in range(20)]
            )

    @app.get("/titles")
    def list_titles() -> t.Any:
        column = table.c.title.desc() if ordering == "title_desc" else table.c.title
        stmt = sa.select(table.c.id).order_by(column)
        return paginate(stmt, page_size=2, session=db.session).to_dict()

    client = app.test_client()
    served = 0
    for page in range(1, 11):
        body = client.get(f"/titles?page={page}").get_json()
        for key in ("next_cursor", "prev_cursor"):
            cursor = body["metadata"][key]
            if cursor is None:
                continue
            served += 1
            assert len(cursor) <= MAX_CURSOR_LENGTH
            response = client.get("/titles", query_string={"cursor": cursor})
            assert response.status_code == 200, (page, key)
    # The 255-character titles (up to 1,020 bytes) have cursors, the far longer ones none.
    assert served >= 10
    with app.app_context():
        table.drop(db.engine)


def test_a_cursor_sent_to_a_list_that_serves_none_is_a_400(make_app: AppFactory) -> None:
    app, db, _ = make_app(SECRET_KEY="k")

    @app.get("/numbers")
    def numbers() -> t.Any:
        # No ORDER BY and no table: nothing to walk by, so no page carries a cursor.
        stmt = sa.select(sa.literal(7).label("n"))
        return paginate(stmt, session=db.session).to_dict()

    client = app.test_client()
    page = client.get("/numbers").get_json()
    assert page["items"] == [7] and page["metadata"]["next_cursor"] is None
    response = client.get("/numbers?cursor=abc")
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_cursor"


# -- 7: signed cursors with values of the wrong type --------------------------------------


def _fingerprint(cursor: str) -> str:
    data = cursor.rpartition(".")[0]
    payload = json.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
    return str(payload[1])


def _signed(secret: str, payload: list[t.Any]) -> str:
    """A cursor signed with ``secret`` around any payload, including what encode() refuses."""
    text = json.dumps(payload, separators=(",", ":"), allow_nan=True)
    data = base64.urlsafe_b64encode(text.encode()).rstrip(b"=")
    return signer([secret]).sign(data).decode()


TEXT_NUL = "row\x00001"
#: Per ordering, the tagged values no row of that column can hold.
WRONG: dict[str, list[list[t.Any]]] = {
    "id": [
        ["i", "1" * 40],
        ["i", str(2**64)],
        ["i", str(-(2**63) - 1)],
        ["s", "1"],
        ["f", "1.5"],
        ["f", "nan"],
        ["f", "inf"],
        ["d", "1.5"],
        ["b", True],
        ["n"],
        ["dt", BASE.isoformat()],
    ],
    "created": [
        ["s", "2026-03-01T08:30:00"],
        ["s", "yesterday"],
        ["da", "2026-03-01"],
        ["t", "08:30:00"],
        ["i", "1"],
        ["f", "nan"],
        ["f", "-inf"],
        ["n"],
    ],
    "day": [
        ["dt", BASE.isoformat()],
        ["s", "2026-03-01"],
        ["t", "08:30:00"],
        ["i", "20260301"],
    ],
    "name": [
        ["s", TEXT_NUL],
        ["s", "x" * 21],
        ["s", "\ud800"],
        ["i", "1"],
        ["by", "AAAA"],
        ["n"],
    ],
    "ratio": [
        ["s", "0.5"],
        ["dt", BASE.isoformat()],
        ["i", "1" * 40],
        # Finite, but past what a double holds.
        ["d", "1e999"],
        ["d", "-1E+400"],
    ],
    "amount": [
        ["d", "sNaN"],
        ["d", "1e999999"],
        ["s", "1.5"],
    ],
    "mood": [
        ["e", "angry"],
        ["e", "calm\x00"],
        ["s", "angry"],
        ["i", "7"],
        ["dt", BASE.isoformat()],
    ],
    "span": [
        ["s", "1 day"],
        ["i", "3600"],
        ["dt", BASE.isoformat()],
        ["t", "01:00:00"],
        ["td", "1" * 41],
        ["td", str(10**20)],
        ["td", "-" + "9" * 30],
        ["td", "1.5"],
    ],
    "token": [
        # The column gives uuid.UUID objects, never strings.
        ["s", "00000000-0000-0000-0000-000000000003"],
        ["s", "not a uuid"],
        ["s", "1"],
        ["i", "1"],
    ],
}
# SQLite and MariaDB cannot store NaN or infinities, so no cursor of theirs holds one;
# PostgreSQL stores and orders them in floating point and numeric columns, so they are valid
# there.
NON_FINITE = {
    "ratio": [["f", "nan"], ["f", "inf"], ["f", "-inf"]],
    "amount": [["d", "NaN"], ["d", "Infinity"], ["d", "-Infinity"], ["f", "nan"]],
    # PostgreSQL's interval holds any timedelta; elsewhere an interval is stored as a
    # timestamp after 1970, and 10**18 microseconds is past year 9999.
    "span": [["td", str(10**18)], ["td", str(-(10**17))]],
}


def test_signed_cursors_with_values_of_the_wrong_type_are_400s_before_the_database(
    hostile: tuple[Flask, SQLAlchemy], record_statements: CountQueries
) -> None:
    app, db = hostile
    client = app.test_client()
    secret = app.config["SECRET_KEY"]
    with app.app_context():
        statements = record_statements(db.engine)
        dialect = db.engine.dialect.name
    failures = []
    for ordering, wrong in WRONG.items():
        first = client.get(f"/rows/{ordering}?page_size=3").get_json()
        cursor = first["metadata"]["next_cursor"]
        assert cursor, ordering
        # Good cursors walk every row once, so the bad ones below fail only for their values.
        seen = list(first["items"])
        following = cursor
        while following:
            page = client.get(f"/rows/{ordering}", query_string={"cursor": following})
            assert page.status_code == 200, ordering
            seen += page.get_json()["items"]
            following = page.get_json()["metadata"]["next_cursor"]
        assert sorted(seen) == list(range(1, 13)), ordering
        print_ = _fingerprint(cursor)
        values = list(wrong)
        if dialect != "postgresql":
            values += NON_FINITE.get(ordering, [])
        for value in values:
            bad = _signed(secret, ["n", print_, value, ["i", "3"]])
            del statements[:]
            response = client.get(f"/rows/{ordering}", query_string={"cursor": bad})
            body = response.get_json(silent=True) or {}
            if response.status_code != 400 or body.get("error") != "invalid_cursor" or statements:
                failures.append((ordering, value[:2], response.status_code, len(statements)))
    assert failures == []


_json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["nan", "inf", "-0", "1e999999", "2026-03-01", "08:30:00", "calm"]),
)
_tagged = st.one_of(
    st.tuples(
        st.sampled_from(["b", "i", "f", "d", "s", "dt", "da", "t", "td", "u", "by", "e"]),
        _json_scalar,
    ).map(list),
    st.just(["n"]),
    _json_scalar,
)


def test_fuzzed_signed_cursors_never_give_a_500(hostile: tuple[Flask, SQLAlchemy]) -> None:
    app, _ = hostile
    client = app.test_client()
    secret = app.config["SECRET_KEY"]
    prints = {}
    for ordering in ORDERINGS:
        cursor = client.get(f"/rows/{ordering}?page_size=3").get_json()["metadata"]["next_cursor"]
        prints[ordering] = _fingerprint(cursor)

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        ordering=st.sampled_from(sorted(ORDERINGS)),
        direction=st.sampled_from(["n", "p"]),
        values=st.lists(_tagged, min_size=2, max_size=2),
    )
    def check(ordering: str, direction: str, values: list[t.Any]) -> None:
        bad = _signed(secret, [direction, prints[ordering], *values])
        response = client.get(f"/rows/{ordering}", query_string={"cursor": bad})
        assert response.status_code in (200, 400), (values, response.data[:300])

    check()


@pytest.mark.postgres
def test_non_finite_floats_are_valid_cursor_values_on_postgresql(
    make_app: AppFactory,
) -> None:
    from .conftest import POSTGRES_URL
    from .conftest import require

    require("PostgreSQL", POSTGRES_URL)
    app, db, _ = make_app(POSTGRES_URL, SECRET_KEY="pg secret")
    _add_views(app, db)
    with app.app_context():
        Base.metadata.drop_all(db.engine)
        Base.metadata.create_all(db.engine)
        rows = _rows(6)
        rows[0]["ratio"] = math.nan
        rows[1]["ratio"] = math.inf
        db.session.execute(sa.insert(Row), rows)
        db.session.commit()
    try:
        client: FlaskClient = app.test_client()
        seen = []
        url = "/rows/ratio?page_size=2"
        while url:
            page = client.get(url).get_json()
            seen += page["items"]
            cursor = page["metadata"]["next_cursor"]
            url = f"/rows/ratio?page_size=2&cursor={cursor}" if cursor else ""
        # PostgreSQL sorts infinity, then NaN, above every number.
        assert seen == [3, 4, 5, 6, 2, 1]
    finally:
        with app.app_context():
            Base.metadata.drop_all(db.engine)
