from __future__ import annotations

import threading
import time
import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from flask_perfkit import CheckResult
from flask_perfkit import PerfKit
from flask_perfkit import Status
from flask_perfkit import _probe
from flask_perfkit import require_admin
from flask_perfkit._state import get_state
from flask_perfkit.schemas import DatabaseEventsSchema
from flask_perfkit.schemas import DatabaseHealthSchema
from flask_perfkit.schemas import HealthSchema
from flask_perfkit.signals import health_changed
from tests.conftest import POSTGRES_URL
from tests.conftest import AppFactory
from tests.conftest import CountQueries
from tests.conftest import require

TOKEN = "s3cret-admin-token"


def test_liveness_touches_nothing(
    make_app: AppFactory, record_statements: CountQueries, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, db, _ = make_app()
    with app.app_context():
        engine = db.engine
    statements = record_statements(engine)

    def no_probe(*args: t.Any) -> float:
        raise AssertionError("liveness must not probe the database")

    monkeypatch.setattr(_probe, "probe", no_probe)
    client = app.test_client()
    for _ in range(3):
        response = client.get("/health")
        assert response.status_code == 200
        assert response.get_json() == {"status": "pass"}
    assert response.content_type == "application/health+json"
    assert response.headers["Cache-Control"] == "no-store"
    assert statements == []
    with app.app_context():
        assert app.extensions["perfkit"].pool_status().checked_out == 0
    assert client.head("/health").status_code == 200


def test_readiness_passes_with_details_that_match_the_schema(client: FlaskClient) -> None:
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.content_type == "application/health+json"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert HealthSchema().validate(body) == {}
    assert body["status"] == "pass"
    assert body["checks"]["db"]["status"] == "pass"
    assert body["checks"]["db"]["componentType"] == "datastore"
    assert body["checks"]["db"]["observedUnit"] == "ms"
    assert body["checks"]["db:connections"]["observedValue"] == 0


def test_unknown_accept_header_still_gets_json(client: FlaskClient) -> None:
    response = client.get("/health/ready", headers={"Accept": "text/x-nonsense"})
    assert response.status_code == 200
    assert response.get_json()["status"] == "pass"


def test_database_endpoint_matches_its_schema(client: FlaskClient) -> None:
    body = client.get("/health/database").get_json()
    assert DatabaseHealthSchema().validate(body) == {}
    assert body["engines"]["default"]["connectivity"]["status"] == "pass"
    events = client.get("/health/database/events").get_json()
    assert DatabaseEventsSchema().validate(events) == {}


def test_authorize_callback_grants_details(make_app: AppFactory) -> None:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    from flask import request
    from flask_sqlalchemy import SQLAlchemy

    PerfKit(app, db=SQLAlchemy(), authorize=lambda: request.headers.get("X-Role") == "ops")
    client = app.test_client()
    assert "pid" not in client.get("/health/ready").get_json()
    assert "pid" in client.get("/health/ready", headers={"X-Role": "ops"}).get_json()


def _admin_app(**config: t.Any) -> Flask:
    app = Flask(__name__)
    app.config.update(config)
    PerfKit(app)

    @app.post("/admin/thing")
    @require_admin
    def thing() -> dict[str, bool]:
        return {"done": True}

    return app


def test_admin_guard_is_disabled_until_configured() -> None:
    response = _admin_app().test_client().post("/admin/thing")
    assert response.status_code == 403
    body = response.get_json()
    assert body["error"] == "admin_disabled"
    assert "PERFKIT_ADMIN_TOKEN" in body["message"]


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer nope"}, 401),
        ({"Authorization": f"Bearer {TOKEN}x"}, 401),
        ({"Authorization": f"Bearer {TOKEN}"}, 200),
        ({"Authorization": f"bearer {TOKEN}"}, 200),
    ],
)
def test_admin_guard_checks_the_bearer_token(headers: dict[str, str], status: int) -> None:
    client = _admin_app(PERFKIT_ADMIN_TOKEN=TOKEN).test_client()
    response = client.post("/admin/thing", headers=headers)
    assert response.status_code == status
    if status == 401:
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="perfkit"'
        assert response.get_json()["error"] == "unauthorized"
        assert TOKEN not in response.get_data(as_text=True)
    assert client.get("/admin/thing", headers=headers).status_code == 405


def test_failing_critical_check_fails_readiness(make_app: AppFactory) -> None:
    app, _, perfkit = make_app(PERFKIT_HEALTH_SHOW_DETAILS="always")

    def broken() -> None:
        raise ConnectionRefusedError("connect to secret-host.internal:6380 refused, pw=hunter2")

    perfkit.add_check("search", broken)
    response = app.test_client().get("/health/ready")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "fail"
    assert body["checks"]["search"] == {
        **body["checks"]["search"],
        "status": "fail",
        "output": "connection refused",
        "critical": True,
    }
    text = response.get_data(as_text=True)
    assert "secret-host" not in text and "hunter2" not in text and "Traceback" not in text


def test_failing_non_critical_check_only_warns(make_app: AppFactory) -> None:
    app, _, perfkit = make_app(PERFKIT_HEALTH_SHOW_DETAILS="always")

    @perfkit.health_check("cache", critical=False)
    def cache_down() -> CheckResult:
        return CheckResult(Status.FAIL, output="connection refused")

    response = app.test_client().get("/health/ready")
    assert response.status_code == 200
    assert response.get_json()["status"] == "warn"
    assert response.get_json()["checks"]["cache"]["status"] == "fail"


