"""The history behind the dashboard: points rolled up from the totals, and ``/health/history``."""

from __future__ import annotations

import functools
import json
import logging
import os
import subprocess
import sys
import textwrap
import types
import typing as t
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

import flask_perfkit.capabilities.history as history_module
import flask_perfkit.metrics
from flask_perfkit import ConfigError
from flask_perfkit import PerfKit
from flask_perfkit import cache_short
from flask_perfkit._state import get_state
from flask_perfkit.capabilities.history import HistoryCapability
from flask_perfkit.config import HistoryConfig
from flask_perfkit.history import History
from flask_perfkit.history import Reading
from flask_perfkit.history import quantile_ms
from flask_perfkit.metrics import BOUNDS
from flask_perfkit.schemas import ErrorSchema
from flask_perfkit.schemas import HistorySchema
from tests.conftest import POSTGRES_URL
from tests.conftest import AppFactory
from tests.conftest import require

TOKEN = "history-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(history_module, "time", types.SimpleNamespace(time=clock.time))
    return clock


def history_of(app: Flask) -> History:
    capability = get_state(app).registry[HistoryCapability.name]
    assert isinstance(capability, HistoryCapability)
    assert capability.history is not None
    return capability.history


def add_query_view(app: Flask, db: SQLAlchemy) -> None:
    @app.get("/q/<int:n>")
    def q(n: int) -> str:
        for i in range(n):
            db.session.execute(sa.text("SELECT :x"), {"x": i})
        return "ok"


def get_history(app: Flask, query: str = "") -> dict[str, t.Any]:
    response = app.test_client().get(f"/health/history{query}", headers=AUTH)
    assert response.status_code in (200, 503), response.get_data(as_text=True)
    assert response.content_type == "application/health+json"
    assert response.headers["Cache-Control"] == "no-store"
    body: dict[str, t.Any] = response.get_json()
    assert HistorySchema().validate(body) == {}
    return body


def test_each_interval_gets_one_point_that_counts_its_statements(
    make_app: AppFactory, clock: Clock
) -> None:
    app, db, _ = make_app(PERFKIT_ADMIN_TOKEN=TOKEN)
    add_query_view(app, db)
    client = app.test_client()
    client.get("/q/1")  # the first request rolls up the interval since start
    assert len(history_of(app).fine.points) == 1
    executed = 0
    for step, n in enumerate((3, 0, 7)):
        for _ in range(4):  # several requests within one interval add one point
            client.get(f"/q/{n}")
            executed += n
        assert len(history_of(app).fine.points) == 1 + step
        clock.now += 10
        if step < 2:
            client.get("/q/0")  # the first request after the interval rolls it up
    body = get_history(app)
    points = body["points"]
    assert len(points) == 4
    assert [p["queries"] for p in points[1:]] == [12, 0, 28]
    assert sum(p["queries"] for p in points) == executed + 1
    assert body["resolution"] == 10 and body["range"] == "1h" and body["workers"] == 1
    assert body["multiprocess"] is False
    latest = points[-1]
    assert latest["qps"] == pytest.approx(28 / 10, rel=0.01)
    count, p50, p95, p99 = latest["latency_ms"]["select"]
    assert count == 28
    assert 0 < p50 <= p95 <= p99
    assert points[2]["latency_ms"] == {}
    ((_qid, (calls, total_ms)),) = latest["patterns"].items()
    assert calls == 28 and total_ms > 0
    assert latest["pools"]["default"]["checked_out"] >= 0
    assert set(latest["cache"]) == {"short", "medium", "long"}
    assert latest["breakers"] == {"default": "closed"}
    assert body["checks"]["db"] == "pass"
    # The rollup the history request made recorded the checks it had just run.
    assert points[-1]["checks"]["db"] == "pass"


def test_ranges_pick_the_ring_and_its_points(make_app: AppFactory, clock: Clock) -> None:
    app, db, _ = make_app(PERFKIT_ADMIN_TOKEN=TOKEN)
    add_query_view(app, db)
    client = app.test_client()
    for _ in range(2 * 60 * 6):  # two hours, a request every 10 s
        client.get("/q/1")
        clock.now += 10
    fine, coarse = history_of(app).fine, history_of(app).coarse
    assert len(fine.points) == 360 and fine.dropped == 360
    assert len(coarse.points) == 120
    assert len(get_history(app, "?range=15m")["points"]) == 90
    assert len(get_history(app, "?range=1h")["points"]) == 360
    day = get_history(app, "?range=24h")
    assert day["resolution"] == 60
    assert 120 <= len(day["points"]) <= 121
    # A coarse point adds up the fine points of its minute.
    assert all(p["queries"] == 6 for p in day["points"][1:-1])


