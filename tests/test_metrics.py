"""``GET /health/metrics``, read back with prometheus_client's own parser."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families

from flask_perfkit import cache_short
from flask_perfkit.metrics import SYNC_SECONDS
from tests.conftest import POSTGRES_URL
from tests.conftest import AppFactory
from tests.conftest import free_port
from tests.conftest import require

TOKEN = "metrics-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(app: Flask) -> Samples:
    """Every sample of ``/health/metrics``, keyed by name and sorted labels."""
    response = app.test_client().get("/health/metrics", headers=AUTH)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type.startswith("text/plain; version=0.0.4")
    assert response.headers["Cache-Control"] == "no-store"
    samples: Samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


@cache_short
def doubled(x: int) -> int:
    return 2 * x


def test_queries_by_operation_in_a_histogram(make_app: AppFactory) -> None:
    app, db, _ = make_app(PERFKIT_ADMIN_TOKEN=TOKEN, PERFKIT_SLOW_QUERY_MS=0)

    @app.get("/work")
    def work() -> str:
        db.session.execute(sa.text("CREATE TABLE IF NOT EXISTS t (x INTEGER)"))
        for i in range(3):
            db.session.execute(sa.text("INSERT INTO t (x) VALUES (:x)"), {"x": i})
        db.session.execute(sa.text("UPDATE t SET x = x + 1"))
        for _ in range(5):
            db.session.execute(sa.text("SELECT x FROM t"))
        db.session.execute(sa.text("WITH a AS (SELECT 1 AS y) SELECT y FROM a"))
        db.session.commit()
        return "ok"

    app.test_client().get("/work")
    samples = scrape(app)
    count = "perfkit_query_duration_seconds_count"
    assert value(samples, count, operation="select") == 6
    assert value(samples, count, operation="insert") == 3
    assert value(samples, count, operation="update") == 1
    assert value(samples, count, operation="delete") == 0
    assert value(samples, count, operation="other") == 1
    buckets = sorted(
        (float(dict(labels)["le"]), v)
        for (name, labels), v in samples.items()
        if name == "perfkit_query_duration_seconds_bucket" and ("operation", "select") in labels
    )
    counts = [v for _, v in buckets]
    assert counts == sorted(counts), "buckets must be cumulative"
    assert buckets[-1] == (float("inf"), 6)
    assert value(samples, "perfkit_query_duration_seconds_sum", operation="select") > 0
    # PERFKIT_SLOW_QUERY_MS=0 makes every statement slow.
    assert value(samples, "perfkit_slow_queries_total") == 11
    assert value(samples, "perfkit_n_plus_one_requests_total") == 1
    assert value(samples, "perfkit_n_plus_one_suspects") == 1


def test_counts_survive_eviction_and_labels_stay_bounded(make_app: AppFactory) -> None:
    app, db, _ = make_app(PERFKIT_ADMIN_TOKEN=TOKEN, PERFKIT_MAX_PATTERNS=5)
    with app.app_context():
        for i in range(300):
            db.session.execute(sa.text(f"SELECT {i} AS c{i}"))
    samples = scrape(app)
    assert value(samples, "perfkit_query_duration_seconds_count", operation="select") == 300
    assert value(samples, "perfkit_pattern_evictions_total") > 0
    names = {name for name, _ in samples}
    assert len(samples) < 200, names
    assert not any("SELECT" in str(labels) for _, labels in samples)


def test_cache_pool_and_health_metrics(make_app: AppFactory) -> None:
    require("PostgreSQL", POSTGRES_URL)
    app, db, _ = make_app(POSTGRES_URL, PERFKIT_ADMIN_TOKEN=TOKEN, PERFKIT_POOL_SIZE=4)
    with app.app_context():
        doubled(1)
        doubled(1)
        doubled(2)
        held = [db.engine.connect() for _ in range(2)]
        try:
            samples = scrape(app)
        finally:
            for conn in held:
                conn.close()
    assert value(samples, "perfkit_cache_requests_total", tier="short", result="hit") == 1
    assert value(samples, "perfkit_cache_requests_total", tier="short", result="miss") == 2
    assert value(samples, "perfkit_cache_requests_total", tier="long", result="hit") == 0
    assert value(samples, "perfkit_cache_errors_total", tier="short") == 0
    assert value(samples, "perfkit_db_pool_size", bind="default") == 4
    assert value(samples, "perfkit_db_pool_checked_out", bind="default") == 2
    utilization = value(samples, "perfkit_db_pool_utilization", bind="default")
    assert utilization == pytest.approx(2 / 44, abs=1e-3)
    assert value(samples, "perfkit_db_checkout_timeouts_total") == 0
    assert value(samples, "perfkit_health_status", check="db", status="pass") == 1
    assert value(samples, "perfkit_health_status", check="db", status="fail") == 0


def test_cache_errors_and_failing_checks_show(make_app: AppFactory) -> None:
    app, _, _ = make_app(
        PERFKIT_ADMIN_TOKEN=TOKEN,
        CACHE_TYPE="RedisCache",
        CACHE_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
    )
    with app.app_context():
        assert doubled(4) == 8
    samples = scrape(app)
    assert value(samples, "perfkit_cache_errors_total", tier="short") >= 1
    assert value(samples, "perfkit_health_status", check="cache", status="fail") == 1
    assert value(samples, "perfkit_health_status", check="cache", status="pass") == 0


def test_without_prometheus_client_the_answer_names_the_extra(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _, _ = make_app(PERFKIT_ADMIN_TOKEN=TOKEN)
    for name in [m for m in sys.modules if m.startswith("prometheus_client")]:
        monkeypatch.setitem(sys.modules, name, None)
    response = app.test_client().get("/health/metrics", headers=AUTH)
    assert response.status_code == 501
    body = response.get_json()
    assert body["error"] == "metrics_unavailable"
    assert "flask-perfkit[prometheus]" in body["message"]


WORKER = textwrap.dedent(
    """
    import sys
    import sqlalchemy as sa
    from flask import Flask
    from flask_sqlalchemy import SQLAlchemy
    from flask_perfkit import PerfKit

    app = Flask("multi_worker_app")
    app.config.update(
        SQLALCHEMY_DATABASE_URI="sqlite://", PERFKIT_ADMIN_TOKEN="metrics-token"
    )
    db = SQLAlchemy()
    PerfKit(app, db=db)
    db.init_app(app)

    @app.get("/work")
    def work():
        for _ in range(int(sys.argv[1])):
            db.session.execute(sa.text("SELECT 1"))
        return "ok"

    client = app.test_client()
    assert client.get("/work").status_code == 200
    # A scrape that reaches this worker writes its snapshot.
    response = client.get(
        "/health/metrics", headers={"Authorization": "Bearer metrics-token"}
    )
    assert response.status_code == 200
    """
)


def test_multiprocess_mode_sums_the_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "prometheus"
    directory.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    for count in (3, 4):
        subprocess.run(
            [sys.executable, "-c", WORKER, str(count)],
            env=env,
            check=True,
            timeout=60,
            cwd=Path(__file__).parent.parent,
        )
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    from flask_sqlalchemy import SQLAlchemy

    from flask_perfkit import PerfKit

    app = Flask("multi_worker_app")
    app.config.update(SQLALCHEMY_DATABASE_URI="sqlite://", PERFKIT_ADMIN_TOKEN=TOKEN)
    db = SQLAlchemy()
    PerfKit(app, db=db)
    db.init_app(app)
    with app.app_context():
        db.session.execute(sa.text("SELECT 1"))
    samples = scrape(app)
    # Counters of exited workers stay; their pool gauges go.
    assert value(samples, "perfkit_query_duration_seconds_count", operation="select") == 8
    assert value(samples, "perfkit_db_pool_checked_out", bind="default") == 0
    files = sorted(p.name for p in directory.iterdir())
    assert len([f for f in files if f.startswith("perfkit_")]) == 3, files

    other = Flask("another_app")
    other.config.update(SQLALCHEMY_DATABASE_URI="sqlite://", PERFKIT_ADMIN_TOKEN=TOKEN)
    PerfKit(other, db=SQLAlchemy())
    assert value(scrape(other), "perfkit_query_duration_seconds_count", operation="select") == 0


def test_a_worker_writes_its_snapshot_on_its_own(
    make_app: AppFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    app, db, _ = make_app()

    @app.get("/one")
    def one() -> str:
        db.session.execute(sa.text("SELECT 1"))
        return "ok"

    app.test_client().get("/one")
    path = Path(tmp_path) / f"perfkit_{_tag(app)}_{os.getpid()}.json"
    deadline = time.monotonic() + 3 * SYNC_SECONDS
    while time.monotonic() < deadline:
        if path.exists() and '"select":{"count":1' in path.read_text():
            break
        time.sleep(0.1)
    else:
        pytest.fail("the worker did not write its snapshot")


def _tag(app: Flask) -> str:
    from flask_perfkit._state import get_state
    from flask_perfkit.capabilities.metrics import MetricsCapability

    capability = get_state(app).registry[MetricsCapability.name]
    assert isinstance(capability, MetricsCapability)
    return capability.writer.tag
