"""Database faults caused for real: a stopped cluster, a black hole, an exhausted pool."""

from __future__ import annotations

import time
import typing as t
from contextlib import ExitStack

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from tests.conftest import AppFactory
from tests.conftest import ThrowawayPostgres

BUDGET = 0.8
# Generous: the machines running the suite are small and noisy.
MARGIN = 0.4


def get_ready(client: FlaskClient) -> tuple[int, dict[str, t.Any], float]:
    """GET /health/ready: the status code, the body and how long it took."""
    start = time.monotonic()
    response = client.get("/health/ready")
    return response.status_code, response.get_json(), time.monotonic() - start


def assert_not_ready(client: FlaskClient, output: str) -> None:
    """Readiness fails on the database check three times in a row, each within the budget."""
    for _ in range(3):
        status, body, elapsed = get_ready(client)
        assert status == 503
        assert elapsed < BUDGET + MARGIN
        assert body["checks"]["db"]["status"] == "fail"
        assert body["checks"]["db"]["output"] == output
    assert client.get("/health").status_code == 200


def test_stopped_postgres_fails_readiness_in_time_and_recovers(
    make_app: AppFactory, throwaway_postgres: ThrowawayPostgres
) -> None:
    app, db, _ = make_app(
        throwaway_postgres.url,
        PERFKIT_HEALTH_SHOW_DETAILS="always",
        PERFKIT_HEALTH_CHECK_TTL=0.5,
    )
    client = app.test_client()
    with app.app_context(), db.engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))

    status, body, _ = get_ready(client)
    assert status == 200 and body["status"] == "pass"

    throwaway_postgres.stop()
    time.sleep(0.6)
    assert_not_ready(client, "connection refused")

    throwaway_postgres.start()
    deadline = time.monotonic() + 5
    while True:
        status, body, elapsed = get_ready(client)
        assert elapsed < BUDGET + MARGIN
        if status == 200:
            break
        assert time.monotonic() < deadline, "readiness did not recover after the restart"
        time.sleep(0.2)
    assert body["status"] == "pass"
    with app.app_context(), db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT 1")).scalar() == 1


@pytest.mark.parametrize("driver", ["postgresql+psycopg", "mysql+pymysql"])
def test_black_holed_database_fails_readiness_in_time(
    make_app: AppFactory, black_hole: int, driver: str
) -> None:
    app, _, _ = make_app(
        f"{driver}://user:pw123@127.0.0.1:{black_hole}/test",
        PERFKIT_HEALTH_SHOW_DETAILS="always",
    )
    client = app.test_client()
    assert_not_ready(client, "timeout")
    assert "pw123" not in client.get("/health/database").get_data(as_text=True)


def test_black_hole_probe_thread_is_released_by_the_connect_timeout(
    make_app: AppFactory, black_hole: int
) -> None:
    app, _, _ = make_app(
        f"postgresql+psycopg://user@127.0.0.1:{black_hole}/test",
        PERFKIT_HEALTH_SHOW_DETAILS="always",
        PERFKIT_HEALTH_CHECK_TTL=0,
    )
    client = app.test_client()
    assert get_ready(client)[0] == 503
    # The probe's connect timeout is 2 s; after it the next check runs afresh.
    deadline = time.monotonic() + 6
    while True:
        _, body, _ = get_ready(client)
        checks = body["checks"]
        duration = checks["db"]["duration_ms"]
        if checks["db"]["output"] == "timeout" and duration is not None and duration > 1500:
            break
        assert time.monotonic() < deadline, "the hung probe was never released"
        time.sleep(0.3)


