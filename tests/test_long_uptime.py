"""What a process that runs for weeks, or a test suite that builds an app per test, needs:
bounded memory, apps freed when dropped, and engines shared between apps counted once."""

from __future__ import annotations

import gc
import threading
import typing as t
import weakref

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_caching import Cache
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import orm

from flask_perfkit import PerfKit
from flask_perfkit import breaker as _breaker
from flask_perfkit import cache_medium
from flask_perfkit import cache_short
from flask_perfkit import paginate

from .conftest import AppFactory
from .test_hostile_input import HEALTH_GETS

TOKEN = "long-uptime-token"


class Base(orm.DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "perfkit_uptime_notes"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True, autoincrement=False)
    rank: orm.Mapped[int]
    title: orm.Mapped[str] = orm.mapped_column(sa.String(30))


@cache_short
def doubled(value: int) -> int:
    return value * 2


@cache_medium(invalidate_on=[Note])
def note_count(session: orm.Session | orm.scoped_session[t.Any]) -> int:
    return int(session.scalar(sa.select(sa.func.count()).select_from(Note)) or 0)


# -- 3: every in-memory structure is bounded and counts its evictions ------------------


def test_every_structure_is_bounded_and_counts_its_evictions(make_app: AppFactory) -> None:
    app, db, perfkit = make_app(
        PERFKIT_ADMIN_TOKEN=TOKEN,
        SECRET_KEY="k",
        PERFKIT_SLOW_QUERY_MS=0,
        PERFKIT_VERY_SLOW_QUERY_MS=0,
        PERFKIT_MAX_PATTERNS=40,
        PERFKIT_MAX_N_PLUS_ONE_SUSPECTS=10,
        PERFKIT_SLOW_QUERY_BUFFER=5,
        PERFKIT_MAX_PAGE_PLANS=4,
    )

    @app.get("/n-plus-one/<int:n>")
    def n_plus_one(n: int) -> str:
        # A pattern of its own in each request, run often enough to be a suspect.
        for _ in range(5):
            db.session.execute(sa.text(f"SELECT 1 AS unique_{n}"))
        return "ok"

    @app.get("/wide")
    def wide() -> str:
        for n in range(100):
            db.session.execute(sa.text(f"SELECT 1 AS wide_{n}"))
        return "ok"

    columns = [Note.id, Note.rank, Note.title]

    @app.get("/pages/<int:n>")
    def pages(n: int) -> t.Any:
        # A statement shape of its own in each request: a different selection of columns.
        stmt = sa.select(*columns[: 1 + n % 3], sa.literal(n).label(f"c{n}")).order_by(Note.id)
        return paginate(stmt, session=db.session).to_dict(lambda row: row.id)

    with app.app_context():
        Base.metadata.create_all(db.engine)
    client = app.test_client()
    for n in range(60):
        assert client.get(f"/n-plus-one/{n}").status_code == 200
    assert client.get("/wide").status_code == 200
    for n in range(12):
        assert client.get(f"/pages/{n}").status_code == 200

    headers = {"Authorization": f"Bearer {TOKEN}"}
    report = client.get("/health/profiling", headers=headers).get_json()
    memory = report["memory"]
    assert set(memory) >= {
        "patterns",
        "n_plus_one_suspects",
        "slow_queries",
        "request_patterns",
        "pagination_plans",
    }
    for name, usage in memory.items():
        assert 0 <= usage["entries"] <= usage["limit"], name
    assert memory["patterns"]["limit"] == 40
    assert memory["patterns"]["evictions"] > 0
    suspects = memory["n_plus_one_suspects"]
    assert suspects["limit"] == 10 and suspects["evictions"] >= 50
    assert len(report["n_plus_one"]) == suspects["entries"] <= 10
    slow = memory["slow_queries"]
    assert slow["entries"] == 5
    assert slow["evictions"] == report["summary"]["slow_queries"] - 5
    # 100 distinct SELECT patterns in one request, 40 counted for N+1.
    assert memory["request_patterns"] == {"entries": 40, "limit": 40, "evictions": 60}
    assert memory["pagination_plans"]["entries"] == 4
    assert memory["pagination_plans"]["evictions"] >= 8

    metrics = client.get("/health/metrics", headers=headers).get_data(as_text=True)
    assert 'perfkit_memory_evictions_total{structure="n_plus_one_suspects"}' in metrics
    assert 'perfkit_memory_entries{structure="slow_queries"} 5.0' in metrics

    # Reset starts the counts again.
    assert client.post("/health/profiling/reset", headers=headers).status_code == 200
    with app.app_context():
        usage = perfkit.profiler.memory()
    assert all(u["evictions"] == 0 and u["entries"] == 0 for u in usage.values())


# -- 4: apps built by a factory are freed when dropped ---------------------------------

db = SQLAlchemy(model_class=Base)
perfkit = PerfKit()


@perfkit.health_check("uptime_extra", critical=False)
def _extra_check() -> bool:
    return True


