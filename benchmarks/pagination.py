"""Keyset pages deep in a large table: PerfKit's cursor against raw SQL, OFFSET and sqlakeyset.

A table of 1,000,000 posts (SQLite, and the local PostgreSQL when it is reachable) with a
non-unique ``created_at`` (about five posts share each second) and an index on
``(created_at, id)``, read newest first, 20 posts a page, as ORM objects through one
session. The cases:

- PerfKit's cursor page 2 (the ``next_cursor`` of the first page);
- PerfKit's cursor page at depth 500,000 (the ``next_cursor`` of the row before it);
- a hand-written keyset query from the same boundary row, ``(created_at, id) < (:c, :i)``;
- ``OFFSET 500000`` with the same ordering;
- sqlakeyset's ``select_page`` with the bookmark of the same boundary.

Every case fetches 21 rows, so it knows whether a next page exists. Targets: the deep page
within 2x of page 2 and within 1.5x of the raw keyset query, at least 100x faster than
OFFSET at that depth, and faster than sqlakeyset.

The SQLite table is built on the first run and kept in ``.bench/pagination.sqlite``, which
``make clean`` removes. The PostgreSQL table (about 108 MB) is built in a database of the run's
own, named after the database of ``PERFKIT_TEST_POSTGRES_URL`` (``test`` by default) with a
suffix, and that database is dropped when the benchmark ends, however it ends.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import sqlite3
import typing as t
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlakeyset import select_page
from sqlakeyset import serialize_bookmark
from sqlalchemy import orm

from flask_perfkit import PerfKit
from flask_perfkit import paginate
from tests.isolation import RunDatabases
from tests.isolation import new_run_id
from tests.isolation import run_url

from ._harness import Case
from ._harness import Result
from ._harness import listening
from ._harness import measure
from ._harness import report

ROWS = 1_000_000
DEPTH = 500_000
PAGE = 20
POSTGRES_URL = os.environ.get(
    "PERFKIT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SQLITE_PATH = Path(".bench") / "pagination.sqlite"
BASE = datetime.datetime(2020, 1, 1)


class Base(orm.DeclarativeBase):
    pass


class Post(Base):
    __tablename__ = "perfkit_bench_posts"
    __table_args__ = (sa.Index("ix_perfkit_bench_posts_created_id", "created_at", "id"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True, autoincrement=False)
    created_at: orm.Mapped[datetime.datetime]
    title: orm.Mapped[str] = orm.mapped_column(sa.String(60))


def _stamp(value: datetime.datetime) -> str:
    """The text SQLAlchemy stores for a DateTime on SQLite."""
    return value.isoformat(" ", timespec="microseconds")


def _build_sqlite() -> None:
    SQLITE_PATH.parent.mkdir(exist_ok=True)
    building = SQLITE_PATH.with_suffix(".building")
    building.unlink(missing_ok=True)
    conn = sqlite3.connect(building)
    conn.execute(
        "CREATE TABLE perfkit_bench_posts"
        " (id INTEGER PRIMARY KEY, created_at DATETIME NOT NULL, title VARCHAR(60) NOT NULL)"
    )
    rows = (
        (i, _stamp(BASE + datetime.timedelta(seconds=(i * 7919) % (ROWS // 5))), f"p{i}")
        for i in range(1, ROWS + 1)
    )
    conn.executemany("INSERT INTO perfkit_bench_posts VALUES (?, ?, ?)", rows)
    conn.execute(
        "CREATE INDEX ix_perfkit_bench_posts_created_id ON perfkit_bench_posts (created_at, id)"
    )
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()
    building.rename(SQLITE_PATH)


def _build_postgres(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        exists = conn.execute(sa.text("SELECT to_regclass('perfkit_bench_posts')")).scalar()
        if exists is not None:
            count = conn.execute(sa.text("SELECT count(*) FROM perfkit_bench_posts")).scalar()
            if count == ROWS:
                return
            conn.execute(sa.text("DROP TABLE perfkit_bench_posts"))
        Base.metadata.create_all(conn)
        conn.execute(
            sa.text(
                "INSERT INTO perfkit_bench_posts (id, created_at, title)"
                " SELECT g, timestamp '2020-01-01' + ((g::bigint * 7919) % :span) * interval"
                " '1 second', 'p' || g FROM generate_series(1, :rows) g"
            ),
            {"span": ROWS // 5, "rows": ROWS},
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE perfkit_bench_posts"))


def _token(values: list[t.Any]) -> bytes:
    return base64.urlsafe_b64encode(json.dumps(values).encode())


RAW_KEYSET = (
    "SELECT id, created_at, title FROM perfkit_bench_posts"
    " WHERE (created_at, id) < (:created_at, :id)"
    " ORDER BY created_at DESC, id DESC LIMIT :limit"
)


def _bench(name: str, url: str) -> list[str]:
    app = Flask(f"bench_pagination_{name}")
    app.config.update(SQLALCHEMY_DATABASE_URI=url, SECRET_KEY="bench")
    db = SQLAlchemy()
    PerfKit(app, db=db)
    db.init_app(app)
    with app.app_context():
        if name == "PostgreSQL":
            _build_postgres(db.engine)
        session = db.session()
        ordered = sa.select(Post).order_by(Post.created_at.desc())
        explicit = sa.select(Post).order_by(Post.created_at.desc(), Post.id.desc())
        # sqlakeyset's annotations predate SQLAlchemy 2.1's Select.
        keyset_query: t.Any = explicit
        boundary = session.execute(
            sa.select(Post.created_at, Post.id)
            .order_by(Post.created_at.desc(), Post.id.desc())
            .offset(DEPTH - 1)
            .limit(1)
        ).one()
        # A cursor is only a position: the cursor of the boundary row, read from a query
        # that starts there, continues the whole ordering.
        start = ordered.where(sa.tuple_(Post.created_at, Post.id) <= tuple(boundary))
        deep_cursor = paginate(start, page_size=1, strategy="cursor").metadata.next_cursor
        page2_cursor = paginate(ordered, page_size=PAGE, strategy="cursor").metadata.next_cursor
        bookmark = serialize_bookmark((tuple(boundary), False))
        raw = sa.select(Post).from_statement(
            sa.text(RAW_KEYSET).bindparams(sa.bindparam("created_at", type_=sa.DateTime))
        )
        raw_params = {"created_at": boundary[0], "id": boundary[1], "limit": PAGE + 1}

        def page_two() -> object:
            return paginate(ordered, page_size=PAGE, cursor=page2_cursor)

        def deep() -> object:
            return paginate(ordered, page_size=PAGE, cursor=deep_cursor)

        def raw_query() -> list[Post]:
            return list(session.execute(raw, raw_params).scalars().all())

        raw_token = _token([boundary[0].isoformat(), boundary[1]])

        def raw_endpoint() -> object:
            # What a hand-written keyset endpoint does per request: read the boundary from an
            # (unsigned) token, run the query, and hand out tokens for both neighbours.
            created_at, id_ = json.loads(base64.urlsafe_b64decode(raw_token))
            rows = (
                session.execute(
                    raw,
                    {
                        "created_at": datetime.datetime.fromisoformat(created_at),
                        "id": id_,
                        "limit": PAGE + 1,
                    },
                )
                .scalars()
                .all()
            )
            page = rows[:PAGE]
            return {
                "next": _token([page[-1].created_at.isoformat(), page[-1].id]),
                "prev": _token([page[0].created_at.isoformat(), page[0].id]),
            }

        def offset() -> object:
            return session.scalars(explicit.offset(DEPTH).limit(PAGE + 1)).all()

        def sqlakeyset_page() -> object:
            page = select_page(session, keyset_query, per_page=PAGE, page=bookmark)
            return page.paging.bookmark_next, page.paging.bookmark_previous

        same = [r.id for r in t.cast(list[Post], paginate(ordered, cursor=deep_cursor).items)]
        assert same[:PAGE] == [r.id for r in raw_query()][:PAGE]
        assert same[:PAGE] == [r.id for r in t.cast(list[Post], offset())][:PAGE]
        assert same[:PAGE] == [
            row[0].id for row in select_page(session, keyset_query, per_page=PAGE, page=bookmark)
        ]

        page2 = f"{name}: cursor page 2"
        raw_name = f"{name}: raw keyset endpoint at depth 500k"
        sqlakeyset_name = f"{name}: sqlakeyset at depth 500k"
        cases = [
            Case(page2, page_two),
            Case(f"{name}: cursor page at depth 500k", deep, page2, 2.0),
            Case(f"{name}: raw keyset query alone", raw_query),
            Case(raw_name, raw_endpoint),
            Case(sqlakeyset_name, sqlakeyset_page),
        ]
        results = measure(cases, number=100, repeat=15, warmup=20)
        offset_name = f"{name}: OFFSET 500000 query"
        slow = measure([Case(offset_name, offset)], number=1, repeat=5, warmup=1)
        deep_ns = results[1].median_ns
        derived = [
            Result(Case("  deep cursor vs raw keyset endpoint", deep, raw_name, 1.5), deep_ns),
            Result(Case("  deep cursor vs raw keyset query alone", deep, cases[2].name), deep_ns),
            Result(Case("  deep cursor vs OFFSET", deep, offset_name, faster_than=100), deep_ns),
            Result(
                Case("  deep cursor vs sqlakeyset", deep, sqlakeyset_name, faster_than=1.0),
                deep_ns,
            ),
        ]
        missed = report(
            f"Keyset pagination on {name}, {ROWS:,} rows, {PAGE} per page",
            [*results, *slow, *derived],
        )
    with app.app_context():
        db.engine.dispose()
    return missed


def run() -> list[str]:
    if not SQLITE_PATH.exists():
        print(f"\nBuilding {SQLITE_PATH} ({ROWS:,} rows)...")
        _build_sqlite()
    missed = _bench("SQLite", f"sqlite:///{SQLITE_PATH.resolve()}")
    if listening(sa.make_url(POSTGRES_URL).port or 5432):
        databases = RunDatabases()
        url = run_url(POSTGRES_URL, new_run_id())
        try:
            databases.ensure(url)
            missed += _bench("PostgreSQL", url)
        finally:
            databases.drop()
    else:
        print("\nPostgreSQL is not reachable at 127.0.0.1:5432; its cases were not run.")
    return missed
