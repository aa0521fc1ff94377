"""App-registered checks against a real Redis: up, refused and black-holed."""

from __future__ import annotations

import time

import redis
from flask import Flask

from flask_perfkit import CheckResult
from flask_perfkit import Status
from tests.conftest import REDIS_URL
from tests.conftest import AppFactory
from tests.conftest import free_port
from tests.conftest import require


def _add_redis_check(make_app: AppFactory, url: str) -> tuple[Flask, redis.Redis]:
    app, _, perfkit = make_app(PERFKIT_HEALTH_SHOW_DETAILS="always")
    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)

    @perfkit.health_check("cache", critical=False, component_type="datastore")
    def cache_reachable() -> CheckResult:
        started = time.perf_counter()
        client.ping()
        latency = round((time.perf_counter() - started) * 1000, 3)
        return CheckResult(Status.PASS, observed_value=latency, observed_unit="ms")

    return app, client


def test_reachable_redis_passes(make_app: AppFactory) -> None:
    require("Redis", REDIS_URL)
    app, client = _add_redis_check(make_app, REDIS_URL)
    response = app.test_client().get("/health/ready")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "pass"
    assert body["checks"]["cache"]["status"] == "pass"
    assert body["checks"]["cache"]["observedUnit"] == "ms"
    client.close()


def test_refused_redis_only_warns(make_app: AppFactory) -> None:
    app, client = _add_redis_check(make_app, f"redis://:redispw@127.0.0.1:{free_port()}/0")
    response = app.test_client().get("/health/ready")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "warn"
    assert body["checks"]["cache"] == {**body["checks"]["cache"], "status": "fail"}
    assert body["checks"]["cache"]["output"] == "connection refused"
    assert "redispw" not in response.get_data(as_text=True)
    client.close()


def test_black_holed_redis_warns_within_the_budget(make_app: AppFactory, black_hole: int) -> None:
    app, client = _add_redis_check(make_app, f"redis://127.0.0.1:{black_hole}/0")
    started = time.monotonic()
    response = app.test_client().get("/health/ready")
    assert time.monotonic() - started < 0.8 + 0.4
    assert response.status_code == 200
    assert response.get_json()["checks"]["cache"]["output"] == "timeout"
    client.close()
