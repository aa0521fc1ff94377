from __future__ import annotations

import dataclasses
import logging
import typing as t
import warnings

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_perfkit import ConfigError
from flask_perfkit import ConfigWarning
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
    perfkit = PerfKit(app)
    with app.app_context():
        config = perfkit.config
    assert config.pool.size == 7
    assert config.health.show_details is ShowDetails.NEVER
    assert config.health.timeout == 2.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.pool.size = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.enabled = False  # type: ignore[misc]


def test_a_default_resolves_as_an_equal_value_set_by_the_user() -> None:
    # Defaults are checked once, at import; a value equal to a default but another object is
    # checked on each app. Both must resolve alike.
    defaults, copies = Flask("defaults"), Flask("copies")
    copies.config.update({key: _equal_but_new(value) for key, value in DEFAULTS.items()})
    PerfKit(defaults)
    PerfKit(copies)
    assert get_state(copies).config == get_state(defaults).config
    for key in ("PERFKIT_HEALTH_TIMEOUT", "PERFKIT_CACHE_KEY_PREFIX", "PERFKIT_MAX_OFFSET"):
        assert copies.config[key] is not DEFAULTS[key]


def _equal_but_new(value: t.Any) -> t.Any:
    """A new object equal to ``value``; ``True``, ``False``, ``None`` and small ints are one
    object each."""
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, str):
        return "".join(list(value))
    if not isinstance(value, bool) and isinstance(value, int | float):
        return type(value)(str(value))
    return value


def test_default_pool_options_dict_is_not_shared_between_apps() -> None:
    first, second = Flask("a"), Flask("b")
    PerfKit(first)
    PerfKit(second)
    first.config["PERFKIT_POOL_OPTIONS"]["pool_use_lifo"] = True
    assert second.config["PERFKIT_POOL_OPTIONS"] == {}


#: An int no float can hold.
HUGE = 10**400

BAD_VALUES: list[tuple[str, t.Any, str]] = [
    (ConfigKey.POOL_SIZE, -1, "whole number"),
    (ConfigKey.POOL_SIZE, "20", "whole number"),
    (ConfigKey.POOL_SIZE, True, "whole number"),
    (ConfigKey.POOL_MAX_OVERFLOW, -2, "-1 means no limit"),
    (ConfigKey.POOL_RECYCLE, -5, "whole number"),
    (ConfigKey.POOL_PRE_PING, "yes", "True or False"),
    (ConfigKey.POOL_TIMEOUT, 0, "more than 0"),
    (ConfigKey.POOL_TIMEOUT, float("nan"), "more than 0"),
    # Past a float's range: too large for any number of seconds.
    (ConfigKey.POOL_TIMEOUT, HUGE, "more than 0"),
    (ConfigKey.SLOW_QUERY_MS, -HUGE, "milliseconds"),
    (ConfigKey.DB_STATEMENT_TIMEOUT, HUGE, "or None"),
    (ConfigKey.HEALTH_CHECKS, {"database": {"timeout": HUGE}}, "positive number"),
    (ConfigKey.POOL_OPTIONS, ["pool_size"], "dict"),
    (ConfigKey.HEALTH_URL_PREFIX, "health", "starting with '/'"),
    (ConfigKey.HEALTH_TIMEOUT, -0.5, "more than 0"),
    (ConfigKey.HEALTH_TIMEOUT, 120, "at most 60"),
    (ConfigKey.HEALTH_CHECK_TTL, -1, "0 or more"),
    (ConfigKey.HEALTH_SHOW_DETAILS, "sometimes", "'always', 'when_authorized', 'never'"),
    (ConfigKey.ADMIN_TOKEN, "", "non-empty string"),
    (ConfigKey.ENABLED, 1, "True or False"),
]


def _short_id(value: t.Any) -> str | None:
    return "HUGE" if value is HUGE or value == -HUGE else None


@pytest.mark.parametrize(("key", "value", "fragment"), BAD_VALUES, ids=_short_id)
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
        assert get_state().database.monitors == {}
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
        assert get_state().database.monitors["default"].engine is db.engine
        assert db.engine.pool.size() == 20  # type: ignore[attr-defined]
        db.engine.dispose()


def _init_warnings(**config: t.Any) -> list[str]:
    app = Flask(__name__)
    app.config.update(config)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        PerfKit(app)
    assert all(issubclass(w.category, ConfigWarning) for w in caught)
    return [str(w.message) for w in caught]


