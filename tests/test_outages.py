"""Database outages: timeouts, the circuit breaker and 503s, against real servers.

Faults are caused for real: a throwaway PostgreSQL cluster that is stopped and started, and a
TCP proxy in the test that passes, drops (black hole), half-drops (handshake only) or refuses.
"""

from __future__ import annotations

import gc
import logging
import os
import socket
import statistics
import threading
import time
import typing as t
import uuid
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from werkzeug.exceptions import HTTPException

from flask_perfkit import breaker as _breaker
from flask_perfkit import signals
from flask_perfkit._state import get_state
from flask_perfkit.capabilities import CAPABILITIES
from flask_perfkit.errors import DatabaseCircuitOpen
from flask_perfkit.errors import DatabaseUnavailable
from tests.conftest import MYSQL_URL
from tests.conftest import POSTGRES_URL
from tests.conftest import AppFactory
from tests.conftest import ThrowawayPostgres
from tests.conftest import free_port
from tests.conftest import require
from tests.faultproxy import FaultProxy

BUDGET = 0.8
TTL = 1.0
UNAVAILABLE = {
    "error": "database_unavailable",
    "message": "The database is unavailable. Try again shortly.",
}


@pytest.fixture
def proxies() -> Iterator[t.Callable[[str], tuple[FaultProxy, str]]]:
    """Put a :class:`FaultProxy` in front of a database URL; returns it and the proxied URL."""
    made: list[FaultProxy] = []

    def make(url: str) -> tuple[FaultProxy, str]:
        parsed = sa.make_url(url)
        proxy = FaultProxy((parsed.host or "127.0.0.1", parsed.port or 0), free_port())
        made.append(proxy)
        proxied = parsed.set(host="127.0.0.1", port=proxy.port)
        return proxy, proxied.render_as_string(hide_password=False)

    yield make
    for proxy in made:
        proxy.close()


def add_query_view(app: Flask, db: SQLAlchemy) -> None:
    @app.get("/q")
    def query() -> str:
        return str(db.session.execute(sa.text("SELECT 1")).scalar())


def timed_get(client: FlaskClient, path: str) -> tuple[t.Any, float]:
    start = time.monotonic()
    response = client.get(path)
    return response, time.monotonic() - start


def assert_unavailable(response: t.Any) -> None:
    """A 503 with the fixed body, ``Retry-After`` and nothing from the driver."""
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.get_json() == UNAVAILABLE
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["Cache-Control"] == "no-store"


def breaker_of(app: Flask) -> _breaker.CircuitBreaker:
    return get_state(app).database.guards["default"].breaker


def state_of(breaker: _breaker.CircuitBreaker) -> str:
    return breaker.state.value


@pytest.fixture
def breaker_events() -> Iterator[list[tuple[str, str, str]]]:
    events: list[tuple[str, str, str]] = []

    def receiver(sender: Flask, bind: str, old: str, new: str) -> None:
        events.append((bind, old, new))

    signals.db_breaker_changed.connect(receiver)
    yield events
    signals.db_breaker_changed.disconnect(receiver)


def test_half_dead_connection_readiness_recovers_within_ttl_and_budget(
    make_app: AppFactory,
    throwaway_postgres: ThrowawayPostgres,
    proxies: t.Callable[[str], tuple[FaultProxy, str]],
) -> None:
    proxy, url = proxies(throwaway_postgres.url)
    app, _, _ = make_app(url, PERFKIT_HEALTH_SHOW_DETAILS="always", PERFKIT_HEALTH_CHECK_TTL=TTL)
    client = app.test_client()
    assert client.get("/health/ready").status_code == 200

    proxy.set_mode("half")
    half_until = time.monotonic() + 2
    outputs = set()
    while time.monotonic() < half_until:
        response, elapsed = timed_get(client, "/health/ready")
        assert elapsed < BUDGET + 0.4
        if response.status_code == 503:
            outputs.add(response.get_json()["checks"]["db"]["output"])
        time.sleep(0.1)
    assert outputs == {"timeout"}

    proxy.set_mode("pass")
    recovered = time.monotonic()
    while client.get("/health/ready").status_code != 200:
        assert time.monotonic() - recovered <= TTL + BUDGET + 1, "readiness did not recover"
        time.sleep(0.05)
    # The hung probes were abandoned: none of their threads is left behind.
    time.sleep(BUDGET)
    hung = [th for th in threading.enumerate() if th.name == "perfkit-check-db"]
    assert len(hung) <= 1


