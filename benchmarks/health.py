"""The cost of the health endpoints against a bare Flask JSON endpoint and a peer.

One app on a SQLite file database with Flask-SQLAlchemy, SimpleCache and PerfKit, against a
JSON view of a plain Flask app. The peer is py-healthcheck (``healthcheck`` on PyPI) on its
own Flask app with the same two checks, a ``SELECT 1`` and a cache read, and the same 1 s
result cache as PerfKit's ``PERFKIT_HEALTH_CHECK_TTL``. Requests go straight to the WSGI app
with a prebuilt environ, so the harness costs the same for every case.
"""

from __future__ import annotations

import tempfile
import typing as t
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from flask_caching import Cache
from flask_sqlalchemy import SQLAlchemy
from werkzeug.test import EnvironBuilder

from flask_perfkit import PerfKit

from ._harness import Case
from ._harness import measure
from ._harness import report

BARE = "GET /bare (plain Flask JSON view)"
PEER = "py-healthcheck, same checks"
PATTERNS = 1000


def _caller(app: Flask, path: str) -> t.Callable[[], object]:
    environ = EnvironBuilder(path=path).get_environ()
    wsgi = app.wsgi_app
    statuses: list[str] = []

    def start_response(status: str, headers: t.Any, exc_info: t.Any = None) -> t.Any:
        statuses.append(status)

    def call() -> object:
        body = b"".join(wsgi(dict(environ), start_response))
        return body

    call()
    if not statuses[-1].startswith("200"):
        raise RuntimeError(f"{path} answered {statuses[-1]}")
    return call


def _peer(uri: str, ttl: float = 1) -> Flask:
    from healthcheck import HealthCheck  # type: ignore[import-untyped]

    app = Flask("peer")
    app.config.update(SQLALCHEMY_DATABASE_URI=uri, CACHE_TYPE="SimpleCache")
    db = SQLAlchemy(app)
    cache = Cache(app)

    def database() -> tuple[bool, str]:
        db.session.execute(sa.text("SELECT 1"))
        return True, "database ok"

    def cache_read() -> tuple[bool, str]:
        cache.get("health-probe")
        return True, "cache ok"

    health = HealthCheck(success_ttl=ttl, failed_ttl=ttl)
    health.add_check(database)
    health.add_check(cache_read)
    app.add_url_rule("/healthcheck", "healthcheck", view_func=health.check)
    return app


def run() -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        uri = f"sqlite:///{Path(tmp) / 'bench.db'}"
        app = Flask(__name__)
        app.config.update(
            SQLALCHEMY_DATABASE_URI=uri,
            PERFKIT_HEALTH_SHOW_DETAILS="always",
            PERFKIT_ADMIN_TOKEN="bench",
        )
        db = SQLAlchemy()
        perfkit = PerfKit(app, db=db)
        db.init_app(app)
        peer = _peer(uri)

        # The baseline is a separate app without PerfKit, as a bare Flask service would be.
        plain = Flask("plain")

        @plain.get("/bare")
        def bare() -> dict[str, str]:
            return {"status": "pass"}

        cases = [
            Case(BARE, _caller(plain, "/bare")),
            Case("GET /health", _caller(app, "/health"), baseline=BARE, target=1.5),
            Case(
                "GET /health/database", _caller(app, "/health/database"), baseline=BARE, target=3.0
            ),
            Case("GET /health/ready", _caller(app, "/health/ready"), baseline=BARE, target=3.0),
            Case(PEER, _caller(peer, "/healthcheck"), baseline=BARE),
            Case(
                "GET /health/ready against the peer",
                _caller(app, "/health/ready"),
                baseline=PEER,
                target=1.0,
            ),
        ]
        results = measure(cases, number=1000, repeat=15)
        missed = report(
            "Health endpoints (SQLite file, SimpleCache, details shown)",
            results,
            note="Checks run once per PERFKIT_HEALTH_CHECK_TTL (1 s); other calls reuse their"
            " results. The peer caches its results for 1 s too.",
        )

        with app.app_context(), db.engine.connect() as conn:
            for i in range(PATTERNS):
                conn.execute(sa.text(f"SELECT {i} AS c{i}"))
            assert perfkit.profiler.summary().patterns == PATTERNS
        full = [
            Case(
                f"GET /health/full, {PATTERNS} patterns",
                _caller(app, "/health/full"),
                limit_us=10_000,
            ),
            Case(f"GET /health/metrics, {PATTERNS} patterns", _caller(app, "/health/metrics")),
        ]
        # Without a result cache every call runs the checks: PerfKit in a thread per check,
        # under the time budget; the peer one after another in the request, with no budget.
        uncached = Flask("uncached")
        uncached.config.update(
            SQLALCHEMY_DATABASE_URI=uri,
            PERFKIT_HEALTH_SHOW_DETAILS="always",
            PERFKIT_ADMIN_TOKEN="bench",
            PERFKIT_HEALTH_CHECK_TTL=0,
        )
        uncached_db = SQLAlchemy()
        PerfKit(uncached, db=uncached_db)
        uncached_db.init_app(uncached)
        peer_uncached = _peer(uri, ttl=0)
        missed += report(
            "Health endpoints with no result cache (every call runs the checks)",
            measure(
                [
                    Case("py-healthcheck, no cache", _caller(peer_uncached, "/healthcheck")),
                    Case(
                        "GET /health/ready, TTL 0",
                        _caller(uncached, "/health/ready"),
                        baseline="py-healthcheck, no cache",
                    ),
                ],
                number=200,
                repeat=15,
                warmup=50,
            ),
            note="PerfKit pays for a thread per check here: the price of answering within"
            " PERFKIT_HEALTH_TIMEOUT when a dependency hangs, which the peer cannot.",
        )

        missed += report(
            f"Whole-app health with {PATTERNS} recorded statement patterns",
            measure(full, number=50, repeat=15, warmup=20),
        )
        pairs = [(app, db), (uncached, uncached_db)]
        pairs += [(p, p.extensions["sqlalchemy"]) for p in (peer, peer_uncached)]
        for engine_app, engine_db in pairs:
            with engine_app.app_context():
                engine_db.engine.dispose()
    return missed
