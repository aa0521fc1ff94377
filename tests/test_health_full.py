"""``/health/full``, per-check settings, the details policy on every GET, and stats origins."""

from __future__ import annotations

import concurrent.futures
import datetime
import logging
import os
import threading
import time
import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask

from flask_perfkit import CheckResult
from flask_perfkit import ConfigError
from flask_perfkit import Status
from flask_perfkit import cache_short
from flask_perfkit.schemas import FullHealthSchema
from flask_perfkit.schemas import HealthSchema
from flask_perfkit.schemas import PublicHealthSchema
from tests.conftest import POSTGRES_URL
from tests.conftest import REDIS_KEY_PREFIX
from tests.conftest import REDIS_URL
from tests.conftest import AppFactory
from tests.conftest import require

TOKEN = "full-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

#: Every GET of the blueprint that can carry details, and a query string it accepts.
DETAIL_PATHS = [
    "/health/ready",
    "/health/full",
    "/health/database",
    "/health/database/events",
    "/health/cache",
    "/health/cache?tier=short",
    "/health/profiling",
    "/health/profiling/queries?limit=5&sort=calls",
    "/health/profiling/slow-queries?min_ms=0",
    "/health/profiling/n-plus-one",
]


@cache_short
def squared(x: int) -> int:
    return x * x


def test_full_runs_every_check_and_summarises_each_component(make_app: AppFactory) -> None:
    app, db, perfkit = make_app(PERFKIT_ADMIN_TOKEN=TOKEN)
    perfkit.add_check("search", lambda: CheckResult(Status.WARN, output="slow"), readiness=False)
    client = app.test_client()
    with app.app_context():
        db.session.execute(sa.text("SELECT 1"))
        squared(3)
        squared(3)

    ready = client.get("/health/ready", headers=AUTH).get_json()
    assert "search" not in ready["checks"]
    assert ready["status"] == "pass"

    response = client.get("/health/full", headers=AUTH)
    assert response.status_code == 200
    assert response.content_type == "application/health+json"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert FullHealthSchema().validate(body) == {}
    assert set(body["checks"]) == {"db", "db:connections", "cache", "profiling", "search"}
    assert body["checks"]["search"]["output"] == "slow"
    assert body["status"] == "warn"
    components = body["components"]
    assert components["database"]["default"]["dialect"] == "sqlite"
    assert components["cache"]["tiers"]["short"]["hits"] == 1
    assert components["cache"]["tiers"]["short"]["misses"] == 1
    assert components["profiling"]["total_queries"] >= 1
    assert body["pid"] == os.getpid()

    for path in ("/health/ready", "/health/full"):
        head = client.head(path)
        assert head.status_code == 200 and head.data == b""
        assert head.content_type == "application/health+json"

    anonymous = client.get("/health/full").get_json()
    assert PublicHealthSchema().validate(anonymous) == {}
    assert anonymous["checks"]["search"] == {"status": "warn"}


def test_a_critical_failure_fails_full_with_503(make_app: AppFactory) -> None:
    app, _, perfkit = make_app(PERFKIT_ADMIN_TOKEN=TOKEN)
    perfkit.add_check("payments", lambda: False, readiness=False)
    client = app.test_client()
    assert client.get("/health/ready").status_code == 200
    response = client.get("/health/full")
    assert response.status_code == 503
    assert response.get_json()["checks"]["payments"] == {"status": "fail"}


def test_config_makes_a_check_critical(make_app: AppFactory) -> None:
    app, _, perfkit = make_app(PERFKIT_HEALTH_CHECKS={"search": {"critical": True}})
    perfkit.add_check("search", lambda: False, critical=False)
    assert app.test_client().get("/health/ready").status_code == 503


def test_config_makes_the_database_non_critical(make_app: AppFactory) -> None:
    app, _, perfkit = make_app(
        PERFKIT_HEALTH_CHECKS={"db": {"critical": False}, "search": {"readiness": False}},
        PERFKIT_HEALTH_SHOW_DETAILS="always",
        PERFKIT_ADMIN_TOKEN=TOKEN,
    )
    perfkit.add_check("search", lambda: False)
    body = app.test_client().get("/health/ready").get_json()
    assert body["checks"]["db"]["critical"] is False
    assert "search" not in body["checks"]