def test_a_coarse_point_shows_the_peak_of_its_minute(
    make_app: AppFactory, clock: Clock, tmp_path: Path
) -> None:
    app, db, _ = make_app(f"sqlite:///{tmp_path}/peak.db", PERFKIT_ADMIN_TOKEN=TOKEN)
    add_query_view(app, db)
    state = get_state(app)
    history = history_of(app)
    held: list[sa.Connection] = []
    with app.app_context():
        app.test_client().get("/q/1")
        assert len(history.coarse.points) == 1
        clock.now += 20
        held.extend(db.engine.connect() for _ in range(3))
        assert HistoryCapability.roll(t.cast(HistoryCapability, state.registry["history"]))
        for connection in held:
            connection.close()
        clock.now += 20
        app.test_client().get("/q/1")
        assert len(history.coarse.points) == 1
        clock.now += 30
        app.test_client().get("/q/1")
        assert len(history.coarse.points) == 2
    fine = [json.loads(p[1:])["pools"]["default"]["checked_out"] for p in history.fine.points]
    assert fine[-3] == fine[-1] + 3
    coarse = json.loads(history.coarse.points[-1][1:])
    assert coarse["pools"]["default"]["checked_out"] == fine[-3]


def test_bad_ranges_are_400_naming_the_parameter(make_app: AppFactory) -> None:
    app, _, _ = make_app(PERFKIT_ADMIN_TOKEN=TOKEN)
    client = app.test_client()
    for query in ("?range=2h", "?range=", "?range=1H", "?range=1h&range=24h", "?range=%00"):
        response = client.get(f"/health/history{query}", headers=AUTH)
        assert response.status_code == 400, query
        body = response.get_json()
        assert ErrorSchema().validate(body) == {}
        assert body["param"] == "range"


def test_the_history_is_a_detail(make_app: AppFactory) -> None:
    app, _, _ = make_app()
    assert app.test_client().get("/health/history").status_code == 403
    app, _, _ = make_app(PERFKIT_ADMIN_TOKEN=TOKEN)
    client = app.test_client()
    refused = client.get("/health/history")
    assert refused.status_code == 401
    assert refused.get_json()["error"] == "unauthorized"
    assert client.get("/health/history", headers={"Authorization": "Bearer x"}).status_code == 401
    assert client.get("/health/history", headers=AUTH).status_code == 200
    app, _, _ = make_app(PERFKIT_ADMIN_TOKEN=TOKEN, PERFKIT_HEALTH_SHOW_DETAILS="never")
    assert app.test_client().get("/health/history", headers=AUTH).status_code == 403


def test_switched_off_there_is_no_rollup_and_no_history(make_app: AppFactory) -> None:
    app, db, _ = make_app(PERFKIT_ADMIN_TOKEN=TOKEN, PERFKIT_HISTORY_ENABLED=False)
    add_query_view(app, db)
    capability = get_state(app).registry["history"]
    assert isinstance(capability, HistoryCapability) and capability.history is None
    assert capability.tick not in app.teardown_request_funcs.get(None, [])
    response = app.test_client().get("/health/history", headers=AUTH)
    assert response.status_code == 404
    assert response.get_json()["error"] == "history_disabled"


def test_a_failing_rollup_is_logged_and_never_fails_the_request(
    make_app: AppFactory, clock: Clock, monkeypatch: pytest.MonkeyPatch, caplog: t.Any
) -> None:
    app, db, _ = make_app(PERFKIT_ADMIN_TOKEN=TOKEN)
    add_query_view(app, db)

    def broken(state: t.Any) -> t.Any:
        raise RuntimeError("snapshot failed")

    monkeypatch.setattr(flask_perfkit.metrics, "snapshot", broken)
    with caplog.at_level(logging.ERROR, logger="flask_perfkit"):
        assert app.test_client().get("/q/2").status_code == 200
    assert "history rollup failed" in caplog.text
    assert history_of(app).fine.points == type(history_of(app).fine.points)()
    # It is not tried again on every request, only after an interval.
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="flask_perfkit"):
        app.test_client().get("/q/2")
    assert caplog.text == ""
    monkeypatch.undo()
    monkeypatch.setattr(history_module, "time", types.SimpleNamespace(time=clock.time))
    clock.now += 3600
    assert app.test_client().get("/q/2").status_code == 200
    assert len(history_of(app).fine.points) == 1


