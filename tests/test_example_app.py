from __future__ import annotations

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


@pytest.fixture
def example_client(example: Flask) -> FlaskClient:
    return example.test_client()


def test_seed_is_idempotent(example: Flask) -> None:
    result = example.test_cli_runner().invoke(args=["seed"])
    assert result.exit_code == 0
    assert "nothing to do" in result.output


def test_api_lists_and_pages_posts(example_client: FlaskClient) -> None:
    assert example_client.get("/").get_json()["endpoints"]["health"] == "/health"
    first = example_client.get("/posts?limit=5").get_json()["items"]
    second = example_client.get("/posts?limit=5&offset=5").get_json()["items"]
    assert len(first) == 5 and len(second) == 5
    assert not {p["id"] for p in first} & {p["id"] for p in second}
    stamps = [p["created_at"] for p in first]
    assert stamps == sorted(stamps, reverse=True)
    assert len(example_client.get("/clients").get_json()["items"]) == 20


def test_bad_input_is_a_400_naming_the_parameter(example_client: FlaskClient) -> None:
    response = example_client.get("/posts?limit=abc")
    assert response.status_code == 400
    assert response.get_json()["param"] == "limit"
    assert example_client.get("/posts?offset=-1").get_json()["param"] == "offset"


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