def test_a_check_times_out_on_its_own_timeout(make_app: AppFactory) -> None:
    app, _, perfkit = make_app(
        PERFKIT_HEALTH_SHOW_DETAILS="always",
        PERFKIT_ADMIN_TOKEN=TOKEN,
        PERFKIT_HEALTH_CHECKS={"slow_config": {"timeout": 0.1}},
    )
    perfkit.add_check("slow_param", lambda: time.sleep(0.6), critical=False, timeout=0.1)
    perfkit.add_check("slow_config", lambda: time.sleep(0.6), critical=False)
    perfkit.add_check("quick", lambda: time.sleep(0.3), critical=False)
    start = time.monotonic()
    body = app.test_client().get("/health/ready").get_json()
    elapsed = time.monotonic() - start
    for name in ("slow_param", "slow_config"):
        assert body["checks"][name]["status"] == "fail"
        assert body["checks"][name]["output"] == "timeout"
        assert body["checks"][name]["duration_ms"] < 300
    # The quick check still had the whole budget and passed.
    assert body["checks"]["quick"]["status"] == "pass"
    assert body["status"] == "warn"
    assert elapsed < 0.8 + 0.4


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ([], "dict of check names"),
        ({"db": True}, "dict of check names"),
        ({"db": {"critcal": True}}, "'critcal'"),
        ({"db": {"critical": "yes"}}, "True or False"),
        ({"db": {"timeout": 0}}, "positive number of seconds"),
        ({"db": {"timeout": "1"}}, "positive number of seconds"),
    ],
)
def test_bad_check_settings_fail_in_init_app(
    make_app: AppFactory, value: t.Any, words: str
) -> None:
    with pytest.raises(ConfigError, match="PERFKIT_HEALTH_CHECKS") as info:
        make_app(PERFKIT_HEALTH_CHECKS=value)
    assert words in str(info.value)


@pytest.mark.parametrize("path", DETAIL_PATHS)
@pytest.mark.parametrize(
    ("policy", "headers", "detailed"),
    [
        ("when_authorized", {}, False),
        ("when_authorized", {"Authorization": "Bearer wrong"}, False),
        ("when_authorized", {"Authorization": TOKEN}, False),
        ("when_authorized", {"Authorization": f"Basic {TOKEN}"}, False),
        ("when_authorized", AUTH, True),
        ("never", AUTH, False),
        ("always", {}, True),
    ],
)
def test_details_policy_holds_on_every_get(
    make_app: AppFactory, policy: str, headers: dict[str, str], detailed: bool, path: str
) -> None:
    app, _, _ = make_app(PERFKIT_HEALTH_SHOW_DETAILS=policy, PERFKIT_ADMIN_TOKEN=TOKEN)
    response = app.test_client().get(path, headers=headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] in {"pass", "warn"}
    if detailed:
        assert body["pid"] == os.getpid()
        since = datetime.datetime.fromisoformat(body["since"])
        assert since <= datetime.datetime.now(datetime.UTC)
    else:
        assert set(body) <= {"status", "checks"}
        for check in body.get("checks", {}).values():
            assert set(check) == {"status"}
        if "checks" in body:
            assert PublicHealthSchema().validate(body) == {}


@pytest.mark.parametrize(
    ("policy", "token", "headers", "status"),
    [
        ("when_authorized", TOKEN, {}, 401),
        ("when_authorized", TOKEN, {"Authorization": "Bearer wrong"}, 401),
        ("when_authorized", None, {}, 403),
        ("never", TOKEN, AUTH, 403),
        ("when_authorized", TOKEN, AUTH, 200),
        ("always", None, {}, 200),
    ],
)
def test_metrics_are_details(
    make_app: AppFactory, policy: str, token: str | None, headers: dict[str, str], status: int
) -> None:
    app, _, _ = make_app(PERFKIT_HEALTH_SHOW_DETAILS=policy, PERFKIT_ADMIN_TOKEN=token)
    response = app.test_client().get("/health/metrics", headers=headers)
    assert response.status_code == status
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    if status != 200:
        assert set(response.get_json()) == {"error", "message"}
        assert "perfkit_" not in response.get_data(as_text=True)


def test_always_outside_debug_without_auth_warns_at_init(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="flask_perfkit"):
        make_app(PERFKIT_HEALTH_SHOW_DETAILS="always")
    assert "PERFKIT_HEALTH_SHOW_DETAILS is 'always' outside debug mode" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="flask_perfkit"):
        make_app(PERFKIT_HEALTH_SHOW_DETAILS="always", PERFKIT_ADMIN_TOKEN=TOKEN)
        make_app(PERFKIT_HEALTH_SHOW_DETAILS="when_authorized")
        make_app(PERFKIT_HEALTH_SHOW_DETAILS="always", DEBUG=True)
    assert "PERFKIT_HEALTH_SHOW_DETAILS" not in caplog.text


