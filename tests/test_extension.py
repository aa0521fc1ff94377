from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_perfkit import ConfigError
from flask_perfkit import NotInitializedError
from flask_perfkit import PerfKit
from flask_perfkit._state import get_state
from tests.conftest import AppFactory


def test_registers_in_app_extensions() -> None:
    app = Flask(__name__)
    perfkit = PerfKit(app)
    assert app.extensions["perfkit"] is perfkit
    assert "perfkit" in app.blueprints


def test_second_registration_raises_naming_the_fix() -> None:
    app = Flask(__name__)
    PerfKit(app)
    with pytest.raises(RuntimeError) as info:
        PerfKit().init_app(app)
    assert str(info.value) == (
        "A 'PerfKit' instance has already been registered on this Flask app. Import and use"
        " that instance instead."
    )


def test_same_instance_twice_on_one_app_raises() -> None:
    app = Flask(__name__)
    perfkit = PerfKit(app)
    with pytest.raises(RuntimeError, match="already been registered"):
        perfkit.init_app(app)


def test_db_and_engine_together_are_refused() -> None:
    app = Flask(__name__)
    with pytest.raises(ConfigError, match="either db= or engine="):
        PerfKit(app, db=SQLAlchemy(), engine=sa.create_engine("sqlite://"))


def test_one_instance_serves_several_apps_with_their_own_config() -> None:
    perfkit = PerfKit()
    first, second = Flask("first"), Flask("second")
    first.config["PERFKIT_POOL_SIZE"] = 3
    second.config["PERFKIT_HEALTH_URL_PREFIX"] = "/status"
    perfkit.init_app(first)
    perfkit.init_app(second)
    with first.app_context():
        assert perfkit.config.pool.size == 3
    with second.app_context():
        assert perfkit.config.pool.size == 20
    assert first.test_client().get("/health").status_code == 200
    assert second.test_client().get("/health").status_code == 404
    assert second.test_client().get("/status").status_code == 200


def test_prefix_none_mounts_no_blueprint() -> None:
    app = Flask(__name__)
    app.config["PERFKIT_HEALTH_URL_PREFIX"] = None
    PerfKit(app)
    assert "perfkit" not in app.blueprints
    assert app.test_client().get("/health").status_code == 404


def test_state_lookup_fails_loudly_for_an_unregistered_app() -> None:
    app = Flask(__name__)
    with app.app_context(), pytest.raises(NotInitializedError, match="Did you forget"):
        get_state()


def test_repr_names_engines_and_prefix(make_app: AppFactory) -> None:
    app, _, perfkit = make_app()
    assert repr(perfkit) == "<PerfKit apps=1>"
    with app.app_context():
        assert repr(perfkit) == "<PerfKit engines=['default'] health='/health'>"


def test_constructor_db_is_the_default_for_init_app(tmp_path: object) -> None:
    db = SQLAlchemy()
    perfkit = PerfKit(db=db)
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    perfkit.init_app(app)
    db.init_app(app)
    with app.app_context():
        assert list(get_state().database.monitors) == ["default"]
        assert get_state().database.monitors["default"].engine is db.engine
        db.engine.dispose()


def test_init_app_again_after_db_reinit_watches_the_new_engine(make_app: AppFactory) -> None:
    app, db, _ = make_app("sqlite://")
    with app.app_context():
        first = db.engine
    app.extensions.pop("sqlalchemy")
    db.init_app(app)
    with app.app_context():
        assert db.engine is not first
        assert get_state().database.monitors["default"].engine is db.engine