def test_reset_totals_give_no_negative_counts(make_app: AppFactory, clock: Clock) -> None:
    app, db, _ = make_app(PERFKIT_ADMIN_TOKEN=TOKEN)
    add_query_view(app, db)
    client = app.test_client()
    client.get("/q/9")
    clock.now += 10
    get_state(app).reset()
    client.get("/q/2")
    clock.now += 10
    points = get_history(app)["points"]
    assert [p["queries"] for p in points] == [9, 2, 0]
    assert all(p["queries"] >= 0 and p["slow"] >= 0 for p in points)


def test_cache_calls_per_tier(make_app: AppFactory, clock: Clock) -> None:
    app, _, _ = make_app(PERFKIT_ADMIN_TOKEN=TOKEN, CACHE_TYPE="SimpleCache")

    @cache_short
    def square(x: int) -> int:
        return x * x

    @app.get("/sq/<int:x>")
    def sq(x: int) -> str:
        return str(square(x))

    client = app.test_client()
    for x in (1, 1, 1, 2):
        client.get(f"/sq/{x}")
    clock.now += 10
    points = get_history(app)["points"]
    short = [p["cache"]["short"] for p in points]
    assert sum(c["hits"] for c in short) == 2 and sum(c["misses"] for c in short) == 2
    assert all(c["errors"] == 0 for c in short)
    assert all(p["cache"]["medium"] == {"hits": 0, "misses": 0, "errors": 0} for p in points)


def test_quantiles_read_between_the_bounds() -> None:
    counts = [0] * len(BOUNDS)
    # 100 durations between 256 us and 512 us, 10 between 1 ms and 2 ms.
    for i in range(len(BOUNDS)):
        if BOUNDS[i] >= 512e-6:
            counts[i] += 100
        if BOUNDS[i] >= 2.048e-3:
            counts[i] += 10
    assert 0.256 <= quantile_ms(counts, 110, 0.5) <= 0.512
    assert 1.024 <= quantile_ms(counts, 110, 0.99) <= 2.048
    # Past the last bound reads as the last bound.
    assert quantile_ms([0] * len(BOUNDS), 5, 0.5) == pytest.approx(BOUNDS[-1] * 1000)


def test_history_settings_are_checked(make_app: AppFactory) -> None:
    with pytest.raises(ConfigError, match="must be a multiple of PERFKIT_HISTORY_RESOLUTION"):
        make_app(PERFKIT_HISTORY_RESOLUTION=7)
    with pytest.raises(ConfigError, match="PERFKIT_HISTORY_RETENTION"):
        make_app(PERFKIT_HISTORY_RESOLUTION=10, PERFKIT_HISTORY_RETENTION=5)
    with pytest.raises(ConfigError, match="PERFKIT_HISTORY_COARSE_RETENTION"):
        make_app(PERFKIT_HISTORY_COARSE_RESOLUTION=60, PERFKIT_HISTORY_COARSE_RETENTION=10**8)
    with pytest.raises(ConfigError, match="PERFKIT_HISTORY_RESOLUTION must be a whole"):
        make_app(PERFKIT_HISTORY_RESOLUTION=0.5)


#: The patterns of a busy app, each with its share of the statements.
BUSY_PATTERNS = tuple(f"{i:016x}" for i in range(100))


