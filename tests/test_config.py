from __future__ import annotations

import dataclasses
import typing as t

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_perfkit import ConfigError
from flask_perfkit import PerfKit
from flask_perfkit import ShowDetails
from flask_perfkit._state import get_state
from flask_perfkit.config import DEFAULTS
from flask_perfkit.config import ConfigKey
from tests.conftest import AppFactory


def test_defaults_are_written_into_app_config() -> None:
    app = Flask(__name__)
    PerfKit(app)
    for key, value in DEFAULTS.items():
        assert app.config[key] == value
    assert app.config["PERFKIT_POOL_SIZE"] == 20
    assert app.config["PERFKIT_POOL_MAX_OVERFLOW"] == 40
    assert app.config["PERFKIT_POOL_RECYCLE"] == 3600
    assert app.config["PERFKIT_POOL_PRE_PING"] is True
    assert app.config["PERFKIT_POOL_TIMEOUT"] == 30
    assert app.config["PERFKIT_HEALTH_URL_PREFIX"] == "/health"
    assert app.config["PERFKIT_HEALTH_TIMEOUT"] == 0.8
    assert app.config["PERFKIT_HEALTH_SHOW_DETAILS"] == "when_authorized"


def test_user_values_are_kept_and_resolved() -> None:
    app = Flask(__name__)
    app.config.update(
        PERFKIT_POOL_SIZE=7, PERFKIT_HEALTH_SHOW_DETAILS="never", PERFKIT_HEALTH_TIMEOUT=2
    )
    PerfKit(app)
    with app.app_context():
        config = get_state().config
    assert config.pool_size == 7
    assert config.health_show_details is ShowDetails.NEVER
    assert config.health_timeout == 2.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.pool_size = 1  # type: ignore[misc]


def test_default_pool_options_dict_is_not_shared_between_apps() -> None:
    first, second = Flask("a"), Flask("b")
    PerfKit(first)
    PerfKit(second)
    first.config["PERFKIT_POOL_OPTIONS"]["pool_use_lifo"] = True
    assert second.config["PERFKIT_POOL_OPTIONS"] == {}


BAD_VALUES: list[tuple[str, t.Any, str]] = [
    (ConfigKey.POOL_SIZE, -1, "whole number"),
    (ConfigKey.POOL_SIZE, "20", "whole number"),
    (ConfigKey.POOL_SIZE, True, "whole number"),
    (ConfigKey.POOL_MAX_OVERFLOW, -2, "-1 means no limit"),
    (ConfigKey.POOL_RECYCLE, -5, "whole number"),
    (ConfigKey.POOL_PRE_PING, "yes", "True or False"),
    (ConfigKey.POOL_TIMEOUT, 0, "more than 0"),
    (ConfigKey.POOL_TIMEOUT, float("nan"), "more than 0"),
    (ConfigKey.POOL_OPTIONS, ["pool_size"], "dict"),
    (ConfigKey.HEALTH_URL_PREFIX, "health", "starting with '/'"),
    (ConfigKey.HEALTH_TIMEOUT, -0.5, "more than 0"),
    (ConfigKey.HEALTH_TIMEOUT, 120, "at most 60"),
    (ConfigKey.HEALTH_CHECK_TTL, -1, "0 or more"),
    (ConfigKey.HEALTH_SHOW_DETAILS, "sometimes", "'always', 'when_authorized', 'never'"),
    (ConfigKey.ADMIN_TOKEN, "", "non-empty string"),
    (ConfigKey.ENABLED, 1, "True or False"),
]


@pytest.mark.parametrize(("key", "value", "fragment"), BAD_VALUES)
def test_bad_values_fail_in_init_app_naming_the_key(key: str, value: t.Any, fragment: str) -> None:
    app = Flask(__name__)
    app.config[key] = value
    with pytest.raises(ConfigError) as info:
        PerfKit(app)
    message = str(info.value)
    assert message.startswith(key)
    assert fragment in message
    assert isinstance(info.value, ValueError)
    assert "perfkit" not in app.extensions


def test_admin_token_value_is_not_echoed_in_errors() -> None:
    app = Flask(__name__)
    app.config[ConfigKey.ADMIN_TOKEN] = 12345
    with pytest.raises(ConfigError) as info:
        PerfKit(app)
    assert "12345" not in str(info.value)


def test_disabled_turns_everything_off(make_app: AppFactory, tmp_path: t.Any) -> None:
    app, db, perfkit = make_app(f"sqlite:///{tmp_path / 'x.db'}", PERFKIT_ENABLED=False)
    assert app.extensions["perfkit"] is perfkit
    assert "perfkit" not in app.blueprints
    with app.app_context():
        engine = db.engine
        assert get_state().monitors == {}
        assert engine.pool.size() == 5  # type: ignore[attr-defined]
    assert app.test_client().get("/health").status_code == 404
    assert "plugins" not in app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {})


def test_disabled_app_still_refuses_a_second_registration() -> None:
    app = Flask(__name__)
    app.config["PERFKIT_ENABLED"] = False
    PerfKit(app)
    with pytest.raises(RuntimeError):
        PerfKit(app)


def test_db_without_uri_is_left_to_flask_sqlalchemy() -> None:
    app = Flask(__name__)
    db = SQLAlchemy()
    PerfKit(app, db=db)
    with pytest.raises(RuntimeError, match="SQLALCHEMY_DATABASE_URI"):
        db.init_app(app)


def test_copied_config_keeps_working(tmp_path: t.Any) -> None:
    import copy

    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'c.db'}"
    db = SQLAlchemy()
    PerfKit(app, db=db)
    app.config = copy.deepcopy(app.config)
    db.init_app(app)
    with app.app_context():
        assert get_state().monitors["default"].engine is db.engine
        assert db.engine.pool.size() == 20  # type: ignore[attr-defined]
        db.engine.dispose()
