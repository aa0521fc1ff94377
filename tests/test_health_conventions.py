"""Headers, content types, time formats and log wording shared by every health response."""

from __future__ import annotations

import logging
import re
import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.conftest import AppFactory
from tests.test_hostile_input import HEALTH_GETS

TOKEN = "conventions-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$")
TIME_KEYS = {"since", "time", "first_seen", "last_seen"}

# Every JSON endpoint: the metrics are Prometheus text.
GETS = [path for path in HEALTH_GETS if path != "/metrics"]
POSTS = ["/cache/clear", "/cache/reset-stats", "/profiling/reset"]


@pytest.fixture
def busy_app(make_app: AppFactory) -> Flask:
    app, db, _ = make_app(PERFKIT_ADMIN_TOKEN=TOKEN, PERFKIT_SLOW_QUERY_MS=0)

    @app.get("/work")
    def work() -> str:
        for i in range(6):
            db.session.execute(sa.text("SELECT :i AS n"), {"i": i})
        return "ok"

    @app.get("/healthy-snacks")
    def snacks() -> str:
        return "apple"

    app.test_client().get("/work")
    return app


def _times(value: t.Any) -> t.Iterator[tuple[str, t.Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in TIME_KEYS:
                yield key, item
            yield from _times(item)
    elif isinstance(value, list):
        for item in value:
            yield from _times(item)


def test_status_bodies_are_health_json_and_never_stored(busy_app: Flask) -> None:
    client = busy_app.test_client()
    for path in GETS:
        for headers in ({}, AUTH):
            response = client.get(f"/health{path}", headers=headers)
            assert response.status_code == 200, path
            assert response.headers["Content-Type"] == "application/health+json", path
            assert response.headers["Cache-Control"] == "no-store", path
    for path in POSTS:
        response = client.post(f"/health{path}", headers=AUTH)
        assert response.status_code == 200, path
        assert response.headers["Content-Type"] == "application/health+json", path
        assert response.headers["Cache-Control"] == "no-store", path


def test_error_bodies_are_json_and_never_stored(busy_app: Flask, make_app: AppFactory) -> None:
    client = busy_app.test_client()
    closed = make_app()[0].test_client()
    errors = [
        (client.post("/health/cache/clear?tier=bogus", headers=AUTH), 400),
        (client.get("/health/cache?tier=bogus"), 400),
        (client.get("/health/profiling/queries?limit=x", headers=AUTH), 400),
        (client.post("/health/cache/clear?tier=bogus"), 401),
        (client.post("/health/profiling/reset", headers={"Authorization": "Bearer no"}), 401),
        (client.get("/health/metrics"), 401),
        (closed.post("/health/cache/clear"), 403),
        (closed.post("/health/profiling/reset"), 403),
    ]
    for response, status in errors:
        assert response.status_code == status
        assert response.headers["Content-Type"] == "application/json"
        assert response.headers["Cache-Control"] == "no-store"
        body = response.get_json()
        assert set(body) <= {"error", "message", "param"} and body["message"]


def test_unrouted_requests_under_the_prefix_are_never_stored(busy_app: Flask) -> None:
    client = busy_app.test_client()
    for method, path, status in [
        ("GET", "/health/cache/clear", 405),
        ("GET", "/health/profiling/reset", 405),
        ("DELETE", "/health/ready", 405),
        ("GET", "/health/no-such-thing", 404),
        ("OPTIONS", "/health", 200),
        ("OPTIONS", "/health/ready", 200),
        ("OPTIONS", "/health/cache/clear", 200),
    ]:
        response = client.open(path, method=method)
        assert response.status_code == status
        assert response.headers["Cache-Control"] == "no-store"
    # The app's own pages, found or not, are the app's business.
    assert "Cache-Control" not in client.get("/healthy-snacks").headers
    assert "Cache-Control" not in client.get("/healthz").headers
    assert "Cache-Control" not in client.get("/elsewhere").headers
    assert "Cache-Control" not in client.options("/healthy-snacks").headers


def test_every_time_has_one_format(busy_app: Flask) -> None:
    client = busy_app.test_client()
    seen: set[str] = set()
    for path in GETS:
        body = client.get(f"/health{path}", headers=AUTH).get_json()
        for key, value in _times(body):
            assert isinstance(value, str) and ISO_MS.match(value), (path, key, value)
            seen.add(key)
    assert seen == TIME_KEYS


def test_status_changes_are_logged_in_plain_words(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app, _, perfkit = make_app(PERFKIT_HEALTH_CHECK_TTL=0)
    state = {"up": False}
    perfkit.add_check("payments", lambda: state["up"])
    client = app.test_client()
    with caplog.at_level(logging.INFO, logger=app.logger.name):
        client.get("/health/ready")
        state["up"] = True
        client.get("/health/ready")
    lines = [r.getMessage() for r in caplog.records if "'payments'" in r.getMessage()]
    assert lines == [
        "Health check 'payments' is fail on its first run.",
        "Health check 'payments' is now pass (was fail).",
    ]
    assert "None" not in " ".join(r.getMessage() for r in caplog.records)
