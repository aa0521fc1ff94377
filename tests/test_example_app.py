from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from example_app import create_app
from example_app.models import db


@pytest.fixture
def example(tmp_path: Path) -> Iterator[Flask]:
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'example.db'}", "TESTING": True}
    )
    result = app.test_cli_runner().invoke(args=["seed", "--posts", "300"])
    assert result.exit_code == 0, result.output
    assert "300 posts" in result.output
    yield app
    with app.app_context():
        db.engine.dispose()


ADMIN = "Bearer dev-only-admin-token"


@pytest.fixture
def example_client(example: Flask) -> FlaskClient:
    """A client that sends the example's admin token, as the README tells users to."""
    client = example.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = ADMIN
    return client


def test_seed_is_idempotent(example: Flask) -> None:
    result = example.test_cli_runner().invoke(args=["seed"])
    assert result.exit_code == 0
    assert "nothing to do" in result.output


def test_api_lists_and_pages_posts(example_client: FlaskClient) -> None:
    assert example_client.get("/").get_json()["endpoints"]["health"] == "/health"
    first = example_client.get("/posts?page_size=5").get_json()
    assert first["metadata"]["strategy"] == "offset" and first["metadata"]["total"] == 300
    second = example_client.get("/posts?page=2&page_size=5").get_json()["items"]
    assert len(first["items"]) == 5 and len(second) == 5
    assert not {p["id"] for p in first["items"]} & {p["id"] for p in second}
    stamps = [p["created_at"] for p in first["items"] + second]
    assert stamps == sorted(stamps, reverse=True)
    cursor = first["metadata"]["next_cursor"]
    switched = example_client.get(f"/posts?page_size=5&cursor={cursor}").get_json()
    assert switched["metadata"]["strategy"] == "cursor" and switched["items"] == second
    assert len(example_client.get("/clients").get_json()["items"]) == 20


def test_the_three_post_lists_read_the_same_rows(example_client: FlaskClient) -> None:
    pages = example_client.get("/posts/pages?page_size=50&page=6").get_json()
    assert pages["metadata"]["total_pages"] == 6 and not pages["metadata"]["has_next"]
    assert pages["metadata"]["next_cursor"] is None
    feed: list[int] = []
    url = "/posts/feed?page_size=50"
    while url:
        body = example_client.get(url).get_json()
        assert body["metadata"]["strategy"] == "cursor"
        feed += [p["id"] for p in body["items"]]
        cursor = body["metadata"]["next_cursor"]
        url = f"/posts/feed?page_size=50&cursor={cursor}" if cursor else ""
    offset = [
        p["id"]
        for n in range(1, 7)
        for p in example_client.get(f"/posts/pages?page_size=50&page={n}").get_json()["items"]
    ]
    assert feed == offset and sorted(feed) == list(range(1, 301))


def test_bad_input_is_a_400_naming_the_parameter(example_client: FlaskClient) -> None:
    response = example_client.get("/posts?page_size=abc")
    assert response.status_code == 400
    assert response.get_json()["param"] == "page_size"
    assert example_client.get("/posts?page=0").get_json()["param"] == "page"
    assert example_client.get("/posts/feed?cursor=forged").get_json()["error"] == "invalid_cursor"


def test_missing_rows_are_a_json_404(example_client: FlaskClient) -> None:
    response = example_client.get("/clients/999999")
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_health_endpoints_are_mounted(example_client: FlaskClient) -> None:
    live = example_client.get("/health")
    assert live.status_code == 200 and live.get_json() == {"status": "pass"}
    database = example_client.get("/health/database").get_json()
    assert database["status"] == "pass"
    assert database["engines"]["default"]["pool"]["pool_class"] == "QueuePool"
    assert database["engines"]["default"]["pool"]["size"] == 20
    full = example_client.get("/health/full").get_json()
    assert set(full["components"]) == {"database", "cache", "profiling"}
    metrics = example_client.get("/health/metrics")
    assert metrics.status_code == 200
    assert "perfkit_query_duration_seconds_bucket" in metrics.get_data(as_text=True)