def test_black_holed_host_answers_503_in_time_and_the_breaker_stops_the_attempts(
    make_app: AppFactory, proxies: t.Callable[[str], tuple[FaultProxy, str]]
) -> None:
    require("PostgreSQL", POSTGRES_URL)
    proxy, url = proxies(POSTGRES_URL)
    proxy.set_mode("drop")
    connect_timeout, period = 2, 2.0
    app, db, _ = make_app(
        url,
        PERFKIT_DB_CONNECT_TIMEOUT=connect_timeout,
        PERFKIT_DB_BREAKER_FAILURES=2,
        PERFKIT_DB_BREAKER_SECONDS=period,
        PERFKIT_HEALTH_SHOW_DETAILS="always",
        PERFKIT_HEALTH_CHECK_TTL=0,
    )
    add_query_view(app, db)
    client = app.test_client()
    breaker = breaker_of(app)

    for _ in range(2):
        response, elapsed = timed_get(client, "/q")
        assert_unavailable(response)
        assert elapsed < connect_timeout + 1
    assert state_of(breaker) == "open"
    attempts_at_open = proxy.accepted
    assert attempts_at_open == 2

    fast: list[float] = []
    slow = 0
    slow_times: list[tuple[float, int]] = []
    # A collection of what earlier tests left behind would be timed too.
    gc.collect()
    gc.disable()
    opened = time.monotonic()
    try:
        while time.monotonic() - opened < 3 * period:
            response, elapsed = timed_get(client, "/q")
            assert_unavailable(response)
            if elapsed < 0.05:
                fast.append(elapsed)
            else:
                # Only a half-open trial connects, and fails within the connect timeout.
                slow += 1
                slow_times.append((round(elapsed, 3), proxy.accepted))
                assert elapsed < connect_timeout + 1
            time.sleep(0.02)
    finally:
        gc.enable()
    window = time.monotonic() - opened
    trials = proxy.accepted - attempts_at_open
    assert trials <= window // period + 1
    assert slow <= trials, slow_times
    assert len(fast) > 50
    assert statistics.median(fast) < 0.01
    assert breaker.rejected >= len(fast)

    proxy.set_mode("pass")
    start = time.monotonic()
    while client.get("/q").status_code != 200:
        assert time.monotonic() - start < 2 * period + connect_timeout + 1
        time.sleep(0.05)
    assert state_of(breaker) == "closed"
    healed = time.monotonic()
    while client.get("/health/ready").status_code != 200:
        assert time.monotonic() - healed <= BUDGET + 1
        time.sleep(0.05)


