from __future__ import annotations

import contextlib
import json
import threading
import typing as t
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from werkzeug.serving import make_server

from flask_perfkit.schemas import HealthSchema
from tests.conftest import AppFactory
from tests.conftest import free_port

TOKEN = "cli-token"


@contextlib.contextmanager
def serving(app: Flask) -> Iterator[str]:
    """Serve ``app`` on a spare loopback port; yields its root URL."""
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


@pytest.fixture
def served(make_app: AppFactory) -> Iterator[tuple[Flask, SQLAlchemy, str]]:
    app, db, _ = make_app("sqlite://", PERFKIT_ADMIN_TOKEN=TOKEN, PERFKIT_SLOW_QUERY_MS=0)

    @app.get("/work")
    def work() -> str:
        with db.engine.connect() as conn:
            for i in range(6):
                conn.execute(sa.text("SELECT :i AS value"), {"i": i})
        return "ok"

    with serving(app) as url:
        yield app, db, url


def test_report_prints_tables_from_a_running_instance(
    served: tuple[Flask, SQLAlchemy, str],
) -> None:
    app, _, url = served
    client = app.test_client()
    for _ in range(2):
        client.get("/work")
    result = app.test_cli_runner().invoke(args=["perfkit", "report", "--url", url])
    assert result.exit_code == 0, result.output
    assert "Top patterns by total time" in result.output
    assert "SELECT ? AS value" in result.output
    assert "N+1 suspects" in result.output
    assert "Recent slow queries" in result.output


