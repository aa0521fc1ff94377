from __future__ import annotations

import typing as t
from contextlib import ExitStack
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import pool as sa_pool

from flask_perfkit import ConfigError
from flask_perfkit import PerfKit
from flask_perfkit._state import get_state
from flask_perfkit.pool import pool_status
from tests.conftest import MYSQL_URL
from tests.conftest import POSTGRES_URL
from tests.conftest import AppFactory
from tests.conftest import require

ORDERS = ["before", "after"]


def queue_pool(engine: sa.Engine) -> sa_pool.QueuePool:
    assert isinstance(engine.pool, sa_pool.QueuePool)
    return engine.pool


@pytest.mark.parametrize("order", ORDERS)
def test_default_pool_options_reach_every_dialect(
    make_app: AppFactory, database_url: str, order: str
) -> None:
    app, db, _ = make_app(database_url, order=order)
    with app.app_context():
        pool = queue_pool(db.engine)
        assert pool.size() == 20
        assert pool._max_overflow == 40
        assert pool._recycle == 3600
        assert pool._pre_ping is True
        assert pool.timeout() == 30
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar() == 1


@pytest.mark.parametrize("order", ORDERS)
def test_configured_pool_options_reach_every_dialect(
    make_app: AppFactory, database_url: str, order: str
) -> None:
    app, db, _ = make_app(
        database_url,
        order=order,
        PERFKIT_POOL_SIZE=3,
        PERFKIT_POOL_MAX_OVERFLOW=2,
        PERFKIT_POOL_RECYCLE=120,
        PERFKIT_POOL_PRE_PING=False,
        PERFKIT_POOL_TIMEOUT=4,
        PERFKIT_POOL_OPTIONS={"pool_use_lifo": True},
    )
    with app.app_context():
        pool = queue_pool(db.engine)
        assert (pool.size(), pool._max_overflow, pool._recycle) == (3, 2, 120)
        assert pool._pre_ping is False
        assert pool.timeout() == 4
        assert pool._pool.use_lifo is True


@pytest.mark.parametrize("order", ORDERS)
def test_user_engine_options_win(make_app: AppFactory, tmp_path: Path, order: str) -> None:
    app, db, _ = make_app(
        f"sqlite:///{tmp_path / 'a.db'}",
        order=order,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 4, "pool_pre_ping": False},
    )
    with app.app_context():
        pool = queue_pool(db.engine)
        assert pool.size() == 4
        assert pool._pre_ping is False
        assert pool._max_overflow == 40


@pytest.mark.parametrize("order", ORDERS)
def test_flask_sqlalchemy_constructor_options_win(tmp_path: Path, order: str) -> None:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'a.db'}"
    db = SQLAlchemy(engine_options={"max_overflow": 1})
    if order == "before":
        PerfKit(app, db=db)
        db.init_app(app)
    else:
        db.init_app(app)
        PerfKit(app, db=db)
    with app.app_context():
        pool = queue_pool(db.engine)
        assert pool._max_overflow == 1
        assert pool.size() == 20
        db.engine.dispose()


@pytest.mark.parametrize("order", ORDERS)
def test_mysql_recycle_is_perfkits_not_flask_sqlalchemys(make_app: AppFactory, order: str) -> None:
    require("MariaDB", MYSQL_URL)
    app, db, _ = make_app(MYSQL_URL, order=order)
    with app.app_context():
        assert queue_pool(db.engine)._recycle == 3600


@pytest.mark.parametrize("order", ORDERS)
def test_every_bind_is_configured_and_watched(
    make_app: AppFactory, tmp_path: Path, order: str
) -> None:
    app, db, _ = make_app(
        f"sqlite:///{tmp_path / 'default.db'}",
        order=order,
        SQLALCHEMY_BINDS={
            "users": f"sqlite:///{tmp_path / 'users.db'}",
            "audit": {"url": f"sqlite:///{tmp_path / 'audit.db'}", "pool_size": 2},
            "memory": "sqlite://",
        },
    )
    with app.app_context():
        engines = db.engines
        assert queue_pool(engines["users"]).size() == 20
        assert queue_pool(engines["audit"]).size() == 2
        assert queue_pool(engines["audit"])._max_overflow == 40
        assert isinstance(engines["memory"].pool, sa_pool.StaticPool)
        monitors = get_state().database.monitors
        assert set(monitors) == {"default", "users", "audit", "memory"}
        for key, engine in engines.items():
            assert monitors["default" if key is None else key].engine is engine


