from __future__ import annotations

import logging
import threading
import typing as t
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship
from sqlalchemy.orm import selectinload

from flask_perfkit import PerfKit
from flask_perfkit import QueryBudgetExceeded
from flask_perfkit.profiler import PatternStats
from flask_perfkit.signals import n_plus_one
from flask_perfkit.signals import slow_query
from tests.conftest import POSTGRES_URL
from tests.conftest import AppFactory
from tests.conftest import require

SECRET = "s3cr3t-pii"
TOKEN = "admin-token"


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "pk_authors"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(50))
    books: Mapped[list[Book]] = relationship(back_populates="author", lazy="select")


class Book(Base):
    __tablename__ = "pk_books"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(50))
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("pk_authors.id"))
    author: Mapped[Author] = relationship(back_populates="books")


@pytest.fixture
def library(make_app: AppFactory, database_url: str) -> Iterator[tuple[Flask, SQLAlchemy, PerfKit]]:
    app, db, perfkit = make_app(
        database_url, PERFKIT_HEALTH_SHOW_DETAILS="always", PERFKIT_ADMIN_TOKEN=TOKEN
    )
    with app.app_context():
        engine = db.engine
        Base.metadata.drop_all(engine)
        Base.metadata.create_all(engine)
        with Session(engine) as session:
            for a in range(1, 9):
                session.add(Author(id=a, name=f"author {a}"))
            session.flush()
            for b in range(1, 25):
                session.add(Book(id=b, title=f"book {b}", author_id=(b % 8) + 1))
            session.commit()
        perfkit.profiler.reset()

    @app.get("/lazy")
    def lazy() -> dict[str, int]:
        with Session(engine) as session:
            authors = session.scalars(sa.select(Author).order_by(Author.id)).all()
            return {"books": sum(len(a.books) for a in authors)}

    @app.get("/eager")
    def eager() -> dict[str, int]:
        with Session(engine) as session:
            query = sa.select(Author).options(selectinload(Author.books)).order_by(Author.id)
            authors = session.scalars(query).all()
            return {"books": sum(len(a.books) for a in authors)}

    @app.get("/secret")
    def secret() -> dict[str, int]:
        with engine.connect() as conn:
            conn.execute(sa.select(Author.id).where(Author.name == SECRET))
            conn.execute(sa.text(f"SELECT id FROM pk_authors WHERE name = '{SECRET}'"))
        return {"ok": 1}

    yield app, db, perfkit
    with app.app_context():
        Base.metadata.drop_all(db.engine)


def by_query(app: Flask, perfkit: PerfKit) -> dict[str, PatternStats]:
    with app.app_context():
        return {p.query: p for p in perfkit.profiler.patterns()}


def test_every_execution_is_counted_under_threads(
    library: tuple[Flask, SQLAlchemy, PerfKit],
) -> None:
    app, db, perfkit = library

    @app.get("/count")
    def count() -> str:
        with db.engine.connect() as conn:
            for i in range(25):
                conn.execute(sa.text("SELECT id FROM pk_authors WHERE id = :i"), {"i": i})
        return "ok"

    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            barrier.wait()
            if index % 2:
                client = app.test_client()
                for _ in range(8):
                    assert client.get("/count").status_code == 200
            else:
                with app.app_context(), db.engine.connect() as conn:
                    for i in range(200):
                        conn.execute(sa.text("SELECT id FROM pk_authors WHERE id = :i"), {"i": i})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    stats = [p for p in by_query(app, perfkit).values() if "pk_authors WHERE id" in p.query]
    assert len(stats) == 1
    assert stats[0].calls == 4 * 8 * 25 + 4 * 200
    assert stats[0].endpoints == {"count": 4 * 8 * 25}
    with app.app_context():
        summary = perfkit.profiler.summary()
    assert summary.total_queries == 4 * 8 * 25 + 4 * 200
    assert stats[0].min_ms <= stats[0].p50_ms <= stats[0].p95_ms <= stats[0].max_ms


