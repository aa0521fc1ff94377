from __future__ import annotations

import datetime
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


def test_pagination_example_walks_with_cursors() -> None:
    namespace: dict[str, t.Any] = runpy.run_path(str(EXAMPLES / "pagination.py"))
    app: Flask = namespace["create_app"]()
    db, post = namespace["db"], namespace["Post"]
    stamp = datetime.datetime(2026, 1, 1)
    with app.app_context():
        db.create_all()
        db.session.add_all(post(title=f"t{i}", created_at=stamp) for i in range(1, 8))
        db.session.commit()
    client = app.test_client()
    first = client.get("/posts?page_size=3").get_json()
    assert first["metadata"]["total"] == 7 and first["metadata"]["strategy"] == "offset"
    cursor = first["metadata"]["next_cursor"]
    second = client.get(f"/posts?page_size=3&cursor={cursor}").get_json()
    assert second["metadata"]["strategy"] == "cursor"
    # Every post shares a timestamp: the primary key orders them, descending like created_at.
    assert [p["id"] for p in first["items"] + second["items"]] == [7, 6, 5, 4, 3, 2]
    assert client.get("/posts?page=0").get_json()["param"] == "page"