def test_requests_waiting_for_a_full_pool_get_503_once_the_breaker_opens(
    make_app: AppFactory, proxies: t.Callable[[str], tuple[FaultProxy, str]]
) -> None:
    require("PostgreSQL", POSTGRES_URL)
    proxy, url = proxies(POSTGRES_URL)
    proxy.set_mode("drop")
    connect_timeout = 2
    app, db, _ = make_app(
        url,
        PERFKIT_POOL_SIZE=2,
        PERFKIT_POOL_MAX_OVERFLOW=1,
        PERFKIT_POOL_TIMEOUT=30,
        PERFKIT_DB_CONNECT_TIMEOUT=connect_timeout,
        PERFKIT_DB_BREAKER_FAILURES=3,
        PERFKIT_HEALTH_URL_PREFIX=None,
    )
    add_query_view(app, db)
    barrier = threading.Barrier(12)
    results: list[tuple[int, float]] = []

    def request() -> None:
        client = app.test_client()
        barrier.wait()
        response, elapsed = timed_get(client, "/q")
        assert_unavailable(response)
        results.append((response.status_code, elapsed))

    threads = [threading.Thread(target=request) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Three connect at once and fail; the nine waiting for the pool do not wait out
    # pool_timeout: they fail as soon as the breaker opens.
    assert [status for status, _ in results] == [503] * 12
    assert max(elapsed for _, elapsed in results) < connect_timeout + 1
    assert proxy.accepted == 3
    assert breaker_of(app).rejected >= 9
    # The pool that engine.dispose() makes is guarded the same way.
    with app.app_context():
        db.engine.dispose()
        waiting = t.cast(t.Any, db.engine.pool)._pool
    assert getattr(waiting.get, "perfkit_guard", None) is not None


@pytest.mark.parametrize("pre_ping", [True, False])
def test_stopped_cluster_gives_no_500s_and_recovers_within_the_breaker_period(
    make_app: AppFactory,
    throwaway_postgres: ThrowawayPostgres,
    breaker_events: list[tuple[str, str, str]],
    caplog: pytest.LogCaptureFixture,
    pre_ping: bool,
) -> None:
    period = 2.0
    app, db, _ = make_app(
        throwaway_postgres.url,
        PERFKIT_POOL_PRE_PING=pre_ping,
        PERFKIT_DB_BREAKER_SECONDS=period,
        PERFKIT_HEALTH_SHOW_DETAILS="always",
        PERFKIT_HEALTH_CHECK_TTL=0,
    )
    add_query_view(app, db)
    client = app.test_client()
    assert client.get("/q").status_code == 200

    throwaway_postgres.stop()
    caplog.set_level(logging.INFO, logger="flask_perfkit")
    statuses = []
    for _ in range(200):
        response = client.get("/q")
        statuses.append(response.status_code)
        assert_unavailable(response)
        assert int(response.headers["Retry-After"]) <= period
    assert statuses.count(500) == 0
    assert statuses == [503] * 200
    breaker = breaker_of(app)
    assert state_of(breaker) == "open"
    assert breaker.opens == 1
    ready = client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.get_json()["checks"]["db"]["output"] == "circuit open"

    throwaway_postgres.start()
    restarted = time.monotonic()
    while client.get("/q").status_code != 200:
        assert time.monotonic() - restarted <= period + 1, "no 200 within the breaker period"
        time.sleep(0.05)
    assert state_of(breaker) == "closed"
    assert client.get("/health/ready").status_code == 200
    assert breaker_events == [
        ("default", "closed", "open"),
        ("default", "open", "half_open"),
        ("default", "half_open", "closed"),
    ]
    changes = [r.getMessage() for r in caplog.records if "Circuit breaker" in r.getMessage()]
    assert changes == [
        "Circuit breaker of database 'default' is now open (was closed).",
        "Circuit breaker of database 'default' is now half_open (was open).",
        "Circuit breaker of database 'default' is now closed (was half_open).",
    ]


def test_connections_dropped_right_after_the_handshake_open_the_breaker(
    make_app: AppFactory, proxies: t.Callable[[str], tuple[FaultProxy, str]]
) -> None:
    # PgBouncer whose database is down completes the client's handshake itself and then drops
    # the connection at its first statement. Opening such a connection is no success: the
    # failures add up and the breaker opens, for requests and the readiness probe alike.
    require("PostgreSQL", POSTGRES_URL)
    proxy, url = proxies(POSTGRES_URL)
    app, db, _ = make_app(
        url,
        PERFKIT_DB_BREAKER_FAILURES=3,
        PERFKIT_DB_BREAKER_SECONDS=2,
        PERFKIT_HEALTH_CHECK_TTL=0.1,
    )
    add_query_view(app, db)
    client = app.test_client()
    assert client.get("/q").status_code == 200
    breaker = breaker_of(app)
    proxy.set_mode("cut")
    for path in ["/q", "/health/ready", "/q"]:
        assert state_of(breaker) == "closed"
        response = client.get(path)
        assert response.status_code == 503
        if path == "/q":
            assert_unavailable(response)
    # Each connection counts: the window in which disconnects count once is for pooled
    # connections that answered before.
    assert state_of(breaker) == "open"
    accepted = proxy.accepted
    response, elapsed = timed_get(client, "/q")
    assert_unavailable(response)
    assert elapsed < 0.05
    assert proxy.accepted == accepted
    # After the open period one trial connects; only its first statement answered would close
    # the breaker, so the requests after it are refused without connecting.
    time.sleep(2.05)
    for _ in range(5):
        assert_unavailable(client.get("/q"))
    assert proxy.accepted == accepted + 1
    assert state_of(breaker) == "open"

    proxy.set_mode("pass")
    time.sleep(2.05)
    assert client.get("/q").status_code == 200
    assert breaker.status()["state"] == "closed"
    assert breaker.status()["consecutive_failures"] == 0


def test_stopped_mariadb_gives_no_500s_and_recovers(
    make_app: AppFactory, proxies: t.Callable[[str], tuple[FaultProxy, str]]
) -> None:
    require("MariaDB", MYSQL_URL)
    proxy, url = proxies(MYSQL_URL)
    period = 2.0
    app, db, _ = make_app(url, PERFKIT_DB_BREAKER_SECONDS=period, PERFKIT_HEALTH_URL_PREFIX=None)
    add_query_view(app, db)
    client = app.test_client()
    assert client.get("/q").status_code == 200

    proxy.set_mode("refuse")
    statuses = []
    for _ in range(200):
        response = client.get("/q")
        statuses.append(response.status_code)
        assert_unavailable(response)
    assert statuses == [503] * 200
    breaker = breaker_of(app)
    assert state_of(breaker) == "open"
    assert breaker.rejected >= 190

    proxy.set_mode("pass")
    restarted = time.monotonic()
    while client.get("/q").status_code != 200:
        assert time.monotonic() - restarted <= period + 1
        time.sleep(0.05)


def test_sql_errors_never_open_the_breaker_and_stay_the_apps(
    make_app: AppFactory, database_url: str
) -> None:
    app, db, _ = make_app(
        database_url, PERFKIT_DB_BREAKER_FAILURES=1, PERFKIT_HEALTH_URL_PREFIX=None
    )
    table = f"perfkit_outage_{uuid.uuid4().hex[:10]}"
    with app.app_context():
        engine = db.engine
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY)"))
        conn.execute(sa.text(f"INSERT INTO {table} (id) VALUES (1)"))
    try:
        for _ in range(1000):
            with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
                conn.execute(sa.text(f"INSERT INTO {table} (id) VALUES (1)"))
        with pytest.raises(sa.exc.DBAPIError), engine.connect() as conn:
            conn.execute(sa.text("SELEC 1"))
        breaker = breaker_of(app)
        assert breaker.status()["state"] == "closed"
        assert breaker.status()["consecutive_failures"] == 0
        assert breaker.opens == 0

        @app.errorhandler(sa.exc.IntegrityError)
        def conflict(error: sa.exc.IntegrityError) -> tuple[str, int]:
            return "conflict", 409

        @app.get("/dup")
        def dup() -> str:
            db.session.execute(sa.text(f"INSERT INTO {table} (id) VALUES (1)"))
            db.session.commit()
            return "ok"

        @app.get("/bad")
        def bad() -> str:
            db.session.execute(sa.text("SELEC 1"))
            return "ok"

        client = app.test_client()
        for _ in range(3):
            assert client.get("/dup").status_code == 409
        with pytest.raises(sa.exc.DBAPIError) as info:
            client.get("/bad")
        assert not isinstance(info.value, DatabaseUnavailable)
        assert state_of(breaker) == "closed"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE {table}"))