@pytest.mark.parametrize("sizes", [(1, 2, 50)])
def test_in_lists_of_any_length_are_one_pattern(
    library: tuple[Flask, SQLAlchemy, PerfKit], sizes: tuple[int, ...]
) -> None:
    app, db, perfkit = library
    with app.app_context(), db.engine.connect() as conn:
        for size in sizes:
            conn.execute(sa.select(Author.id).where(Author.id.in_(list(range(size)))))
    patterns = [p for p in by_query(app, perfkit).values() if "IN (...)" in p.query]
    assert len(patterns) == 1
    assert patterns[0].calls == len(sizes)


def test_no_literal_or_bound_value_is_served_or_logged(
    library: tuple[Flask, SQLAlchemy, PerfKit], caplog: pytest.LogCaptureFixture
) -> None:
    app, _, _ = library
    app.config["PERFKIT_SLOW_QUERY_MS"] = 0
    payloads: list[str] = []

    def receiver(sender: Flask, **kwargs: t.Any) -> None:
        payloads.append(repr(kwargs))

    client = app.test_client()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with caplog.at_level(logging.DEBUG), slow_query.connected_to(receiver, app):
        for _ in range(6):
            assert client.get("/secret").status_code == 200
        for path in (
            "/health/profiling",
            "/health/profiling/queries?limit=1000",
            "/health/profiling/slow-queries",
            "/health/profiling/n-plus-one",
            "/health/ready",
        ):
            text = client.get(path, headers=headers).get_data(as_text=True)
            assert SECRET not in text, path
    assert SECRET not in caplog.text
    assert all(SECRET not in payload for payload in payloads)


def test_patterns_are_bounded_and_evictions_counted(make_app: AppFactory) -> None:
    app, db, perfkit = make_app("sqlite://", PERFKIT_MAX_PATTERNS=20)
    with app.app_context(), db.engine.connect() as conn:
        for _ in range(3):
            conn.execute(sa.text("SELECT 1 AS kept"))
        for i in range(100):
            conn.execute(sa.text(f"SELECT 1 AS c{i}"))
        patterns = perfkit.profiler.patterns()
        summary = perfkit.profiler.summary()
    assert len(patterns) <= 20
    assert summary.evictions >= 80
    assert summary.total_queries == 103
    assert "SELECT ? AS kept" in {p.query for p in patterns}


def test_lazy_load_loop_is_flagged_and_its_selectinload_twin_is_not(
    library: tuple[Flask, SQLAlchemy, PerfKit], caplog: pytest.LogCaptureFixture
) -> None:
    app, _, _ = library
    suspects: list[t.Any] = []

    def receiver(sender: Flask, suspect: t.Any) -> None:
        suspects.append(suspect)

    client = app.test_client()
    with n_plus_one.connected_to(receiver, app), caplog.at_level(logging.WARNING):
        assert client.get("/eager").get_json() == {"books": 24}
        assert client.get("/lazy").get_json() == {"books": 24}
        assert client.get("/lazy").get_json() == {"books": 24}
    body = client.get("/health/profiling/n-plus-one").get_json()
    found = body["n_plus_one"]
    assert [s["endpoint"] for s in found] == ["lazy"]
    assert found[0]["count"] == 8
    assert found[0]["requests"] == 2
    assert "pk_books" in found[0]["query"]
    assert "selectinload" in found[0]["hint"]
    assert [s.endpoint for s in suspects] == ["lazy", "lazy"]
    assert caplog.text.count("Possible N+1") == 1
    assert body["status"] == "warn"
    report = client.get("/health/profiling").get_json()
    assert any("'lazy'" in r["message"] for r in report["recommendations"])
    ready = client.get("/health/ready").get_json()
    assert ready["checks"]["profiling"]["status"] == "warn"
    assert ready["status"] == "warn"


def test_failed_statements_are_counted_with_a_duration(
    library: tuple[Flask, SQLAlchemy, PerfKit],
) -> None:
    app, db, perfkit = library
    with app.app_context():
        for _ in range(3):
            with pytest.raises(sa.exc.DBAPIError), db.engine.connect() as conn:
                conn.execute(sa.text("SELEKT nonsense"))
        with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
            conn.execute(sa.insert(Author), {"id": 1, "name": "duplicate"})
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar() == 1
        summary = perfkit.profiler.summary()
    patterns = by_query(app, perfkit)
    assert patterns["SELEKT nonsense"].errors == 3
    assert patterns["SELEKT nonsense"].calls == 3
    assert patterns["SELEKT nonsense"].max_ms > 0
    inserts = [p for p in patterns.values() if p.query.startswith("INSERT INTO pk_authors")]
    assert inserts[0].errors == 1
    assert summary.errors == 4