def test_report_as_json(served: tuple[Flask, SQLAlchemy, str]) -> None:
    app, _, url = served
    app.test_client().get("/work")
    result = app.test_cli_runner().invoke(args=["perfkit", "report", "--url", url, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["summary"]["total_queries"] == 6


def test_report_without_a_valid_token_explains(served: tuple[Flask, SQLAlchemy, str]) -> None:
    app, _, url = served
    app.config["PERFKIT_ADMIN_TOKEN"] = None
    runner = app.test_cli_runner()
    result = runner.invoke(args=["perfkit", "report", "--url", url, "--token", "wrong"])
    assert result.exit_code == 1
    assert "without details" in result.output


def test_report_when_nothing_listens_is_a_clear_error(make_app: AppFactory) -> None:
    app, _, _ = make_app()
    result = app.test_cli_runner().invoke(
        args=["perfkit", "report", "--url", f"http://127.0.0.1:{free_port()}", "--timeout", "1"]
    )
    assert result.exit_code == 1
    assert "Could not reach" in result.output
    assert "Give its URL with --url or the PERFKIT_URL environment variable." in result.output
    assert "Traceback" not in result.output


def test_check_prints_a_table_and_exits_0_when_ready(make_app: AppFactory) -> None:
    app, _, perfkit = make_app()
    perfkit.add_check("search", lambda: False, critical=False)
    result = app.test_cli_runner().invoke(args=["perfkit", "check"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["check", "status", "critical", "ms", "output"]
    rows = {line.split()[0]: line.split() for line in lines[1:-1]}
    assert rows["db"][1:3] == ["pass", "True"]
    assert rows["search"][1:3] == ["fail", "False"]
    assert lines[-1] == "status: warn"


def test_check_exits_1_on_a_critical_failure_and_prints_json(make_app: AppFactory) -> None:
    app, _, perfkit = make_app()
    perfkit.add_check("payments", lambda: False)
    result = app.test_cli_runner().invoke(args=["perfkit", "check", "--json"])
    assert result.exit_code == 1
    body = json.loads(result.output)
    assert body["status"] == "fail"
    payments = body["checks"]["payments"]
    assert payments == {
        "status": "fail",
        "output": None,
        "observedValue": None,
        "observedUnit": None,
        "componentType": "component",
        "critical": True,
        "duration_ms": payments["duration_ms"],
        "time": payments["time"],
    }
    assert HealthSchema().validate(body) == {}


def test_check_with_url_asks_the_instance(served: tuple[Flask, SQLAlchemy, str]) -> None:
    app, _, url = served
    runner = app.test_cli_runner()
    result = runner.invoke(args=["perfkit", "check", "--url", url])
    assert result.exit_code == 0, result.output
    assert "db" in result.output and result.output.rstrip().endswith("status: pass")
    perfkit = app.extensions["perfkit"]
    perfkit.add_check("payments", lambda: False)
    result = runner.invoke(args=["perfkit", "check", "--url", url])
    assert result.exit_code == 1, result.output
    assert result.output.rstrip().endswith("status: fail")
    result = runner.invoke(
        args=["perfkit", "check", "--url", f"http://127.0.0.1:{free_port()}", "--timeout", "1"]
    )
    assert result.exit_code == 1
    assert "Could not reach" in result.output


def test_reset_clears_this_process(make_app: AppFactory) -> None:
    from flask_perfkit import cache_medium

    calls: list[int] = []

    @cache_medium
    def tripled(x: int) -> int:
        calls.append(x)
        return 3 * x

    app, db, perfkit = make_app()
    with app.app_context():
        db.session.execute(sa.text("SELECT 1"))
        tripled(1)
        assert perfkit.profiler.summary().total_queries == 1
    result = app.test_cli_runner().invoke(args=["perfkit", "reset"])
    assert result.exit_code == 0, result.output
    assert "cleared 1 cache entries" in result.output
    with app.app_context():
        assert perfkit.profiler.summary().total_queries == 0
        assert perfkit.cache.stats()["medium"]["misses"] == 0
        tripled(1)
    assert calls == [1, 1]


def test_reset_sets_the_pool_counts_back_to_zero(make_app: AppFactory) -> None:
    app, db, _ = make_app(PERFKIT_ADMIN_TOKEN="t0ken")
    with app.app_context():
        db.session.execute(sa.text("SELECT 1"))
        db.session.remove()
    client = app.test_client()
    auth = {"Authorization": "Bearer t0ken"}
    before = client.get("/health/database/events", headers=auth).get_json()
    assert before["engines"]["default"]["checkout"] >= 1
    result = app.test_cli_runner().invoke(args=["perfkit", "reset"])
    assert result.exit_code == 0, result.output
    after = client.get("/health/database/events", headers=auth).get_json()
    assert after["engines"]["default"]["checkout"] == 0
    assert after["checkout_timeouts"] == 0
    assert after["since"] > before["since"]


def test_reset_with_url_resets_the_instance(served: tuple[Flask, SQLAlchemy, str]) -> None:
    app, _, url = served
    client = app.test_client()
    client.get("/work")
    perfkit = app.extensions["perfkit"]
    with app.app_context():
        assert perfkit.profiler.summary().total_queries == 6
    result = app.test_cli_runner().invoke(args=["perfkit", "reset", "--url", url])
    assert result.exit_code == 0, result.output
    assert "POST /profiling/reset" in result.output
    with app.app_context():
        assert perfkit.profiler.summary().total_queries == 0
    result = app.test_cli_runner().invoke(
        args=["perfkit", "reset", "--url", url, "--token", "wrong"]
    )
    assert result.exit_code == 1
    assert "HTTP 401" in result.output


def test_errors_print_the_servers_message(
    make_app: AppFactory, served: tuple[Flask, SQLAlchemy, str]
) -> None:
    app, _, url = served
    result = app.test_cli_runner().invoke(
        args=["perfkit", "reset", "--url", url, "--token", "wrong"]
    )
    assert result.exit_code == 1
    assert f"{url}/health/profiling/reset answered HTTP 401: This endpoint needs an" in (
        result.output
    )
    assert "'Authorization: Bearer <PERFKIT_ADMIN_TOKEN>' header." in result.output
    assert "wrong" not in result.output

    closed, _, _ = make_app()
    with serving(closed) as closed_url:
        result = closed.test_cli_runner().invoke(args=["perfkit", "reset", "--url", closed_url])
    assert result.exit_code == 1
    assert "answered HTTP 403: Admin endpoints are disabled. Set PERFKIT_ADMIN_TOKEN" in (
        result.output
    )


@pytest.mark.parametrize("suffix", ["", "/", "/health", "/health/"])
def test_url_with_or_without_the_health_prefix(
    served: tuple[Flask, SQLAlchemy, str], suffix: str
) -> None:
    app, _, url = served
    runner = app.test_cli_runner()
    result = runner.invoke(args=["perfkit", "check", "--url", url + suffix])
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("status: pass")
    result = runner.invoke(args=["perfkit", "report"], env={"PERFKIT_URL": url + suffix})
    assert result.exit_code == 0, result.output
    assert "Top patterns by total time" in result.output


def test_host_and_port_alone_mean_http(served: tuple[Flask, SQLAlchemy, str]) -> None:
    app, _, url = served
    result = app.test_cli_runner().invoke(
        args=["perfkit", "check", "--url", url.removeprefix("http://")]
    )
    assert result.exit_code == 0, result.output


def test_perfkit_url_is_the_default_and_url_wins(served: tuple[Flask, SQLAlchemy, str]) -> None:
    app, _, url = served
    runner = app.test_cli_runner()
    app.test_client().get("/work")
    nowhere = f"http://127.0.0.1:{free_port()}"
    env = {"PERFKIT_URL": nowhere}
    result = runner.invoke(args=["perfkit", "reset", "--timeout", "1"], env=env)
    assert result.exit_code == 1 and f"Could not reach {nowhere}/health" in result.output
    result = runner.invoke(args=["perfkit", "reset", "--url", url], env=env)
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert app.extensions["perfkit"].profiler.summary().total_queries == 0
    help_text = runner.invoke(args=["perfkit", "report", "--help"]).output
    assert "PERFKIT_URL" in help_text


def test_a_custom_health_prefix_is_added_or_recognised(make_app: AppFactory) -> None:
    app, _, _ = make_app(PERFKIT_HEALTH_URL_PREFIX="/ops/status", PERFKIT_ADMIN_TOKEN=TOKEN)
    runner = app.test_cli_runner()
    with serving(app) as url:
        for given in (url, f"{url}/ops/status", f"{url}/ops/status/"):
            result = runner.invoke(args=["perfkit", "check", "--url", given])
            assert result.exit_code == 0, result.output
        result = runner.invoke(args=["perfkit", "check", "--url", f"{url}/ops"])
        assert result.exit_code == 1
        assert f"{url}/ops/ops/status/ready answered HTTP 404" in result.output


def test_passwords_in_the_url_are_never_printed(make_app: AppFactory) -> None:
    app, _, _ = make_app()
    runner = app.test_cli_runner()
    port = free_port()
    for command in ("report", "check", "reset"):
        result = runner.invoke(
            args=[
                "perfkit",
                command,
                "--url",
                f"http://admin:S3cret%21pw@127.0.0.1:{port}/",
                "--timeout",
                "1",
            ]
        )
        assert result.exit_code == 1
        assert f"Could not reach http://127.0.0.1:{port}/health" in result.output
        assert "S3cret" not in result.output and "admin" not in result.output
    for bad in ("ftp://u:S3cretpw@host/", "http://u:S3cretpw@host:port/", "http://u:S3cretpw@/"):
        result = runner.invoke(args=["perfkit", "report", "--url", bad])
        assert result.exit_code == 1
        assert "S3cret" not in result.output and "Traceback" not in result.output
        assert "URL" in result.output


def test_userinfo_is_sent_as_basic_auth_and_hostile_messages_are_cleaned(
    make_app: AppFactory,
) -> None:
    from flask import request

    app, _, _ = make_app()
    seen: list[tuple[str | None, str | None]] = []

    @app.before_request
    def hostile() -> t.Any:
        auth = request.authorization
        seen.append((auth.username, auth.password) if auth else (None, None))
        message = "\x1b[2J\x1b[31mno entry for S3cretpw\x07" + "x" * 2000
        return {"error": "no", "message": message}, 403

    with serving(app) as url:
        parts = url.split("//")
        result = app.test_cli_runner().invoke(
            args=["perfkit", "report", "--url", f"{parts[0]}//ops:S3cretpw@{parts[1]}"]
        )
    assert seen == [("ops", "S3cretpw")]
    assert result.exit_code == 1
    assert f"{url}/health/profiling answered HTTP 403: [2J [31mno entry for ***" in result.output
    assert "S3cretpw" not in result.output and "\x1b" not in result.output
    assert "\x07" not in result.output and len(result.output) < 700


def test_redact_url() -> None:
    from flask_perfkit.cli import redact_url

    assert redact_url("http://u:pw@h:1/p?q=1") == "http://***@h:1/p?q=1"
    assert redact_url("https://token@h/") == "https://***@h/"
    assert redact_url("http://h/a@b") == "http://h/a@b"
    assert redact_url("http://h:5000") == "http://h:5000"
    assert redact_url("u:p@ss@h/x@y") == "***@h/x@y"
    assert redact_url("//u:pw@h") == "//***@h"


def test_report_columns_stay_apart_with_long_endpoint_names() -> None:
    from flask_perfkit.cli import format_report

    long = "api.projects_with_clients_lazy_and_a_very_long_blueprint_name"
    report = {
        "status": "warn",
        "summary": {
            "since": "2026-01-01T00:00:00.000Z",
            "total_queries": 30,
            "avg_ms": 1.0,
            "slow_percentage": 0,
            "very_slow_percentage": 0,
            "errors": 0,
            "patterns": 2,
            "evictions": 0,
        },
        "top_patterns": [],
        "slow_queries": [
            {"duration_ms": 120.0, "endpoint": None, "query": "SELECT ?"},
            {"duration_ms": 130.0, "endpoint": long, "query": "SELECT ?"},
        ],
        "n_plus_one": [
            {"count": 20, "endpoint": long, "query": "SELECT clients.id FROM clients"},
            {"count": 7, "endpoint": "api.x", "query": "SELECT tags.id FROM tags"},
        ],
        "recommendations": [],
    }
    lines = format_report(report).splitlines()
    start = lines.index("N+1 suspects")
    rows = lines[start + 1 : start + 4]
    assert rows[0].split() == ["count", "endpoint", "query"]
    columns = {row.index("SELECT") for row in rows[1:]} | {rows[0].index("query")}
    assert len(columns) == 1
    assert all(row[: row.index("SELECT")].endswith("  ") for row in rows[1:])
    assert rows[1].split()[1].endswith("...") and len(rows[1].split()[1]) == 40
    slow = lines[lines.index("Recent slow queries") + 1 :][:3]
    assert len({row.index("query") if "query" in row else row.index("SELECT") for row in slow}) == 1
    assert slow[1].split()[1] == "-"


def test_redirects_elsewhere_never_receive_the_token(
    make_app: AppFactory, served: tuple[Flask, SQLAlchemy, str]
) -> None:
    from flask import redirect
    from flask import request

    target, target_url = served[0], served[2]
    seen: list[str | None] = []

    @target.before_request
    def record() -> None:
        seen.append(request.headers.get("Authorization"))

    front, _, _ = make_app(PERFKIT_ADMIN_TOKEN=TOKEN)

    @front.before_request
    def moved() -> t.Any:
        if request.path == "/health/ready":
            return redirect(f"{target_url}/health/ready", 307)
        if request.path == "/health/profiling":
            return redirect("/health/moved-here", 307)
        if request.path == "/health/moved-here":
            seen.append(request.headers.get("Authorization"))
            return {"error": "no", "message": "seen"}, 403
        return None

    with serving(front) as front_url:
        runner = front.test_cli_runner()
        result = runner.invoke(args=["perfkit", "check", "--url", front_url])
        assert result.exit_code == 0, result.output
        result = runner.invoke(args=["perfkit", "report", "--url", front_url])
        assert "answered HTTP 403: seen" in result.output
    assert seen == [None, f"Bearer {TOKEN}"]


def test_a_timeout_must_be_positive(make_app: AppFactory) -> None:
    app, _, _ = make_app()
    for value in ("0", "-1", "nan", "x"):
        result = app.test_cli_runner().invoke(
            args=["perfkit", "report", "--url", "http://127.0.0.1:1", "--timeout", value]
        )
        assert result.exit_code == 2 and "--timeout" in result.output


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:99999", "its port must be a number from 1 to 65535"),
        ("http://user:pw-in-url@127.0.0.1:abc", "its port must be a number from 1 to 65535"),
        ("127.0.0.1:0", "its port must be a number from 1 to 65535"),
        ("http://[::1", "Invalid IPv6 URL"),
    ],
)
def test_an_invalid_url_says_why(make_app: AppFactory, url: str, reason: str) -> None:
    app, _, _ = make_app()
    for command in ("report", "check", "reset"):
        result = app.test_cli_runner().invoke(args=["perfkit", command, "--url", url])
        assert result.exit_code == 1
        assert f"is not valid: {reason}." in result.output
        assert "pw-in-url" not in result.output
        assert "Traceback" not in result.output


def test_a_wrong_token_is_told_apart_from_a_missing_one(
    make_app: AppFactory, served: tuple[Flask, SQLAlchemy, str]
) -> None:
    _, _, url = served
    # A command run from an app without a token of its own sends none.
    tokenless, _, _ = make_app()
    runner = tokenless.test_cli_runner()
    wrong = runner.invoke(args=["perfkit", "reset", "--url", url, "--token", "wrong"])
    assert wrong.exit_code == 1
    assert "The Authorization header of this request was not accepted." in wrong.output
    missing = runner.invoke(args=["perfkit", "reset", "--url", url], env={"PERFKIT_URL": ""})
    assert missing.exit_code == 1
    assert "answered HTTP 401" in missing.output
    assert "not accepted" not in missing.output

    wrong = runner.invoke(args=["perfkit", "report", "--url", url, "--token", "wrong"])
    assert wrong.exit_code == 1
    assert "did not accept the credentials sent" in wrong.output
    assert "wrong" not in wrong.output
    missing = runner.invoke(args=["perfkit", "report", "--url", url])
    assert missing.exit_code == 1
    assert "pass --token, or set PERFKIT_ADMIN_TOKEN" in missing.output