def test_unknown_keys_warn_naming_the_nearest_key() -> None:
    assert _init_warnings(PERFKIT_POOL_SIZ=5) == [
        "PERFKIT_POOL_SIZ is not a flask-perfkit setting and is ignored."
        " Did you mean PERFKIT_POOL_SIZE?"
    ]
    assert _init_warnings(PERFKIT_HEALTH_SHOW_DETAIL="never")[0].endswith(
        "Did you mean PERFKIT_HEALTH_SHOW_DETAILS?"
    )
    assert _init_warnings(PERFKIT_MAXPAGE_SIZE=50)[0].endswith(
        "Did you mean PERFKIT_MAX_PAGE_SIZE?"
    )
    assert _init_warnings(perfkit_pool_size=5)[0].endswith("Did you mean PERFKIT_POOL_SIZE?")
    assert _init_warnings(PERFKIT_URL="http://x")[0].startswith(
        "PERFKIT_URL is read from the environment"
    )
    (nothing_close,) = _init_warnings(PERFKIT_FROBNICATE=1)
    assert "PERFKIT_FROBNICATE is not a flask-perfkit setting" in nothing_close
    assert "Did you mean" not in nothing_close
    assert _init_warnings(**{key: value for key, value in DEFAULTS.items()}) == []
    assert _init_warnings(PERFKIT_POOL_SIZE=5, OTHER_SETTING=1, PERFKIT=1) == []


def test_unknown_keys_are_an_error_under_error_filters() -> None:
    app = Flask(__name__)
    app.config["PERFKIT_SLOW_QUERY"] = 50
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConfigWarning)
        with pytest.raises(ConfigWarning, match="PERFKIT_SLOW_QUERY_MS"):
            PerfKit(app)


def test_misspelled_health_check_names_are_logged_when_checks_first_run(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app, _, perfkit = make_app(
        PERFKIT_HEALTH_CHECKS={
            "dbb": {"critical": False},
            "serach": {"timeout": 0.2},
            "payments": {"critical": False},
        }
    )
    perfkit.add_check("payments", lambda: False)
    client = app.test_client()
    with caplog.at_level(logging.WARNING, logger="flask_perfkit"):
        assert client.get("/health/ready").status_code == 200
        assert client.get("/health/ready").status_code == 200
    messages = [r.getMessage() for r in caplog.records if "PERFKIT_HEALTH_CHECKS" in r.getMessage()]
    assert messages == [
        "PERFKIT_HEALTH_CHECKS['dbb'] matches no health check and is ignored; the checks are"
        " 'cache', 'db', 'db:connections', 'payments', 'profiling'. Did you mean 'db'?",
        "PERFKIT_HEALTH_CHECKS['serach'] matches no health check and is ignored; the checks are"
        " 'cache', 'db', 'db:connections', 'payments', 'profiling'.",
    ]
    # A check added later with that name takes the setting, and nothing more is said.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="flask_perfkit"):
        perfkit.add_check("serach", lambda: False)
        body = client.get("/health/ready").get_json()
    assert not [r for r in caplog.records if "PERFKIT_HEALTH_CHECKS" in r.getMessage()]
    assert body["checks"]["serach"]["status"] == "fail"
    assert body["status"] == "fail"


@pytest.mark.parametrize("order", ["before", "after"])
def test_a_misspelled_pool_option_is_a_config_error(make_app: AppFactory, order: str) -> None:
    with pytest.raises(ConfigError) as info:
        make_app("sqlite://", order=order, PERFKIT_POOL_OPTIONS={"pool_sise": 3})
    assert str(info.value) == (
        "PERFKIT_POOL_OPTIONS has 'pool_sise', which is not a create_engine() argument for"
        " sqlite. Did you mean 'pool_size'?"
    )
    with pytest.raises(ConfigError, match=r"'conect_args'.*Did you mean 'connect_args'"):
        make_app("sqlite://", PERFKIT_POOL_OPTIONS={"conect_args": {}})


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"pool_size": "5"}, "PERFKIT_POOL_OPTIONS['pool_size'] must be a whole number"),
        ({"pool_size": -4}, "PERFKIT_POOL_OPTIONS['pool_size'] must be a whole number"),
        ({"max_overflow": 2.5}, "PERFKIT_POOL_OPTIONS['max_overflow'] must be a whole number"),
        ({"pool_recycle": -2}, "PERFKIT_POOL_OPTIONS['pool_recycle'] must be a number of"),
        ({"pool_timeout": -1}, "PERFKIT_POOL_OPTIONS['pool_timeout'] must be a number of"),
        ({"pool_timeout": float("nan")}, "PERFKIT_POOL_OPTIONS['pool_timeout'] must be a"),
        ({"pool_timeout": HUGE}, "PERFKIT_POOL_OPTIONS['pool_timeout'] must be a"),
        ({"pool_pre_ping": "yes"}, "PERFKIT_POOL_OPTIONS['pool_pre_ping'] must be True or"),
        ({"poolclass": "NullPool"}, "PERFKIT_POOL_OPTIONS['poolclass'] must be a pool class"),
        ({"connect_args": "password=pw-in-args"}, "PERFKIT_POOL_OPTIONS['connect_args'] must"),
    ],
)
@pytest.mark.parametrize("order", ["before", "after"])
def test_a_pool_option_of_the_wrong_type_is_a_config_error(
    make_app: AppFactory, order: str, options: dict[str, t.Any], expected: str
) -> None:
    with pytest.raises(ConfigError) as info:
        make_app("sqlite://", order=order, PERFKIT_POOL_OPTIONS=options)
    assert str(info.value).startswith(expected)
    assert "pw-in-args" not in str(info.value)