@pytest.fixture
def refused_url() -> str:
    """A PostgreSQL URL on a loopback port where nothing listens."""
    return f"postgresql+psycopg://user:pw123@127.0.0.1:{free_port()}/nowhere"


def test_breaker_state_is_reported_everywhere(
    make_app: AppFactory, refused_url: str, breaker_events: list[tuple[str, str, str]]
) -> None:
    app, db, _ = make_app(
        refused_url,
        PERFKIT_DB_BREAKER_FAILURES=3,
        PERFKIT_DB_BREAKER_SECONDS=30,
        PERFKIT_HEALTH_SHOW_DETAILS="always",
        PERFKIT_HEALTH_CHECK_TTL=0,
    )
    add_query_view(app, db)
    client = app.test_client()
    engine = client.get("/health/database").get_json()["engines"]["default"]
    assert engine["breaker"]["state"] == "closed"

    responses = [client.get("/q") for _ in range(6)]
    for response in responses:
        assert_unavailable(response)
        text = response.get_data(as_text=True)
        assert "pw123" not in text and "127.0.0.1" not in text and "refused" not in text
    # The health probes failed too and count toward the breaker.
    assert breaker_events[0] == ("default", "closed", "open")
    assert int(responses[-1].headers["Retry-After"]) in range(28, 31)

    ready = client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.get_json()["checks"]["db"]["output"] == "circuit open"
    engine = client.get("/health/database").get_json()["engines"]["default"]
    breaker = engine["breaker"]
    assert breaker["state"] == "open"
    assert breaker["opens"] == 1
    assert breaker["rejected"] >= 3
    assert breaker["failures_to_open"] == 3
    assert 25 < breaker["retry_in"] <= 30
    full = client.get("/health/full").get_json()
    assert full["components"]["database"]["default"]["breaker"]["state"] == "open"
    metrics = client.get("/health/metrics").get_data(as_text=True)
    assert 'perfkit_db_breaker_state{bind="default",state="open"} 1.0' in metrics
    assert 'perfkit_db_breaker_state{bind="default",state="closed"} 0.0' in metrics
    assert 'perfkit_db_breaker_opens_total{bind="default"} 1.0' in metrics
    rejected = [
        line
        for line in metrics.splitlines()
        if line.startswith("perfkit_db_breaker_rejected_total")
    ]
    assert rejected and float(rejected[0].split()[-1]) >= 3


def test_connect_errors_outside_a_request_keep_their_sqlalchemy_type(
    make_app: AppFactory, refused_url: str
) -> None:
    app, db, _ = make_app(refused_url, PERFKIT_DB_BREAKER_FAILURES=2, PERFKIT_DB_BREAKER_SECONDS=30)
    with app.app_context():
        engine = db.engine
    for _ in range(2):
        with pytest.raises(sa.exc.OperationalError) as info:
            engine.connect()
        assert type(info.value) is sa.exc.OperationalError
    with pytest.raises(sa.exc.OperationalError) as info:
        engine.connect()
    # Once open, the breaker refuses at once; its error is an OperationalError too.
    assert isinstance(info.value, DatabaseCircuitOpen)
    assert t.cast(int, info.value.retry_after) >= 29


