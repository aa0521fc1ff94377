"""An example content API that uses flask-perfkit.

Run it with ``make run``, or ``flask --app example_app seed`` then
``flask --app example_app run``. Environment variables:

``DATABASE_URL``
    A SQLAlchemy URL; SQLite in the instance folder by default, for example
    ``postgresql+psycopg://postgres@127.0.0.1/test``.
``CACHE_REDIS_URL``
    Use Redis as the cache backend instead of the in-process SimpleCache.
``PERFKIT_ADMIN_TOKEN``
    The bearer token that shows health details and allows the admin endpoints;
    ``dev-only-admin-token`` by default, as the documentation tells apps to set one.
``PERFKIT_HEALTH_SHOW_DETAILS``
    ``when_authorized`` by default, the production setting: send the token to see details.
    ``always`` shows them to anyone, which is handy for exploring in a browser.
"""

from __future__ import annotations

import os
import typing as t

from flask import Flask
from werkzeug.exceptions import HTTPException

from flask_perfkit import APIError
from flask_perfkit import PerfKit

from .models import db

perfkit = PerfKit()


def create_app(test_config: t.Mapping[str, t.Any] | None = None) -> Flask:
    """Create the example app.

    :param test_config: Config values that override every default and environment variable.
    """
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI=os.environ.get("DATABASE_URL", "sqlite:///example.db"),
        SECRET_KEY=os.environ.get("SECRET_KEY", "dev-only-secret-key"),
        CACHE_TYPE="RedisCache" if os.environ.get("CACHE_REDIS_URL") else "SimpleCache",
        CACHE_REDIS_URL=os.environ.get("CACHE_REDIS_URL"),
        PERFKIT_HEALTH_SHOW_DETAILS=os.environ.get(
            "PERFKIT_HEALTH_SHOW_DETAILS", "when_authorized"
        ),
        PERFKIT_ADMIN_TOKEN=os.environ.get("PERFKIT_ADMIN_TOKEN") or "dev-only-admin-token",
    )
    if test_config is not None:
        app.config.from_mapping(test_config)

    # PerfKit first, so its pool options are part of each engine from the start.
    perfkit.init_app(app, db=db)
    db.init_app(app)

    from .seed import seed_command
    from .views import bp

    app.register_blueprint(bp)
    app.cli.add_command(seed_command)

    @app.errorhandler(HTTPException)
    def json_error(error: HTTPException) -> t.Any:
        if isinstance(error, APIError):
            return error.get_response()
        code = (error.name or "error").lower().replace(" ", "_")
        return {"error": code, "message": error.description}, error.code or 500

    return app
