from __future__ import annotations

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_perfkit import PerfKit

db = SQLAlchemy()
perfkit = PerfKit()


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI="sqlite:///app.db",
        SECRET_KEY="change-me",
        PERFKIT_POOL_SIZE=10,
    )
    # PerfKit first: its pool options become part of each engine as it is created.
    perfkit.init_app(app, db=db)
    db.init_app(app)
    return app