def test_hung_check_times_out_within_the_budget(make_app: AppFactory) -> None:
    app, _, perfkit = make_app(PERFKIT_HEALTH_SHOW_DETAILS="always", PERFKIT_HEALTH_TIMEOUT=0.3)
    release = threading.Event()
    calls = []

    def hangs() -> bool:
        calls.append(1)
        release.wait(10)
        return True

    perfkit.add_check("slow", hangs)
    client = app.test_client()
    try:
        for _ in range(2):
            start = time.monotonic()
            response = client.get("/health/ready")
            assert time.monotonic() - start < 0.3 + 0.2
            assert response.status_code == 503
            assert response.get_json()["checks"]["slow"]["output"] == "timeout"
            assert response.get_json()["checks"]["db"]["status"] == "pass"
        assert len(calls) == 1, "a check still in flight is not started again"
    finally:
        release.set()


def test_checks_run_in_parallel(make_app: AppFactory) -> None:
    app, _, perfkit = make_app(PERFKIT_HEALTH_TIMEOUT=2.0, PERFKIT_HEALTH_CHECK_TTL=0)
    for name in ("a", "b", "c"):
        perfkit.add_check(name, lambda: time.sleep(0.4))
    start = time.monotonic()
    assert app.test_client().get("/health/ready").status_code == 200
    assert time.monotonic() - start < 1.0


def test_results_are_reused_within_the_ttl(make_app: AppFactory) -> None:
    app, _, perfkit = make_app(PERFKIT_HEALTH_CHECK_TTL=60)
    calls: list[int] = []

    def counted() -> bool:
        calls.append(1)
        return True

    perfkit.add_check("counted", counted)
    client = app.test_client()
    for _ in range(20):
        assert client.get("/health/ready").status_code == 200
    assert calls == [1]


def test_health_changed_is_signalled_once_per_change(make_app: AppFactory) -> None:
    app, _, perfkit = make_app(PERFKIT_HEALTH_CHECK_TTL=0)
    state = {"up": True}
    perfkit.add_check("flaky", lambda: state["up"])
    seen: list[tuple[str, str | None, str]] = []

    def receiver(sender: Flask, check: str, old: str | None, new: str) -> None:
        assert sender is app
        seen.append((check, old, new))

    client = app.test_client()
    with health_changed.connected_to(receiver, app):
        client.get("/health/ready")
        client.get("/health/ready")
        state["up"] = False
        client.get("/health/ready")
        client.get("/health/ready")
    flaky = [change for change in seen if change[0] == "flaky"]
    assert flaky == [("flaky", None, "pass"), ("flaky", "pass", "fail")]


def test_no_response_shows_password_or_connection_string(make_app: AppFactory) -> None:
    require("PostgreSQL", POSTGRES_URL)
    url = sa.make_url(POSTGRES_URL).set(password="pw123")
    app, db, _ = make_app(
        url.render_as_string(hide_password=False),
        PERFKIT_HEALTH_SHOW_DETAILS="always",
        SECRET_KEY="very-secret-key",
    )
    with app.app_context(), db.engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
    client = app.test_client()
    for path in ("/health", "/health/ready", "/health/database", "/health/database/events"):
        text = client.get(path).get_data(as_text=True)
        for secret in ("pw123", "very-secret-key", "127.0.0.1", "postgresql+psycopg://"):
            assert secret not in text, (path, secret)


def test_every_bind_has_its_own_checks(make_app: AppFactory, tmp_path: t.Any) -> None:
    app, _, _ = make_app(
        f"sqlite:///{tmp_path / 'a.db'}",
        SQLALCHEMY_BINDS={"users": f"sqlite:///{tmp_path / 'u.db'}"},
        PERFKIT_HEALTH_SHOW_DETAILS="always",
    )
    body = app.test_client().get("/health/ready").get_json()
    assert set(body["checks"]) == {
        "db",
        "db:connections",
        "db.users",
        "db.users:connections",
        "cache",
        "profiling",
    }
    engines = app.test_client().get("/health/database").get_json()["engines"]
    assert set(engines) == {"default", "users"}


def test_an_engine_that_replaces_a_bind_is_the_one_its_checks_probe(tmp_path: t.Any) -> None:
    app = Flask(__name__)
    app.config.update(PERFKIT_HEALTH_SHOW_DETAILS="always", PERFKIT_HEALTH_CHECK_TTL=0)
    PerfKit(app, engine=sa.create_engine("sqlite://"))
    client = app.test_client()
    assert client.get("/health/ready").status_code == 200
    unreachable = sa.create_engine(f"sqlite:///{tmp_path / 'missing' / 'app.db'}")
    get_state(app).database.add_monitor("default", unreachable)
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.get_json()["checks"]["db"]["status"] == "fail"
    assert [name for name in response.get_json()["checks"] if name.startswith("db")] == [
        "db",
        "db:connections",
    ]


def test_an_engine_added_while_the_checks_are_assembled_gets_its_checks() -> None:
    app = Flask(__name__)
    PerfKit(app, engine=sa.create_engine("sqlite://"))
    state = get_state(app)
    database = state.database
    assembling = database.health_checks

    def add_an_engine_meanwhile() -> list[t.Any]:
        checks = assembling()
        database.health_checks = assembling  # type: ignore[method-assign]
        database.add_monitor("reports", sa.create_engine("sqlite://"))
        return checks

    database.health_checks = add_an_engine_meanwhile  # type: ignore[method-assign]
    state.all_checks()
    names = [check.name for check in state.all_checks()]
    assert "db.reports" in names and "db.reports:connections" in names
    assert "db.reports" in [check.name for check in state.readiness_checks()]