def test_pre_ping_is_not_counted(library: tuple[Flask, SQLAlchemy, PerfKit]) -> None:
    app, db, perfkit = library
    with app.app_context():
        assert db.engine.pool._pre_ping
        for _ in range(7):
            with db.engine.connect() as conn:
                conn.execute(sa.text("SELECT 2"))
        assert perfkit.profiler.summary().total_queries == 7


def test_slow_queries_fill_a_bounded_buffer_and_signal(make_app: AppFactory) -> None:
    app, db, _ = make_app(
        "sqlite://",
        PERFKIT_SLOW_QUERY_MS=0,
        PERFKIT_VERY_SLOW_QUERY_MS=0,
        PERFKIT_SLOW_QUERY_BUFFER=5,
        PERFKIT_HEALTH_SHOW_DETAILS="always",
    )
    records: list[t.Any] = []

    @app.get("/items/<int:item>")
    def item(item: int) -> str:
        with db.engine.connect() as conn:
            conn.execute(sa.text("SELECT :n"), {"n": item})
        return "ok"

    client = app.test_client()
    with slow_query.connected_to(lambda sender, record: records.append(record), app):
        for i in range(8):
            client.get(f"/items/{i}")
    assert len(records) == 8
    body = client.get("/health/profiling/slow-queries").get_json()
    slow = body["slow_queries"]
    assert len(slow) == 5
    assert slow[0]["path"] == "/items/<int:item>"
    assert slow[0]["method"] == "GET" and slow[0]["endpoint"] == "item"
    assert slow[0]["very_slow"] is True
    summary = client.get("/health/profiling").get_json()["summary"]
    assert summary["slow_percentage"] == 100.0
    assert client.get("/health/profiling/slow-queries?min_ms=100000").get_json() == {
        "status": "warn",
        "slow_queries": [],
        "pid": body["pid"],
        "since": body["since"],
    }


def test_query_budget_raises_logs_and_decorates(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app, db, perfkit = make_app("sqlite://")
    with app.app_context():
        engine = db.engine

        with perfkit.query_budget(2), engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            conn.execute(sa.text("SELECT 2"))

        with (
            pytest.raises(QueryBudgetExceeded) as info,
            perfkit.query_budget(2),
            engine.connect() as conn,
        ):
            for _ in range(3):
                conn.execute(sa.text("SELECT 3"))
        assert info.value.count == 3 and info.value.limit == 2
        assert info.value.patterns == ["SELECT ?"]

        with (
            caplog.at_level(logging.WARNING),
            perfkit.query_budget(0, action="log"),
            engine.connect() as conn,
        ):
            conn.execute(sa.text("SELECT 4"))
        assert "budget of 0 was exceeded" in caplog.text

        @perfkit.query_budget(1)
        def twice() -> None:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 5"))
                conn.execute(sa.text("SELECT 6"))

        with pytest.raises(QueryBudgetExceeded):
            twice()
        assert perfkit.profiler.summary().total_queries == 2 + 3 + 1 + 2


def test_query_budget_block_outside_requests_detects_n_plus_one(
    library: tuple[Flask, SQLAlchemy, PerfKit],
) -> None:
    app, db, perfkit = library
    with app.app_context(), perfkit.query_budget(100), Session(db.engine) as session:
        for author in session.scalars(sa.select(Author)).all():
            assert author.books
    with app.app_context():
        suspects = perfkit.profiler.suspects()
    assert [s.endpoint for s in suspects] == ["query_budget"]


def test_the_check_reads_the_same_slow_share_and_suspects_as_the_summary(
    library: tuple[Flask, SQLAlchemy, PerfKit],
) -> None:
    app, _, perfkit = library
    client = app.test_client()
    with app.app_context():
        profiler = perfkit.profiler
    assert (profiler.slow_percentage(), profiler.suspect_count()) == (0.0, 0)
    client.get("/lazy")
    suspects = len(profiler.suspects())
    assert suspects == profiler.suspect_count() > 0
    assert profiler.slow_percentage() == profiler.summary().slow_percentage == 0.0
    check = client.get("/health/full").get_json()["checks"]["profiling"]
    assert check["status"] == "warn"
    assert check["output"] == f"0.0% slow statements, {suspects} N+1 suspect(s)"
    profiler.slow_query = 0.0
    client.get("/eager")
    share = profiler.slow_percentage()
    assert 0 < share < 100 and share == profiler.summary().slow_percentage


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("/health/profiling/queries?limit=0", "limit"),
        ("/health/profiling/queries?limit=abc", "limit"),
        ("/health/profiling/queries?limit=1001", "limit"),
        ("/health/profiling/queries?sort=name", "sort"),
        ("/health/profiling/slow-queries?min_ms=x", "min_ms"),
        ("/health/profiling/slow-queries?min_ms=-1", "min_ms"),
        ("/health/profiling/slow-queries?limit=-3", "limit"),
    ],
)
def test_bad_parameters_are_400s_naming_them(make_app: AppFactory, query: str, param: str) -> None:
    app, _, _ = make_app(PERFKIT_HEALTH_SHOW_DETAILS="always")
    response = app.test_client().get(query)
    assert response.status_code == 400
    body = response.get_json()
    assert body["param"] == param
    assert body["error"] == "invalid_parameter"