def _busy_reading(step: int) -> Reading:
    """The totals after ``step`` intervals of an app that runs all five operations, on two
    binds, with three cache tiers and 100 patterns."""
    queries = {}
    for k, op in enumerate(("select", "insert", "update", "delete", "other")):
        count = step * 1000 // (k + 1)
        # Spread over 128 us to 16 ms: the cumulative counts grow to the total.
        buckets = [count * min(j, 7) // 7 for j in range(len(BOUNDS))]
        queries[op] = {"count": count, "sum": count * 0.002, "buckets": buckets}
    totals = {
        "queries": queries,
        "counters": {"slow": step, "very_slow": step // 2, "errors": step % 3},
        "pools": {
            bind: {"size": 20, "checked_out": step % 20, "overflow": 3, "waiters": 1}
            for bind in ("default", "analytics")
        },
        "cache": {
            tier: {"hit": step * 9, "miss": step, "errors": 0}
            for tier in ("short", "medium", "long")
        },
        "breakers": {"default": {"state": "closed"}, "analytics": {"state": "closed"}},
    }
    patterns = {
        qid: (step * (i + 1), step * 0.0012 * (i + 1)) for i, qid in enumerate(BUSY_PATTERNS)
    }
    checks = {"db": "pass", "db.analytics": "pass", "cache": "pass", "profiling": "warn"}
    return Reading(totals, patterns, checks, 1)


def test_a_day_of_history_at_the_defaults_fits_in_two_mebibytes() -> None:
    config = HistoryConfig(True, 10, 3600, 60, 86400)
    start = 1_800_000_000.0
    history = History(config, start)
    for step in range(1, 24 * 360 + 1):
        history.roll(start + step * 10, functools.partial(_busy_reading, step))
    assert len(history.fine.points) == 360 and len(history.coarse.points) == 1440
    assert history.nbytes() <= 2 * 1024 * 1024, history.nbytes()


WORKER = textwrap.dedent(
    """
    import sys
    import sqlalchemy as sa
    from flask import Flask
    from flask_sqlalchemy import SQLAlchemy
    from flask_perfkit import PerfKit

    app = Flask("history_worker_app")
    app.config.update(SQLALCHEMY_DATABASE_URI="sqlite://", PERFKIT_ADMIN_TOKEN="t")
    db = SQLAlchemy()
    PerfKit(app, db=db)
    db.init_app(app)

    @app.get("/work")
    def work():
        for _ in range(int(sys.argv[1])):
            db.session.execute(sa.text("SELECT 2"))
        return "ok"

    client = app.test_client()
    assert client.get("/work").status_code == 200
    assert client.get("/health/history", headers={"Authorization": "Bearer t"}).status_code == 200
    print("ready", flush=True)
    sys.stdin.readline()
    """
)


def test_multiprocess_mode_sums_the_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    directory = tmp_path / "prometheus"
    directory.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    workers = []
    try:
        for count in (3, 4):
            worker = subprocess.Popen(
                [sys.executable, "-c", WORKER, str(count)],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                cwd=Path(__file__).parent.parent,
            )
            workers.append(worker)
            assert worker.stdout is not None and worker.stdout.readline() == "ready\n"
        monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
        app = Flask("history_worker_app")
        app.config.update(SQLALCHEMY_DATABASE_URI="sqlite://", PERFKIT_ADMIN_TOKEN=TOKEN)
        db = SQLAlchemy()
        PerfKit(app, db=db)
        db.init_app(app)
        with app.app_context():
            db.session.execute(sa.text("SELECT 2"))
        body = get_history(app)
        assert body["multiprocess"] is True
        assert body["workers"] == 3
        (point,) = body["points"]
        assert point["queries"] == 8
        ((qid, (calls, _)),) = point["patterns"].items()
        assert calls == 8
        assert point["pools"]["default"]["checked_out"] >= 0
        # The dashboard's table sums the workers' patterns too, and says so.
        page = app.test_client().get("/health/dashboard", headers=AUTH)
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert "Summed over the workers" in html
        row = html[html.index(f'data-query-id="{qid}"') :]
        assert 'data-key="calls" data-value="8"' in row[: row.index("</tr>")]
    finally:
        for worker in workers:
            worker.communicate("\n", timeout=30)
            assert worker.returncode == 0


@pytest.mark.postgres
def test_postgres_statements_and_pool_show_in_the_history(
    make_app: AppFactory, clock: Clock
) -> None:
    require("PostgreSQL", POSTGRES_URL)
    app, db, _ = make_app(POSTGRES_URL, PERFKIT_ADMIN_TOKEN=TOKEN)
    add_query_view(app, db)
    client = app.test_client()
    client.get("/q/1")
    clock.now += 10
    for _ in range(5):
        client.get("/q/4")
    clock.now += 10
    points = get_history(app)["points"]
    assert sum(p["queries"] for p in points) >= 21
    latest = points[-1]
    assert latest["pools"]["default"]["size"] == 20
    assert latest["latency_ms"]["select"][3] > 0