def test_the_lazy_view_is_an_n_plus_one_suspect_and_its_twin_is_not(
    example_client: FlaskClient,
) -> None:
    lazy = example_client.get("/projects/with-clients-lazy").get_json()["items"]
    eager = example_client.get("/projects/with-clients").get_json()["items"]
    assert lazy == eager
    suspects = example_client.get("/health/profiling/n-plus-one").get_json()["n_plus_one"]
    assert [s["endpoint"] for s in suspects] == ["api.projects_with_clients_lazy"]
    assert "clients" in suspects[0]["query"]
    assert suspects[0]["count"] == 20


def test_list_and_detail_endpoints_are_cached_and_dropped_on_commit(
    example: Flask, example_client: FlaskClient
) -> None:
    from example_app.models import Client

    first = example_client.get("/clients/1").get_json()
    assert example_client.get("/clients/1").get_json() == first
    assert example_client.get("/clients").status_code == 200
    assert example_client.get("/clients").status_code == 200
    tiers = example_client.get("/health/cache").get_json()["tiers"]
    assert tiers["medium"]["hits"] == 2
    with example.app_context():
        found = db.session.get(Client, 1)
        assert found is not None
        found.name = "Renamed"
        db.session.commit()
    assert example_client.get("/clients/1").get_json()["name"] == "Renamed"


def test_a_parameter_the_list_cannot_honour_is_a_400(example_client: FlaskClient) -> None:
    response = example_client.get("/posts/feed?page=2")
    assert response.status_code == 400
    assert response.get_json()["param"] == "page"
    assert "next_cursor" in response.get_json()["message"]
    first = example_client.get("/posts/feed?page_size=5").get_json()
    cursor = first["metadata"]["next_cursor"]
    response = example_client.get(f"/posts/pages?cursor={cursor}")
    assert response.status_code == 400
    assert response.get_json()["param"] == "cursor"
    # Empty values are absent, and on an automatic list a cursor wins over a page number.
    assert example_client.get("/posts/feed?page=&page_size=5").get_json() == first
    assert example_client.get("/posts/pages?cursor=").status_code == 200
    switched = example_client.get(f"/posts?page=4&page_size=5&cursor={cursor}").get_json()
    assert switched["metadata"]["strategy"] == "cursor"
    assert (
        switched["items"]
        == example_client.get(f"/posts/feed?page_size=5&cursor={cursor}").get_json()["items"]
    )


def test_every_endpoint_the_readme_lists_is_served(example: Flask) -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    paths = set(re.findall(r"`(?:GET )?(/health[a-z/-]*)`", readme))
    assert {"/health", "/health/ready", "/health/metrics", "/health/profiling"} <= paths
    client = example.test_client()
    for path in sorted(paths):
        anonymous = client.get(path)
        assert anonymous.status_code in (200, 401), path
        response = client.get(path, headers={"Authorization": ADMIN})
        assert response.status_code == 200, (path, response.get_data(as_text=True)[:200])
    assert "perfkit_query_duration_seconds" in client.get(
        "/health/metrics", headers={"Authorization": ADMIN}
    ).get_data(as_text=True)
    # Without the token only statuses are shown.
    assert client.get("/health/database").get_json() == {
        "status": "pass",
        "checks": {"db": {"status": "pass"}, "db:connections": {"status": "pass"}},
    }


def test_the_example_runs_flask_commands_without_warnings() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERFKIT_")}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "example_app", "--help"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent.parent,
        env={**env, "PYTHONWARNINGS": "error::UserWarning"},
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "perfkit" in result.stdout
    assert result.stderr == ""


def test_index_lists_no_health_urls_without_the_blueprint(tmp_path: Path) -> None:
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'unmounted.db'}",
            "TESTING": True,
            "PERFKIT_HEALTH_URL_PREFIX": None,
        }
    )
    try:
        response = app.test_client().get("/")
        assert response.status_code == 200
        endpoints = response.get_json()["endpoints"]
        assert endpoints["posts"] == "/posts"
        assert "health" not in endpoints and "ready" not in endpoints
    finally:
        with app.app_context():
            db.engine.dispose()