def test_an_apps_own_handler_for_connection_errors_wins(
    make_app: AppFactory, refused_url: str
) -> None:
    app, db, _ = make_app(refused_url, PERFKIT_DB_BREAKER_FAILURES=2)
    add_query_view(app, db)
    seen: list[BaseException] = []

    @app.errorhandler(sa.exc.OperationalError)
    def handle(error: sa.exc.OperationalError) -> tuple[dict[str, str], int]:
        seen.append(error)
        return {"mine": "yes"}, 599

    client = app.test_client()
    for _ in range(4):
        response = client.get("/q")
        assert response.status_code == 599
        assert response.get_json() == {"mine": "yes"}
    # Connect errors keep driver details for the app's handler; the breaker's error follows.
    assert t.cast(sa.exc.OperationalError, seen[0]).orig is not None
    assert isinstance(seen[-1], DatabaseCircuitOpen)


@pytest.mark.parametrize("order", ["before", "after"])
def test_an_apps_handler_for_sqlalchemy_errors_wins_over_its_http_handler(
    make_app: AppFactory, refused_url: str, tmp_path: t.Any, order: str
) -> None:
    # Apps often answer every HTTPException with a JSON body of their own and handle database
    # errors apart. Without PerfKit, connection errors and pool timeouts reach the database
    # handler; they still must, while the 503 is PerfKit's only for apps without one.
    app, db, _ = make_app(
        refused_url,
        order=order,
        PERFKIT_DB_BREAKER_FAILURES=2,
        PERFKIT_POOL_SIZE=1,
        PERFKIT_POOL_MAX_OVERFLOW=0,
        PERFKIT_POOL_TIMEOUT=0.2,
        SQLALCHEMY_BINDS={"local": f"sqlite:///{tmp_path / 'local.db'}"},
    )
    add_query_view(app, db)
    seen: list[BaseException] = []

    @app.get("/local")
    def local() -> str:
        with db.engines["local"].connect() as conn:
            return str(conn.execute(sa.text("SELECT 1")).scalar())

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[dict[str, str], int]:
        return {"handler": "http"}, error.code or 500

    @app.errorhandler(sa.exc.SQLAlchemyError)
    def database_error(error: sa.exc.SQLAlchemyError) -> tuple[dict[str, str], int]:
        seen.append(error)
        return {"handler": "database"}, 599

    client = app.test_client()
    for _ in range(3):
        response = client.get("/q")
        assert (response.status_code, response.get_json()) == (599, {"handler": "database"})
    assert isinstance(seen[0], sa.exc.OperationalError)
    assert isinstance(seen[-1], DatabaseCircuitOpen)
    assert client.get("/nowhere").get_json() == {"handler": "http"}
    with app.app_context():
        local_engine = db.engines["local"]
    with local_engine.connect():
        response = client.get("/local")
    assert (response.status_code, response.get_json()) == (599, {"handler": "database"})
    assert len(seen) == 4
    assert type(seen[3]) is sa.exc.TimeoutError
    # The pool timeout is still counted.
    assert get_state(app).database.checkout_timeouts == 1


def test_an_apps_http_handler_alone_gets_the_503(make_app: AppFactory, refused_url: str) -> None:
    app, db, _ = make_app(refused_url, PERFKIT_DB_BREAKER_FAILURES=2)
    add_query_view(app, db)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[dict[str, t.Any], int]:
        return {"code": error.code, "description": error.description}, error.code or 500

    client = app.test_client()
    for _ in range(3):
        response = client.get("/q")
        assert response.status_code == 503
        assert response.get_json() == {
            "code": 503,
            "description": "The database is unavailable. Try again shortly.",
        }


def test_an_engine_disposed_before_its_first_connection_keeps_the_breaker(
    make_app: AppFactory, refused_url: str
) -> None:
    app, db, _ = make_app(refused_url, PERFKIT_DB_BREAKER_FAILURES=2)
    add_query_view(app, db)
    with app.app_context():
        db.engine.dispose()
    client = app.test_client()
    for _ in range(2):
        assert_unavailable(client.get("/q"))
    assert state_of(breaker_of(app)) == "open"
    assert_unavailable(client.get("/q"))
    with app.app_context():
        waiting = t.cast(t.Any, db.engine.pool)._pool
    assert isinstance(waiting.not_empty, _breaker.BreakerWait)