@pytest.mark.parametrize("order", ORDERS)
def test_pools_that_cannot_take_pool_keys_get_none(make_app: AppFactory, order: str) -> None:
    app, db, _ = make_app("sqlite://", order=order)
    with app.app_context():
        assert isinstance(db.engine.pool, sa_pool.StaticPool)
        status = app.extensions["perfkit"].pool_status()
    assert status.pool_class == "StaticPool"
    assert status.capacity is None and status.utilization is None


@pytest.mark.parametrize("order", ORDERS)
def test_null_pool_gets_no_pool_keys(make_app: AppFactory, tmp_path: Path, order: str) -> None:
    app, db, _ = make_app(
        f"sqlite:///{tmp_path / 'n.db'}",
        order=order,
        SQLALCHEMY_ENGINE_OPTIONS={"poolclass": sa_pool.NullPool},
    )
    with app.app_context():
        assert isinstance(db.engine.pool, sa_pool.NullPool)
        with db.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            status = app.extensions["perfkit"].pool_status()
            assert status.checked_out == 1
        status = app.extensions["perfkit"].pool_status()
    assert status.pool_class == "NullPool"
    assert status.checked_out == 0
    assert status.size is None and status.max_overflow is None and status.utilization is None


def test_plain_engine_pool_is_rebuilt_and_keeps_its_listeners(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'plain.db'}")
    connects: list[object] = []
    sa.event.listen(engine, "connect", lambda *args: connects.append(args))
    app = Flask(__name__)
    app.config["PERFKIT_POOL_SIZE"] = 6
    PerfKit(app, engine=engine)
    pool = queue_pool(engine)
    assert pool.size() == 6
    assert pool._pre_ping is True
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT 1")).scalar() == 1
    assert len(connects) == 1
    with app.app_context():
        assert get_state().database.monitors["default"].event_counts()["connect"] == 1
    engine.dispose()


def test_non_pool_option_on_an_existing_engine_names_the_fix(make_app: AppFactory) -> None:
    with pytest.raises(ConfigError) as info:
        make_app("sqlite://", order="after", PERFKIT_POOL_OPTIONS={"hide_parameters": True})
    message = str(info.value)
    assert "'hide_parameters'" in message
    assert "before db.init_app(app)" in message


def test_non_pool_option_applies_when_perfkit_comes_first(make_app: AppFactory) -> None:
    app, db, _ = make_app("sqlite://", PERFKIT_POOL_OPTIONS={"hide_parameters": True})
    with app.app_context():
        assert db.engine.hide_parameters is True


def test_user_engine_options_dict_is_not_mutated(tmp_path: Path) -> None:
    options: dict[str, t.Any] = {"pool_size": 3}
    app = Flask(__name__)
    app.config.update(SQLALCHEMY_DATABASE_URI="sqlite://", SQLALCHEMY_ENGINE_OPTIONS=options)
    PerfKit(app, db=SQLAlchemy())
    assert options == {"pool_size": 3}


def _assert_status_matches_sqlalchemy(engine: sa.Engine, app: Flask) -> None:
    pool = queue_pool(engine)
    with app.app_context():
        status = app.extensions["perfkit"].pool_status()
    assert status.size == pool.size()
    assert status.checked_in == pool.checkedin()
    assert status.checked_out == pool.checkedout()
    assert status.overflow == max(pool.overflow(), 0)
    assert status.max_overflow == pool._max_overflow
    assert status.capacity == pool.size() + pool._max_overflow


def test_held_connections_raise_checked_out_and_utilization(
    make_app: AppFactory, database_url: str
) -> None:
    app, db, _ = make_app(database_url, PERFKIT_POOL_SIZE=2, PERFKIT_POOL_MAX_OVERFLOW=3)
    with app.app_context():
        engine = db.engine
    seen = []
    with ExitStack() as stack:
        for held in range(1, 6):
            stack.enter_context(engine.connect()).execute(sa.text("SELECT 1"))
            _assert_status_matches_sqlalchemy(engine, app)
            status = pool_status(engine)
            assert status.checked_out == held
            assert status.utilization == pytest.approx(held / 5)
            seen.append(status.overflow)
    assert seen == [0, 0, 1, 2, 3]
    _assert_status_matches_sqlalchemy(engine, app)
    assert pool_status(engine).checked_out == 0
    assert pool_status(engine).checked_in == 2