def test_exhausted_pool_fails_readiness_in_time_without_waiting_for_the_pool(
    make_app: AppFactory, throwaway_postgres: ThrowawayPostgres
) -> None:
    app, db, _ = make_app(
        throwaway_postgres.url,
        PERFKIT_POOL_SIZE=2,
        PERFKIT_POOL_MAX_OVERFLOW=1,
        PERFKIT_POOL_TIMEOUT=30,
        PERFKIT_HEALTH_SHOW_DETAILS="always",
        PERFKIT_HEALTH_CHECK_TTL=0,
    )
    client = app.test_client()
    with app.app_context():
        engine = db.engine
    with ExitStack() as stack:
        for _ in range(3):
            stack.enter_context(engine.connect()).execute(sa.text("SELECT 1"))
        status, body, elapsed = get_ready(client)
        assert elapsed < BUDGET + MARGIN
        assert status == 503
        assert body["status"] == "fail"
        checks = body["checks"]
        assert checks["db"]["status"] == "pass"
        pool = checks["db:connections"]
        assert pool["status"] == "fail"
        assert pool["output"] == "pool exhausted"
        assert pool["critical"] is True
        assert pool["observedValue"] == 3
        detail = client.get("/health/database").get_json()["engines"]["default"]
        assert detail["pool"]["utilization"] == 1.0
        assert detail["status"] == "fail"
        assert engine.pool.checkedout() == 3  # type: ignore[attr-defined]
        with app.app_context():
            result = app.test_cli_runner().invoke(args=["perfkit", "check"])
        assert result.exit_code == 1, result.output
    status, body, _ = get_ready(client)
    assert status == 200
    assert body["status"] == "pass"


def test_a_busy_pool_only_warns_and_config_can_keep_an_exhausted_one_from_failing(
    make_app: AppFactory, throwaway_postgres: ThrowawayPostgres
) -> None:
    app, db, _ = make_app(
        throwaway_postgres.url,
        PERFKIT_POOL_SIZE=10,
        PERFKIT_POOL_MAX_OVERFLOW=0,
        PERFKIT_HEALTH_SHOW_DETAILS="always",
        PERFKIT_HEALTH_CHECK_TTL=0,
    )
    other, other_db, _ = make_app(
        throwaway_postgres.url,
        PERFKIT_POOL_SIZE=1,
        PERFKIT_POOL_MAX_OVERFLOW=0,
        PERFKIT_HEALTH_SHOW_DETAILS="always",
        PERFKIT_HEALTH_CHECKS={"db:connections": {"critical": False}},
    )
    with app.app_context():
        engine = db.engine
    with other.app_context():
        other_engine = other_db.engine
    with ExitStack() as stack:
        for _ in range(9):
            stack.enter_context(engine.connect())
        stack.enter_context(other_engine.connect())
        status, body, _ = get_ready(app.test_client())
        assert status == 200 and body["status"] == "warn"
        assert body["checks"]["db:connections"]["status"] == "fail"
        assert body["checks"]["db:connections"]["output"] == "pool 90% used"
        assert body["checks"]["db:connections"]["critical"] is False
        status, body, _ = get_ready(other.test_client())
        assert status == 200 and body["status"] == "warn"
        assert body["checks"]["db:connections"]["output"] == "pool exhausted"
        assert body["checks"]["db:connections"]["critical"] is False


def test_check_command_exits_1_while_the_database_is_down(
    make_app: AppFactory, throwaway_postgres: ThrowawayPostgres
) -> None:
    app, _, _ = make_app(throwaway_postgres.url, PERFKIT_HEALTH_CHECK_TTL=0)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["perfkit", "check"])
    assert result.exit_code == 0, result.output
    assert "status: pass" in result.output
    throwaway_postgres.stop()
    start = time.monotonic()
    result = runner.invoke(args=["perfkit", "check"])
    assert time.monotonic() - start < BUDGET + MARGIN
    assert result.exit_code == 1, result.output
    assert "connection refused" in result.output
    assert "status: fail" in result.output
    throwaway_postgres.start()
    deadline = time.monotonic() + 5
    while runner.invoke(args=["perfkit", "check"]).exit_code != 0:
        assert time.monotonic() < deadline, "the check did not recover"
        time.sleep(0.2)