def test_pool_options_of_the_right_types_are_taken(make_app: AppFactory, tmp_path: t.Any) -> None:
    import sqlalchemy as sa

    options = {
        "pool_size": 0,
        "max_overflow": -1,
        "pool_recycle": 1800.5,
        "pool_timeout": 0,
        "pool_pre_ping": False,
        "connect_args": {"timeout": 5},
    }
    app, db, _ = make_app("sqlite:///:memory:", PERFKIT_POOL_OPTIONS=options)
    assert app.config["PERFKIT_POOL_OPTIONS"] == options
    # Flask-SQLAlchemy gives an in-memory database a StaticPool of its own: use a file.
    app, db, _ = make_app(
        f"sqlite:///{tmp_path / 'pool.db'}", PERFKIT_POOL_OPTIONS={"poolclass": sa.pool.NullPool}
    )
    with app.app_context():
        assert isinstance(db.engine.pool, sa.pool.NullPool)


def test_dialect_arguments_are_checked_against_the_apps_dialects(make_app: AppFactory) -> None:
    app, _, _ = make_app("sqlite://", PERFKIT_POOL_OPTIONS={"native_datetime": True})
    assert app.config["PERFKIT_POOL_OPTIONS"] == {"native_datetime": True}
    with pytest.raises(ConfigError) as info:
        make_app(
            "sqlite://",
            SQLALCHEMY_BINDS={"other": "postgresql+psycopg://u:secretpw@h/db"},
            PERFKIT_POOL_OPTIONS={"native_datetime": True},
        )
    message = str(info.value)
    assert "'native_datetime'" in message and "postgresql+psycopg, sqlite" in message
    assert "secretpw" not in message
    make_app("sqlite://", PERFKIT_POOL_OPTIONS={"pool_use_lifo": True, "echo_pool": False})


def test_pool_options_without_a_database_uri_fail_only_on_clear_misspellings() -> None:
    for options in ({"pool_sise": 3}, {"pool_anything": 1}, {"isolaton_level": "x"}):
        app = Flask(__name__)
        app.config["PERFKIT_POOL_OPTIONS"] = options
        with pytest.raises(ConfigError, match=repr(next(iter(options)))):
            PerfKit(app)
    app = Flask(__name__)
    app.config["PERFKIT_POOL_OPTIONS"] = {"executemany_mode": "values_only"}
    PerfKit(app)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            {"PERFKIT_MAX_PAGE_SIZE": 10},
            "PERFKIT_PAGE_SIZE (20) must be at most PERFKIT_MAX_PAGE_SIZE (10). PERFKIT_PAGE_SIZE"
            " is its default: raise PERFKIT_MAX_PAGE_SIZE to 20 or more, or set"
            " PERFKIT_PAGE_SIZE to 10 or less.",
        ),
        (
            {"PERFKIT_PAGE_SIZE": 500},
            "PERFKIT_PAGE_SIZE (500) must be at most PERFKIT_MAX_PAGE_SIZE (100)."
            " PERFKIT_MAX_PAGE_SIZE is its default: lower PERFKIT_PAGE_SIZE to 100 or less, or"
            " raise PERFKIT_MAX_PAGE_SIZE.",
        ),
        (
            {"PERFKIT_PAGE_SIZE": 50, "PERFKIT_MAX_PAGE_SIZE": 30},
            "PERFKIT_PAGE_SIZE (50) must be at most PERFKIT_MAX_PAGE_SIZE (30). Lower"
            " PERFKIT_PAGE_SIZE or raise PERFKIT_MAX_PAGE_SIZE.",
        ),
    ],
)
def test_page_size_conflicts_name_both_keys_and_which_to_change(
    config: dict[str, int], expected: str
) -> None:
    app = Flask(__name__)
    app.config.update(config)
    with pytest.raises(ConfigError) as info:
        PerfKit(app)
    assert str(info.value) == expected


def test_pool_option_names_are_case_sensitive_like_create_engine() -> None:
    app = Flask(__name__)
    app.config.update(SQLALCHEMY_DATABASE_URI="sqlite://", PERFKIT_POOL_OPTIONS={"Pool_Size": 3})
    with pytest.raises(ConfigError, match=r"'Pool_Size'.*Did you mean 'pool_size'"):
        PerfKit(app)