def test_health_database_pool_numbers_match_sqlalchemy(
    make_app: AppFactory, database_url: str
) -> None:
    app, db, _ = make_app(
        database_url,
        PERFKIT_POOL_SIZE=3,
        PERFKIT_POOL_MAX_OVERFLOW=1,
        PERFKIT_HEALTH_SHOW_DETAILS="always",
    )
    with app.app_context():
        engine = db.engine
    pool = queue_pool(engine)
    with engine.connect() as first, engine.connect() as second:
        first.execute(sa.text("SELECT 1"))
        second.execute(sa.text("SELECT 1"))
        body = app.test_client().get("/health/database").get_json()
        reported = body["engines"]["default"]["pool"]
        assert reported == {
            "pool_class": "QueuePool",
            "size": pool.size(),
            "checked_in": pool.checkedin(),
            "checked_out": pool.checkedout(),
            "overflow": max(pool.overflow(), 0),
            "max_overflow": 1,
            "capacity": 4,
            "utilization": 0.5,
            "timeout": 30.0,
            "recycle": 3600,
            "pre_ping": True,
        }
        assert reported["checked_out"] == 2


def test_pool_events_are_counted(make_app: AppFactory, database_url: str) -> None:
    app, db, _ = make_app(database_url, PERFKIT_HEALTH_SHOW_DETAILS="always")
    with app.app_context():
        engine = db.engine
    for _ in range(3):
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    conn = engine.connect()
    conn.invalidate()
    conn.close()
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
    body = app.test_client().get("/health/database/events").get_json()
    counts = body["engines"]["default"]
    assert counts["checkout"] == 5
    assert counts["checkin"] == 5
    assert counts["connect"] == 2
    assert counts["first_connect"] == 1
    assert counts["invalidate"] == 1
    assert counts["checked_out"] == 0
    assert body["checkout_timeouts"] == 0
    assert isinstance(body["pid"], int)


def test_checkout_timeout_is_a_counted_503(make_app: AppFactory, tmp_path: Path) -> None:
    app, db, _ = make_app(
        f"sqlite:///{tmp_path / 't.db'}",
        PERFKIT_POOL_SIZE=1,
        PERFKIT_POOL_MAX_OVERFLOW=0,
        PERFKIT_POOL_TIMEOUT=0.2,
        PERFKIT_HEALTH_SHOW_DETAILS="always",
    )

    @app.get("/work")
    def work() -> str:
        with db.engine.connect() as conn:
            return str(conn.execute(sa.text("SELECT 1")).scalar())

    client = app.test_client()
    with app.app_context():
        engine = db.engine
    with engine.connect():
        response = client.get("/work")
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "1"
        assert response.get_json() == {
            "error": "database_unavailable",
            "message": "The database is busy. Try again shortly.",
        }
        assert b"QueuePool" not in response.data
    assert client.get("/work").status_code == 200
    events = client.get("/health/database/events").get_json()
    assert events["checkout_timeouts"] == 1
    advice = client.get("/health/database").get_json()["recommendations"]
    assert any("waited out PERFKIT_POOL_TIMEOUT" in r["message"] for r in advice)


def test_app_timeout_handler_is_kept(tmp_path: Path) -> None:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"

    @app.errorhandler(sa.exc.TimeoutError)
    def mine(error: Exception) -> tuple[str, int]:
        return "mine", 429

    PerfKit(app, db=SQLAlchemy())
    assert app.error_handler_spec[None][None][sa.exc.TimeoutError] is mine


def test_postgres_capacity_is_compared_with_max_connections(make_app: AppFactory) -> None:
    require("PostgreSQL", POSTGRES_URL)
    app, _, _ = make_app(
        POSTGRES_URL,
        PERFKIT_POOL_SIZE=200,
        PERFKIT_POOL_MAX_OVERFLOW=0,
        PERFKIT_HEALTH_SHOW_DETAILS="always",
    )
    body = app.test_client().get("/health/database").get_json()
    engine = body["engines"]["default"]
    limit = engine["server_max_connections"]
    assert isinstance(limit, int) and 0 < limit <= 200
    critical = [r for r in engine["recommendations"] if r["severity"] == "critical"]
    assert any("max_connections" in r["message"] for r in critical)
