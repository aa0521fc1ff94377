from __future__ import annotations

import json
import threading
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


@pytest.fixture
def served(make_app: AppFactory) -> Iterator[tuple[Flask, SQLAlchemy, str]]:
    app, db, _ = make_app("sqlite://", PERFKIT_ADMIN_TOKEN=TOKEN, PERFKIT_SLOW_QUERY_MS=0)

    @app.get("/work")
    def work() -> str:
        with db.engine.connect() as conn:
            for i in range(6):
                conn.execute(sa.text("SELECT :i AS value"), {"i": i})
        return "ok"

    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, db, f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(5)


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
        assert perfkit.profiler.summary()["total_queries"] == 1
    result = app.test_cli_runner().invoke(args=["perfkit", "reset"])
    assert result.exit_code == 0, result.output
    assert "cleared 1 cache entries" in result.output
    with app.app_context():
        assert perfkit.profiler.summary()["total_queries"] == 0
        assert perfkit.cache.stats()["medium"]["misses"] == 0
        tripled(1)
    assert calls == [1, 1]


def test_reset_with_url_resets_the_instance(served: tuple[Flask, SQLAlchemy, str]) -> None:
    app, _, url = served
    client = app.test_client()
    client.get("/work")
    perfkit = app.extensions["perfkit"]
    with app.app_context():
        assert perfkit.profiler.summary()["total_queries"] == 6
    result = app.test_cli_runner().invoke(args=["perfkit", "reset", "--url", url])
    assert result.exit_code == 0, result.output
    assert "POST /profiling/reset" in result.output
    with app.app_context():
        assert perfkit.profiler.summary()["total_queries"] == 0
    result = app.test_cli_runner().invoke(
        args=["perfkit", "reset", "--url", url, "--token", "wrong"]
    )
    assert result.exit_code == 1
    assert "HTTP 401" in result.output
