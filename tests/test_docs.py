from __future__ import annotations

import runpy
import typing as t
from pathlib import Path

import pytest
from flask import Flask

EXAMPLES = Path(__file__).parent.parent / "docs" / "examples"


def test_quickstart_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace = runpy.run_path(str(EXAMPLES / "quickstart.py"))
    app: Flask = namespace["create_app"]()
    app.instance_path = str(tmp_path / "instance")
    client = app.test_client()
    assert client.get("/health").get_json() == {"status": "pass"}
    assert client.get("/health/ready").status_code == 200
    with app.app_context():
        engine = namespace["db"].engine
        assert engine.pool.size() == 10
        engine.dispose()


def test_custom_check_example_warns_when_search_is_down() -> None:
    namespace: dict[str, t.Any] = runpy.run_path(str(EXAMPLES / "checks.py"))
    app = Flask(__name__)
    app.config["PERFKIT_HEALTH_SHOW_DETAILS"] = "always"
    namespace["perfkit"].init_app(app)
    response = app.test_client().get("/health/ready")
    body = response.get_json()
    search = body["checks"]["search"]
    assert search["componentType"] == "system"
    if search["status"] == "fail":
        assert response.status_code == 200
        assert body["status"] == "warn"
        assert search["output"] == "connection refused"
    else:
        assert body["status"] == "pass"
