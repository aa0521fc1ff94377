"""The cost of registering PerfKit on an app, against the same app without it.

An app factory as tests and some deployments call it, once per app: a Flask app with
Flask-SQLAlchemy on an in-memory SQLite database and a module-level extension instance, with
and without ``perfkit.init_app``. A suite that builds an app per test pays this on every test.
"""

from __future__ import annotations

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_perfkit import PerfKit

from ._harness import Case
from ._harness import measure
from ._harness import report

WITHOUT = "app + Flask-SQLAlchemy"

db = SQLAlchemy()
perfkit = PerfKit()


def _without() -> Flask:
    app = Flask("bench")
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    db.init_app(app)
    return app


def _with() -> Flask:
    app = Flask("bench")
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    perfkit.init_app(app, db=db)
    db.init_app(app)
    return app


def _with_no_health() -> Flask:
    app = Flask("bench")
    app.config.update(SQLALCHEMY_DATABASE_URI="sqlite://", PERFKIT_HEALTH_URL_PREFIX=None)
    perfkit.init_app(app, db=db)
    db.init_app(app)
    return app


def run() -> list[str]:
    cases = [
        Case(WITHOUT, _without),
        Case("... + PerfKit", _with, baseline=WITHOUT, target=2.0),
        Case("... + PerfKit, health blueprint not mounted", _with_no_health, baseline=WITHOUT),
    ]
    return report(
        "App creation (one app per call)", measure(cases, number=50, repeat=21, warmup=20)
    )
