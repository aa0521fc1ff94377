"""What registering PerfKit adds to an app: shared health routes, and nothing of the app's own."""

from __future__ import annotations

import subprocess
import sys

import pytest
import sqlalchemy as sa
from flask import Flask
from flask import url_for
from flask_sqlalchemy import SQLAlchemy
from werkzeug.routing import Rule

from flask_perfkit import PerfKit
from flask_perfkit._state import get_state
from flask_perfkit.cache import MISS


def _endpoints(app: Flask) -> dict[str, str]:
    return {
        r.endpoint: r.rule for r in app.url_map.iter_rules() if r.endpoint.startswith("perfkit.")
    }


def test_health_routes_are_the_same_on_every_app_and_build_urls() -> None:
    perfkit = PerfKit()
    apps = [Flask(f"app{i}") for i in range(3)]
    apps[2].config["PERFKIT_HEALTH_URL_PREFIX"] = "/ops/health"
    for app in apps:
        perfkit.init_app(app)
    first, second, moved = (_endpoints(app) for app in apps)
    assert len(first) >= 14 and first == second
    assert moved == {
        name: rule.replace("/health", "/ops/health", 1) for name, rule in first.items()
    }
    for app, prefix in ((apps[1], "/health"), (apps[2], "/ops/health")):
        with app.test_request_context():
            assert url_for("perfkit.ready") == f"{prefix}/ready"
            assert url_for("perfkit.live", _external=True) == f"http://localhost{prefix}"
            assert (
                url_for("perfkit.profiling_queries", limit=5)
                == f"{prefix}/profiling/queries?limit=5"
            )
        client = app.test_client()
        assert client.get(prefix).status_code == 200
        assert client.get(f"{prefix}/ready").status_code == 200
        assert client.get(f"{prefix}/ready/").status_code == 404
        assert client.post(f"{prefix}/profiling/reset").status_code == 403
        assert client.get(f"{prefix}/profiling/reset").status_code == 405
        assert client.open(f"{prefix}/ready", method="OPTIONS").status_code == 200


def test_the_apps_rule_class_is_kept_and_used() -> None:
    class MyRule(Rule):
        pass

    class MyApp(Flask):
        url_rule_class = MyRule

    app = MyApp(__name__)
    other = Flask(__name__)
    PerfKit(app)
    PerfKit(other)
    assert "url_rule_class" not in vars(app) and app.url_rule_class is MyRule
    assert other.url_rule_class is Rule
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("perfkit.")]
    assert rules and all(isinstance(r, MyRule) for r in rules)

    @app.get("/mine")
    def mine() -> str:
        return "mine"

    assert type(app.url_map._rules_by_endpoint["mine"][0]) is MyRule
    assert app.test_client().get("/health/ready").status_code == 200


def test_perfkits_own_cache_leaves_the_templates_alone() -> None:
    app = Flask(__name__)
    PerfKit(app)
    assert not any("cache" in name.lower() for name in app.jinja_env.extensions)


def _sqlite_app(name: str, perfkit: PerfKit, db: SQLAlchemy) -> Flask:
    app = Flask(name)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    perfkit.init_app(app, db=db)
    db.init_app(app)
    return app


def test_a_new_engine_is_counted_and_profiled_from_its_first_connection() -> None:
    db = SQLAlchemy()
    perfkit = PerfKit()
    app = _sqlite_app("registration_first_connect", perfkit, db)
    with app.app_context():
        monitor = get_state().database.monitors["default"]
        assert set(monitor.event_counts().values()) == {0}
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 41 + 1")).scalar() == 42
        counts = monitor.event_counts()
        assert counts["first_connect"] == 1 and counts["connect"] == 1
        assert counts["checkout"] == 1 and counts["checkin"] == 1
        perfkit.profiler.flush_pending()
        assert perfkit.profiler.total_calls == 1
        with db.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        assert monitor.event_counts()["checkout"] == 2
        perfkit.profiler.flush_pending()
        assert perfkit.profiler.total_calls == 2


def test_a_monitor_removed_before_the_first_connection_never_listens() -> None:
    db = SQLAlchemy()
    perfkit = PerfKit()
    app = _sqlite_app("registration_removed", perfkit, db)
    with app.app_context():
        monitor = get_state().database.monitors["default"]
        monitor.remove()
        with db.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        assert set(monitor.event_counts().values()) == {0}
        perfkit.profiler.flush_pending()
        assert perfkit.profiler.total_calls == 0
        assert monitor.attach() is False


def test_a_cache_type_mistake_raises_in_init_app_on_every_app() -> None:
    perfkit = PerfKit()
    for name in ("registration_cache_a", "registration_cache_b"):
        app = Flask(name)
        app.config["CACHE_TYPE"] = "NoSuchBackendOfPerfKitTests"
        with pytest.raises(ImportError):
            perfkit.init_app(app)


def test_apps_with_the_same_cache_config_get_backends_of_their_own() -> None:
    perfkit = PerfKit()
    apps = [Flask(f"registration_own_cache_{i}") for i in range(3)]
    for app in apps:
        app.config["CACHE_DEFAULT_TIMEOUT"] = 123
        perfkit.init_app(app)
    for i, app in enumerate(apps):
        with app.app_context():
            assert perfkit.cache.get("registration-key") is MISS
            assert perfkit.cache.set("registration-key", i)
    backends = set()
    for i, app in enumerate(apps):
        with app.app_context():
            assert perfkit.cache.get("registration-key") == i
            backends.add(id(perfkit.cache.backend))
            assert perfkit.cache.backend.default_timeout == 123
    assert len(backends) == 3


def test_cache_config_values_without_a_repr_still_build_a_backend() -> None:
    class Opaque:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    perfkit = PerfKit()
    for name in ("registration_opaque_a", "registration_opaque_b"):
        app = Flask(name)
        app.config["CACHE_REGISTRATION_OPAQUE"] = Opaque()
        perfkit.init_app(app)
        with app.app_context():
            assert perfkit.cache.set("registration-opaque", name)
            assert perfkit.cache.get("registration-opaque") == name


def test_the_engine_plugin_is_found_without_importing_perfkit_first() -> None:
    code = (
        "import sqlalchemy as sa, sys\n"
        "engine = sa.create_engine('sqlite://', plugins=['flask_perfkit'])\n"
        "print(type(engine).__name__, 'flask_perfkit.pool' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == ["Engine", "True"]