def test_no_get_shows_secrets_bound_values_or_driver_text(make_app: AppFactory) -> None:
    require("PostgreSQL", POSTGRES_URL)
    require("Redis", REDIS_URL)
    url = sa.make_url(POSTGRES_URL).set(password="pw123")
    redis = sa.make_url(REDIS_URL).set(password="redispw")
    app, db, _ = make_app(
        url.render_as_string(hide_password=False),
        PERFKIT_HEALTH_SHOW_DETAILS="when_authorized",
        PERFKIT_ADMIN_TOKEN=TOKEN,
        PERFKIT_SLOW_QUERY_MS=0,
        SECRET_KEY="very-secret-key",
        CACHE_TYPE="RedisCache",
        CACHE_REDIS_URL=redis.render_as_string(hide_password=False),
        PERFKIT_CACHE_KEY_PREFIX=f"{REDIS_KEY_PREFIX}full:",
    )

    @app.get("/work")
    def work() -> str:
        db.session.execute(sa.text("SELECT :v AS v"), {"v": "s3cr3t-pii"})
        for _ in range(6):
            db.session.execute(sa.text("SELECT :v AS v"), {"v": "s3cr3t-pii"})
        try:
            db.session.execute(sa.text("SELECT * FROM no_such_table_s3cr3t WHERE x = :v"), {"v": 1})
        except sa.exc.ProgrammingError:
            db.session.rollback()
        squared(7)
        return "ok"

    client = app.test_client()
    assert client.get("/work").status_code == 200
    paths = ["/health", *DETAIL_PATHS, "/health/metrics"]
    for headers in ({}, AUTH):
        for path in paths:
            response = client.get(path, headers=headers)
            assert response.status_code in {200, 401, 503}, path
            text = response.get_data(as_text=True)
            for secret in (
                "pw123",
                "redispw",
                "very-secret-key",
                "s3cr3t-pii",
                "postgresql+psycopg://",
                "redis://",
                "Traceback",
                "does not exist",
                "UndefinedTable",
                "AUTH",
            ):
                assert secret not in text, (path, secret)
    full = client.get("/health/full", headers=AUTH).get_json()
    assert full["components"]["cache"]["backend"] == "RedisCache"
    assert full["components"]["profiling"]["errors"] == 1


def test_a_storm_of_probes_runs_each_check_once_per_ttl(make_app: AppFactory) -> None:
    app, _, perfkit = make_app(PERFKIT_HEALTH_CHECK_TTL=5)
    runs: list[float] = []

    def counted() -> None:
        runs.append(time.monotonic())
        time.sleep(0.05)

    perfkit.add_check("counted", counted)
    client = app.test_client()
    barrier = threading.Barrier(16)

    def probe(i: int) -> int:
        if i < 16:
            barrier.wait()
        path = "/health/ready" if i % 2 else "/health/full"
        return client.get(path).status_code

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(probe, range(200)))
    assert statuses == [200] * 200
    assert len(runs) == 1


def _iso(value: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(value)


def test_resets_move_since_forward(make_app: AppFactory) -> None:
    app, _, _ = make_app(PERFKIT_ADMIN_TOKEN=TOKEN)
    client = app.test_client()
    before = _iso(client.get("/health/profiling", headers=AUTH).get_json()["since"])
    cache_before = _iso(client.get("/health/cache", headers=AUTH).get_json()["since"])
    time.sleep(1.1)
    assert client.post("/health/profiling/reset", headers=AUTH).status_code == 200
    assert client.post("/health/cache/reset-stats", headers=AUTH).status_code == 200
    assert _iso(client.get("/health/profiling", headers=AUTH).get_json()["since"]) > before
    assert _iso(client.get("/health/cache", headers=AUTH).get_json()["since"]) > cache_before


def test_ready_body_with_details_matches_its_schema(app: Flask) -> None:
    body = app.test_client().get("/health/ready").get_json()
    assert HealthSchema().validate(body) == {}


def test_reused_bodies_follow_the_caller_and_fresh_results(make_app: AppFactory) -> None:
    app, _, perfkit = make_app(PERFKIT_ADMIN_TOKEN=TOKEN, PERFKIT_HEALTH_CHECK_TTL=0)
    state = {"up": True}
    perfkit.add_check("flaky", lambda: state["up"])
    client = app.test_client()
    for _ in range(2):
        assert "pid" not in client.get("/health/ready").get_json()
        assert "pid" in client.get("/health/ready", headers=AUTH).get_json()
    state["up"] = False
    response = client.get("/health/ready", headers=AUTH)
    assert response.status_code == 503
    assert response.get_json()["checks"]["flaky"]["status"] == "fail"
    assert client.get("/health/ready").get_json()["checks"]["flaky"] == {"status": "fail"}
    state["up"] = True
    assert client.get("/health/ready").status_code == 200