def test_a_disconnect_inside_a_request_is_a_503_and_the_next_request_succeeds(
    make_app: AppFactory, throwaway_postgres: ThrowawayPostgres
) -> None:
    app, db, _ = make_app(throwaway_postgres.url, PERFKIT_HEALTH_URL_PREFIX=None)

    @app.get("/terminate")
    def terminate() -> str:
        db.session.execute(sa.text("SELECT pg_terminate_backend(pg_backend_pid())"))
        return "not reached"

    add_query_view(app, db)
    client = app.test_client()
    assert_unavailable(client.get("/terminate"))
    assert client.get("/q").status_code == 200
    assert state_of(breaker_of(app)) == "closed"


def test_disconnects_of_one_restart_count_once(make_app: AppFactory) -> None:
    require("PostgreSQL", POSTGRES_URL)
    app, db, _ = make_app(POSTGRES_URL, PERFKIT_POOL_PRE_PING=False, PERFKIT_DB_BREAKER_FAILURES=2)
    with app.app_context():
        engine = db.engine
    breaker = breaker_of(app)
    with ExitStack() as stack:
        held = [stack.enter_context(engine.connect()) for _ in range(4)]
        pids = [conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one() for conn in held]
        with engine.connect() as killer:
            for pid in pids:
                killer.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        for conn in held:
            with pytest.raises(sa.exc.OperationalError) as info:
                conn.execute(sa.text("SELECT 1"))
            assert info.value.connection_invalidated
        assert breaker.status()["consecutive_failures"] == 1
        assert state_of(breaker) == "closed"
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT 1")).scalar() == 1
    assert breaker.status()["consecutive_failures"] == 0


def _captured_params(engine: sa.Engine) -> list[dict[str, t.Any]]:
    seen: list[dict[str, t.Any]] = []

    @sa.event.listens_for(engine, "do_connect")
    def capture(dialect: t.Any, record: t.Any, cargs: t.Any, cparams: dict[str, t.Any]) -> None:
        seen.append(dict(cparams))

    return seen


def test_connect_and_statement_timeouts_on_postgresql_and_the_users_values_win(
    make_app: AppFactory, record_statements: t.Any
) -> None:
    require("PostgreSQL", POSTGRES_URL)
    app, db, _ = make_app(POSTGRES_URL, PERFKIT_DB_STATEMENT_TIMEOUT=0.5)
    with app.app_context():
        engine = db.engine
    seen = _captured_params(engine)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SHOW statement_timeout")).scalar() == "500ms"
        with pytest.raises(sa.exc.OperationalError) as info:
            conn.execute(sa.text("SELECT pg_sleep(2)"))
        assert not info.value.connection_invalidated
    assert seen[-1]["connect_timeout"] == 5
    assert seen[-1]["tcp_user_timeout"] == 5000
    assert state_of(breaker_of(app)) == "closed"

    # A probe uses its own connect timeout and leaves the pool's as it was.
    assert app.test_client().get("/health/ready").status_code == 200
    engine.dispose()
    with engine.connect():
        pass
    assert seen[-1]["connect_timeout"] == 5
    assert seen[-1]["tcp_user_timeout"] == 5000

    mine, mine_db, _ = make_app(
        POSTGRES_URL + "?connect_timeout=9",
        PERFKIT_DB_CONNECT_TIMEOUT=3,
        PERFKIT_DB_STATEMENT_TIMEOUT=0.5,
        SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"options": "-c statement_timeout=2500"}},
    )
    with mine.app_context():
        mine_engine = mine_db.engine
    mine_seen = _captured_params(mine_engine)
    with mine_engine.connect() as conn:
        assert conn.execute(sa.text("SHOW statement_timeout")).scalar() == "2500ms"
    assert mine_seen[-1]["connect_timeout"] == "9"

    default, default_db, _ = make_app(POSTGRES_URL, PERFKIT_DB_CONNECT_TIMEOUT=3)
    with default.app_context():
        default_engine = default_db.engine
    default_seen = _captured_params(default_engine)
    with default_engine.connect() as conn:
        assert conn.execute(sa.text("SHOW statement_timeout")).scalar() == "0"
    assert default_seen[-1]["connect_timeout"] == 3
    assert default_seen[-1]["tcp_user_timeout"] == 3000