def _create_app(uri: str, mode: str, shared: sa.Engine) -> Flask:
    app = Flask("long_uptime_factory")
    app.config.update(
        SQLALCHEMY_DATABASE_URI=uri,
        SECRET_KEY="factory secret",
        PERFKIT_ADMIN_TOKEN=TOKEN,
        PERFKIT_SLOW_QUERY_MS=0,
        PERFKIT_VERY_SLOW_QUERY_MS=0,
    )
    if mode == "engine":
        perfkit.init_app(app, engine=shared)
        db.init_app(app)
    elif mode == "after":
        db.init_app(app)
        perfkit.init_app(app, db=db)
    elif mode == "cache":
        # The app's own Cache, made with the app, refers to it.
        perfkit.init_app(app, db=db, cache=Cache(app, config={"CACHE_TYPE": "SimpleCache"}))
        db.init_app(app)
    else:
        perfkit.init_app(app, db=db)
        db.init_app(app)

    @app.get("/notes")
    def notes() -> t.Any:
        stmt = sa.select(Note).order_by(Note.rank.desc())
        return paginate(stmt, session=db.session).to_dict(lambda n: n.id)

    @app.get("/lazy")
    def lazy() -> t.Any:
        with perfkit.query_budget(50):
            for n in range(1, 7):
                db.session.execute(sa.select(Note).where(Note.id == n)).scalar_one_or_none()
        return {"cached": doubled(4), "count": note_count(db.session)}

    with app.app_context():
        Base.metadata.create_all(db.engine)
        db.session.execute(sa.delete(Note))
        db.session.execute(
            sa.insert(Note), [{"id": i, "rank": i % 4, "title": f"n{i}"} for i in range(1, 30)]
        )
        db.session.commit()
        with shared.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    return app


def _use(app: Flask, profiled: bool) -> None:
    client = app.test_client()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    first = client.get("/notes?page_size=5").get_json()
    cursor = first["metadata"]["next_cursor"]
    assert client.get(f"/notes?cursor={cursor}").status_code == 200
    assert client.get("/notes?page=2").status_code == 200
    assert client.get("/lazy").status_code == 200
    assert client.get("/lazy").status_code == 200
    for path in HEALTH_GETS:
        assert client.get(f"/health{path}", headers=headers).status_code == 200, path
    with app.app_context():
        db.session.execute(sa.update(Note).where(Note.id == 1).values(title="changed"))
        db.session.commit()
        assert bool(perfkit.profiler.suspects()) is profiled
    assert client.post("/health/cache/clear", headers=headers).status_code == 200


@pytest.mark.parametrize("mode", ["before", "after", "engine", "cache"])
def test_apps_made_by_a_factory_are_freed(tmp_path: t.Any, mode: str) -> None:
    uri = f"sqlite:///{tmp_path / 'factory.db'}"
    shared = sa.create_engine(uri)
    refs = []
    for _ in range(5):
        app = _create_app(uri, mode, shared)
        _use(app, profiled=mode != "engine")
        with app.app_context():
            db.engine.dispose()
        refs.append(weakref.ref(app))
        del app
    gc.collect()
    alive = [ref for ref in refs if ref() is not None]
    # The next app removes the listeners the dropped ones left on the shared engine.
    last = _create_app(uri, mode, shared)
    listeners = len(shared.pool.dispatch.checkout)
    gc.collect()
    guard = _breaker.find_guard(shared)
    breaker_listeners = 0 if guard is None else guard.breaker.listener_count()
    with last.app_context():
        db.engine.dispose()
    shared.dispose()
    assert alive == []
    assert listeners == (1 if mode == "engine" else 0)
    # The breaker of the shared engine signals to the live app alone.
    assert breaker_listeners == (1 if mode == "engine" else 0)


def test_a_dropped_app_leaves_no_metrics_thread_behind(
    tmp_path: t.Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    before = {thread.ident for thread in threading.enumerate()}
    app = Flask("metrics_writer_app")
    PerfKit(app, engine=sa.create_engine("sqlite://"))
    assert app.test_client().get("/health").status_code == 200
    started = [thread for thread in threading.enumerate() if thread.ident not in before]
    assert [thread.name for thread in started] == ["perfkit-metrics"]
    ref = weakref.ref(app)
    del app
    gc.collect()
    assert ref() is None
    started[0].join(timeout=5)
    assert not started[0].is_alive()


# -- 5: one engine shared by two apps counts each statement once ------------------------


def _total(app: Flask, kit: PerfKit) -> int:
    with app.app_context():
        return int(kit.profiler.summary().total_queries)


def test_an_engine_shared_by_two_apps_counts_each_statement_once(database_url: str) -> None:
    engine = sa.create_engine(database_url)
    kits = [PerfKit(), PerfKit()]
    apps = []
    for n, kit in enumerate(kits):
        app = Flask(f"shared_engine_{n}")
        kit.init_app(app, engine=engine)

        @app.get("/select")
        def select() -> str:
            with engine.connect() as conn:
                for _ in range(6):
                    conn.execute(sa.text("SELECT 42 AS shared_answer"))
            return "ok"

        apps.append(app)
    one, two = apps
    try:
        with one.app_context(), engine.connect() as conn:
            conn.execute(sa.text("SELECT 1 AS shared_one"))
        assert (_total(one, kits[0]), _total(two, kits[1])) == (1, 0)

        with two.app_context(), engine.connect() as conn:
            conn.execute(sa.text("SELECT 1 AS shared_two"))
        assert (_total(one, kits[0]), _total(two, kits[1])) == (1, 1)

        # In a request: the request's app counts it, and sees the N+1 once.
        assert two.test_client().get("/select").status_code == 200
        assert (_total(one, kits[0]), _total(two, kits[1])) == (1, 7)
        with two.app_context():
            suspects = kits[1].profiler.suspects()
        assert [(s.count, s.requests) for s in suspects] == [(6, 1)]
        with one.app_context():
            assert kits[0].profiler.suspects() == []

        # Outside any app: counted once, by the first app that watched the engine.
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1 AS shared_none"))
        assert _total(one, kits[0]) + _total(two, kits[1]) == 9

        # When the first app is gone, the second counts what runs outside apps.
        del apps, one
        gc.collect()
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1 AS shared_after"))
        assert _total(two, kits[1]) == 8
    finally:
        engine.dispose()
