"""What registering PerfKit adds to an app: shared health routes, and nothing of the app's own."""

from __future__ import annotations

from flask import Flask
from flask import url_for
from werkzeug.routing import Rule

from flask_perfkit import PerfKit


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