def test_libpq_environment_variables_are_the_users_values(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PGCONNECT_TIMEOUT and PGOPTIONS are how many deployments configure libpq; an argument
    # overrides them, so adding one must neither drop their settings nor beat their values.
    require("PostgreSQL", POSTGRES_URL)
    monkeypatch.setenv("PGCONNECT_TIMEOUT", "11")
    monkeypatch.setenv("PGOPTIONS", "-c search_path=pg_catalog,perfkit_env -c work_mem=5MB")
    app, db, _ = make_app(POSTGRES_URL, PERFKIT_DB_STATEMENT_TIMEOUT=0.5)
    with app.app_context():
        engine = db.engine
    seen = _captured_params(engine)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SHOW search_path")).scalar() == "pg_catalog,perfkit_env"
        assert conn.execute(sa.text("SHOW work_mem")).scalar() == "5MB"
        assert conn.execute(sa.text("SHOW statement_timeout")).scalar() == "500ms"
    assert "connect_timeout" not in seen[-1]
    assert seen[-1]["tcp_user_timeout"] == 5000

    # A statement timeout in PGOPTIONS wins too.
    monkeypatch.setenv("PGOPTIONS", "-c statement_timeout=7s")
    engine.dispose()
    with engine.connect() as conn:
        assert conn.execute(sa.text("SHOW statement_timeout")).scalar() == "7s"
    assert "options" not in seen[-1]


def test_a_mariadb_that_accepts_and_never_answers_is_a_503_within_the_connect_timeout(
    make_app: AppFactory, black_hole: int
) -> None:
    # PyMySQL's connect_timeout covers the TCP connect only: a server, proxy or load balancer
    # that accepts and never sends its greeting must not hold the request past it either.
    require("MariaDB", MYSQL_URL)
    app, db, _ = make_app(
        f"mysql+pymysql://root@127.0.0.1:{black_hole}/nowhere",
        PERFKIT_DB_CONNECT_TIMEOUT=1,
        PERFKIT_DB_BREAKER_FAILURES=2,
        PERFKIT_HEALTH_URL_PREFIX=None,
    )
    add_query_view(app, db)
    client = app.test_client()
    results: list[tuple[t.Any, float]] = []
    worker = threading.Thread(
        target=lambda: results.extend(timed_get(client, "/q") for _ in range(3)), daemon=True
    )
    worker.start()
    worker.join(10)
    assert not worker.is_alive()
    for response, _ in results:
        assert_unavailable(response)
    assert [elapsed < 2.0 for _, elapsed in results] == [True] * 3
    assert results[2][1] < 0.05

    # Once connected, the handshake's limit is lifted: statements run as long as they need,
    # unless the app set a read_timeout of its own.
    healthy, healthy_db, _ = make_app(MYSQL_URL, PERFKIT_DB_CONNECT_TIMEOUT=1)
    with healthy.app_context(), healthy_db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT SLEEP(1.5)")).scalar() == 0
    mine, mine_db, _ = make_app(
        MYSQL_URL,
        PERFKIT_DB_CONNECT_TIMEOUT=1,
        SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"read_timeout": 0.5}},
    )
    with (
        mine.app_context(),
        mine_db.engine.connect() as conn,
        pytest.raises(sa.exc.OperationalError),
    ):
        conn.execute(sa.text("SELECT SLEEP(1.5)"))


@pytest.mark.skipif(not hasattr(socket, "TCP_USER_TIMEOUT"), reason="Linux only")
def test_pymysql_connections_are_closed_by_the_kernel_when_the_host_vanishes(
    make_app: AppFactory,
) -> None:
    # A black-holed MariaDB must not hold a request on a pooled connection (a pre-ping, a
    # statement) for TCP's 15 minutes: like libpq's tcp_user_timeout, the socket gets
    # TCP_USER_TIMEOUT of the connect timeout.
    require("MariaDB", MYSQL_URL)

    def user_timeout(connection: sa.Connection) -> int:
        sock = connection.connection.dbapi_connection._sock  # type: ignore[union-attr]
        return int(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT))

    app, db, _ = make_app(MYSQL_URL, PERFKIT_DB_CONNECT_TIMEOUT=3)
    with app.app_context(), db.engine.connect() as conn:
        assert user_timeout(conn) == 3000
        assert conn.execute(sa.text("SELECT 1")).scalar() == 1
    default, default_db, _ = make_app(MYSQL_URL, PERFKIT_DB_CONNECT_TIMEOUT=None)
    with default.app_context(), default_db.engine.connect() as conn:
        assert user_timeout(conn) == 0