@pytest.mark.parametrize("sort", ["total", "mean", "calls", "p95", "max"])
def test_queries_are_sorted_and_limited(make_app: AppFactory, sort: str) -> None:
    app, db, _ = make_app("sqlite://", PERFKIT_HEALTH_SHOW_DETAILS="always")
    with app.app_context(), db.engine.connect() as conn:
        for i in range(1, 6):
            for _ in range(i):
                conn.execute(sa.text(f"SELECT 1 AS c{i}"))
    queries = app.test_client().get(f"/health/profiling/queries?sort={sort}&limit=3").get_json()
    assert len(queries["queries"]) == 3
    field = {"total": "total_ms", "mean": "mean_ms", "calls": "calls", "p95": "p95_ms"}.get(
        sort, "max_ms"
    )
    values = [q[field] for q in queries["queries"]]
    assert values == sorted(values, reverse=True)
    if sort == "calls":
        assert values == [5, 4, 3]


def test_profiling_details_follow_the_policy_and_reset_is_admin_only(
    make_app: AppFactory,
) -> None:
    app, db, perfkit = make_app("sqlite://", PERFKIT_ADMIN_TOKEN=TOKEN)
    with app.app_context(), db.engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
    client = app.test_client()
    assert client.get("/health/profiling").get_json() == {"status": "pass"}
    assert client.get("/health/profiling/queries").get_json() == {"status": "pass"}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert client.get("/health/profiling", headers=headers).get_json()["summary"]["total_queries"]
    assert client.post("/health/profiling/reset").status_code == 401
    assert client.get("/health/profiling/reset", headers=headers).status_code == 405
    assert client.post("/health/profiling/reset", headers=headers).status_code == 200
    with app.app_context():
        assert perfkit.profiler.summary().total_queries == 0


def test_reset_and_reads_while_recording(make_app: AppFactory) -> None:
    app, db, perfkit = make_app("sqlite://")
    stop = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            with app.app_context(), db.engine.connect() as conn:
                while not stop.is_set():
                    conn.execute(sa.text("SELECT 1"))
        except BaseException as exc:
            errors.append(exc)

    def read() -> None:
        try:
            with app.app_context():
                while not stop.is_set():
                    perfkit.profiler.patterns()
                    perfkit.profiler.slow_queries()
                    perfkit.profiler.summary()
                    perfkit.profiler.reset()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write) for _ in range(3)] + [threading.Thread(target=read)]
    for thread in threads:
        thread.start()
    threading.Event().wait(0.5)
    stop.set()
    for thread in threads:
        thread.join()
    assert errors == []
    with app.app_context():
        perfkit.profiler.reset()
        with db.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        assert perfkit.profiler.summary().total_queries == 1


