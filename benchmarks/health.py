"""The cost of the health endpoints against a bare Flask JSON endpoint.

One app on a SQLite file database with Flask-SQLAlchemy and PerfKit, against a JSON view of
a plain Flask app. Requests go straight to the WSGI app with a prebuilt environ, so the
harness costs the same for every case.
"""

from __future__ import annotations

import tempfile
import typing as t
from pathlib import Path

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from werkzeug.test import EnvironBuilder

from flask_perfkit import PerfKit

from ._harness import Case
from ._harness import measure
from ._harness import report


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


def run() -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        app = Flask(__name__)
        app.config.update(
            SQLALCHEMY_DATABASE_URI=f"sqlite:///{Path(tmp) / 'bench.db'}",
            PERFKIT_HEALTH_SHOW_DETAILS="always",
        )
        db = SQLAlchemy()
        PerfKit(app, db=db)
        db.init_app(app)

        # The baseline is a separate app without PerfKit, as a bare Flask service would be.
        plain = Flask("plain")

        @plain.get("/bare")
        def bare() -> dict[str, str]:
            return {"status": "pass"}

        cases = [
            Case("GET /bare (plain Flask JSON view)", _caller(plain, "/bare")),
            Case(
                "GET /health",
                _caller(app, "/health"),
                baseline="GET /bare (plain Flask JSON view)",
                target=1.5,
            ),
            Case(
                "GET /health/database",
                _caller(app, "/health/database"),
                baseline="GET /bare (plain Flask JSON view)",
                target=3.0,
            ),
            Case(
                "GET /health/ready",
                _caller(app, "/health/ready"),
                baseline="GET /bare (plain Flask JSON view)",
            ),
        ]
        results = measure(cases, number=1000, repeat=15)
        with app.app_context():
            db.engine.dispose()
    return report(
        "Health endpoints (SQLite file, details shown)",
        results,
        note="The database probe runs once per PERFKIT_HEALTH_CHECK_TTL (1 s); other calls"
        " reuse its result.",
    )