def test_connect_and_statement_timeouts_on_mariadb_and_sqlite(
    make_app: AppFactory, tmp_path: t.Any
) -> None:
    require("MariaDB", MYSQL_URL)
    app, db, _ = make_app(MYSQL_URL, PERFKIT_DB_STATEMENT_TIMEOUT=1.5)
    with app.app_context():
        engine = db.engine
    seen = _captured_params(engine)
    with engine.connect() as conn:
        assert float(conn.execute(sa.text("SELECT @@max_statement_time")).scalar_one()) == 1.5
    assert seen[-1]["connect_timeout"] == 5

    mine, mine_db, _ = make_app(
        MYSQL_URL,
        PERFKIT_DB_STATEMENT_TIMEOUT=1.5,
        SQLALCHEMY_ENGINE_OPTIONS={
            "connect_args": {"connect_timeout": 7, "init_command": "SET max_statement_time=4"}
        },
    )
    with mine.app_context():
        mine_engine = mine_db.engine
    mine_seen = _captured_params(mine_engine)
    with mine_engine.connect() as conn:
        assert float(conn.execute(sa.text("SELECT @@max_statement_time")).scalar_one()) == 4
    assert mine_seen[-1]["connect_timeout"] == 7

    lite, lite_db, _ = make_app(f"sqlite:///{tmp_path / 'o.db'}", PERFKIT_DB_CONNECT_TIMEOUT=2.5)
    with lite.app_context():
        lite_engine = lite_db.engine
    lite_seen = _captured_params(lite_engine)
    with lite_engine.connect():
        pass
    assert lite_seen[-1]["timeout"] == 2.5

    plain, plain_db, _ = make_app(f"sqlite:///{tmp_path / 'p.db'}", PERFKIT_DB_CONNECT_TIMEOUT=None)
    with plain.app_context():
        plain_engine = plain_db.engine
    plain_seen = _captured_params(plain_engine)
    with plain_engine.connect():
        pass
    assert "timeout" not in plain_seen[-1]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("PERFKIT_DB_CONNECT_TIMEOUT", 0),
        ("PERFKIT_DB_CONNECT_TIMEOUT", "5"),
        ("PERFKIT_DB_STATEMENT_TIMEOUT", -1),
        ("PERFKIT_DB_STATEMENT_TIMEOUT", float("nan")),
        ("PERFKIT_DB_BREAKER_FAILURES", -1),
        ("PERFKIT_DB_BREAKER_FAILURES", 2.5),
        ("PERFKIT_DB_BREAKER_SECONDS", 0),
        ("PERFKIT_DB_BREAKER_SECONDS", None),
    ],
)
def test_bad_outage_settings_fail_in_init_app_naming_the_key(
    make_app: AppFactory, key: str, value: t.Any
) -> None:
    from flask_perfkit import ConfigError

    with pytest.raises(ConfigError, match=key):
        make_app(**{key: value})


def test_breaker_lets_exactly_one_trial_through_when_half_open() -> None:
    breaker = _breaker.CircuitBreaker("x", failures=2, seconds=0.2)
    breaker.record_failure()
    assert state_of(breaker) == "closed"
    breaker.record_success()
    breaker.record_failure()
    assert state_of(breaker) == "closed"
    breaker.record_failure()
    assert state_of(breaker) == "open"
    with pytest.raises(DatabaseCircuitOpen):
        breaker.before_attempt()
    time.sleep(0.25)

    barrier = threading.Barrier(20)
    let_through: list[int] = []
    refused: list[int] = []

    def attempt(i: int) -> None:
        barrier.wait()
        try:
            breaker.before_attempt()
        except DatabaseCircuitOpen:
            refused.append(i)
        else:
            let_through.append(i)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(let_through) == 1 and len(refused) == 19
    assert state_of(breaker) == "half_open"
    # A failed trial opens it again for a full period.
    breaker.record_failure()
    assert state_of(breaker) == "open"
    assert breaker.opens == 2
    time.sleep(0.25)
    breaker.before_attempt()
    # A trial that never reports back is taken as lost after one more period.
    with pytest.raises(DatabaseCircuitOpen):
        breaker.before_attempt()
    time.sleep(0.25)
    breaker.before_attempt()
    breaker.record_success()
    assert state_of(breaker) == "closed"
    assert breaker.rejected == 21


def test_a_breaker_with_zero_failures_never_opens() -> None:
    breaker = _breaker.CircuitBreaker("x", failures=0, seconds=1)
    for _ in range(100):
        breaker.record_failure()
    breaker.before_attempt()
    assert state_of(breaker) == "closed"


def test_breaker_metrics_of_several_processes_add_up(make_app: AppFactory) -> None:
    from flask_perfkit import metrics

    app, _, _ = make_app()
    with app.app_context():
        from flask_perfkit._state import get_state

        mine = metrics.snapshot(get_state())
    assert mine["breakers"] == {"default": {"state": "closed", "opens": 0, "rejected": 0}}

    def process(pid: int, state: str, opens: int, rejected: int) -> metrics.Snapshot:
        return {
            **mine,
            "pid": pid,
            "breakers": {"default": {"state": state, "opens": opens, "rejected": rejected}},
        }

    gone = 2**22 + 12345  # above Linux's pid_max default: no such process
    merged = metrics.merge(
        [
            mine,
            process(os.getpid(), "half_open", 2, 10),
            process(gone, "open", 3, 7),
        ],
        CAPABILITIES,
    )
    # Counters of every process, the state of running ones only (the worst of them).
    assert merged["breakers"] == {"default": {"state": "half_open", "opens": 5, "rejected": 17}}