def test_plain_engines_and_binds_are_profiled(make_app: AppFactory, tmp_path: t.Any) -> None:
    engine = sa.create_engine("sqlite://")
    app = Flask(__name__)
    perfkit = PerfKit(app, engine=engine)
    with app.app_context(), engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
        assert perfkit.profiler.summary().total_queries == 1

    app, db, perfkit = make_app(
        f"sqlite:///{tmp_path / 'a.db'}", SQLALCHEMY_BINDS={"users": "sqlite://"}
    )
    with app.app_context():
        for engine in db.engines.values():
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        assert perfkit.profiler.summary().total_queries == 2


def test_a_request_longer_than_one_batch_keeps_its_n_plus_one_count(
    make_app: AppFactory,
) -> None:
    app, db, perfkit = make_app("sqlite://", PERFKIT_HEALTH_SHOW_DETAILS="always")

    @app.get("/many")
    def many() -> str:
        with db.engine.connect() as conn:
            for i in range(5000):
                conn.execute(sa.text("SELECT :i"), {"i": i})
        return "ok"

    client = app.test_client()
    assert client.get("/many").status_code == 200
    suspects = client.get("/health/profiling/n-plus-one").get_json()["n_plus_one"]
    assert suspects[0]["count"] == 5000
    with app.app_context():
        assert perfkit.profiler.summary().total_queries == 5000


def test_pre_ping_after_a_server_side_disconnect_is_quiet_and_uncounted(
    make_app: AppFactory,
) -> None:
    require("PostgreSQL", POSTGRES_URL)
    app, db, perfkit = make_app(POSTGRES_URL)
    with app.app_context():
        engine = db.engine
        with engine.connect() as conn:
            pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        killer = sa.create_engine(POSTGRES_URL, poolclass=sa.pool.NullPool)
        with killer.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        killer.dispose()
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar() == 1
        summary = perfkit.profiler.summary()
        assert summary.total_queries == 2
        assert summary.errors == 0
        assert perfkit.pool_status().checked_out == 0


def test_a_budget_block_longer_than_one_batch_counts_every_statement(
    make_app: AppFactory,
) -> None:
    app, db, perfkit = make_app("sqlite://", PERFKIT_HEALTH_SHOW_DETAILS="always")

    def run(count: int) -> None:
        with db.engine.connect() as conn:
            for i in range(count):
                conn.execute(sa.text("SELECT :i"), {"i": i})

    @app.get("/budgeted")
    def budgeted() -> str:
        with perfkit.query_budget(6000):
            run(5000)
        return "ok"

    with app.app_context():
        with pytest.raises(QueryBudgetExceeded) as raised, perfkit.query_budget(4500):
            run(5000)
        assert raised.value.count == 5000
    client = app.test_client()
    assert client.get("/budgeted").status_code == 200
    suspects = client.get("/health/profiling/n-plus-one").get_json()["n_plus_one"]
    assert [(s["endpoint"], s["count"]) for s in suspects] == [
        ("budgeted", 5000),
        ("query_budget", 5000),
    ]


def test_a_request_of_another_app_inside_a_request_leaves_its_statements_alone(
    make_app: AppFactory,
) -> None:
    outer, outer_db, outer_kit = make_app()
    inner, inner_db, inner_kit = make_app()

    @inner.get("/inner")
    def inner_view() -> str:
        inner_db.session.execute(sa.text("SELECT 2"))
        return "ok"

    @outer.get("/outer")
    def outer_view() -> str:
        outer_db.session.execute(sa.text("SELECT 1"))
        assert inner.test_client().get("/inner").status_code == 200
        for _ in range(4):
            outer_db.session.execute(sa.text("SELECT 1"))
        return "ok"

    assert outer.test_client().get("/outer").status_code == 200
    with outer.app_context():
        outer_patterns = {p.query: p.endpoints for p in outer_kit.profiler.patterns()}
    with inner.app_context():
        inner_patterns = {p.query: p.endpoints for p in inner_kit.profiler.patterns()}
    assert outer_patterns == {"SELECT ?": {"outer_view": 5}}
    assert inner_patterns == {"SELECT ?": {"inner_view": 1}}
