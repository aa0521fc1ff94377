"""How engines reach the database capability: through Flask-SQLAlchemy's engine options
(PerfKit registered first), from engines that already exist, or as a plain engine."""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
import sqlalchemy.exc as sa_exc
from flask import Flask
from flask import current_app

from .. import pool as _pool
from .._compat import engine_options_of
from .._state import get_state
from ..capability import Wiring
from ..errors import DatabaseUnavailable

if t.TYPE_CHECKING:
    from flask_sqlalchemy import SQLAlchemy

    from .database import DatabaseCapability

_ORDER_FIX = (
    "Call perfkit.init_app(app, db=db) before db.init_app(app), or pass this option in"
    " SQLALCHEMY_ENGINE_OPTIONS (or the bind's options) instead."
)
_ENGINE_FIX = "Pass this option to create_engine() yourself."


def bind_name(key: str | None) -> str:
    """The bind name of a Flask-SQLAlchemy bind key: ``"default"`` for ``None``."""
    return "default" if key is None else key


def wire(app: Flask, wiring: Wiring, capability: DatabaseCapability) -> None:
    """Apply the pool options to the engines of ``wiring`` and watch them, and answer 503
    when a request waits out the pool timeout."""
    if wiring.db is not None:
        _wire_db(app, wiring.db, capability)
    elif wiring.engine is not None:
        options = capability.state.config.pool.engine_options()
        _pool.apply_to_engine(wiring.engine, options, (), _ENGINE_FIX)
        capability.add_monitor("default", wiring.engine)
    if sa_exc.TimeoutError not in app.error_handler_spec[None][None]:
        app.register_error_handler(sa_exc.TimeoutError, _pool_timeout_handler)


def _wire_db(app: Flask, db: SQLAlchemy, capability: DatabaseCapability) -> None:
    wanted = capability.state.config.pool.engine_options()
    # Engine options given to SQLAlchemy() are the user's choice too.
    constructor_options = engine_options_of(db)
    if app.extensions.get("sqlalchemy") is db:
        with app.app_context():
            engines = dict(db.engines)
        for key, engine in engines.items():
            explicit = {*constructor_options, *_user_options(app, key)}
            _pool.apply_to_engine(engine, wanted, explicit, _ORDER_FIX)
            capability.add_monitor(bind_name(key), engine)
        return
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = _pool.add_to_engine_options(
        options, wanted, {*constructor_options, *options}, _HookFactory(capability, "default")
    )
    binds: dict[str | None, t.Any] = dict(app.config.get("SQLALCHEMY_BINDS") or {})
    for key, value in binds.items():
        bind_options = dict(value) if isinstance(value, t.Mapping) else {"url": value}
        binds[key] = _pool.add_to_engine_options(
            bind_options,
            wanted,
            {*constructor_options, *bind_options},
            _HookFactory(capability, bind_name(key)),
        )
    if binds:
        app.config["SQLALCHEMY_BINDS"] = binds


class _HookFactory:
    """Makes the :class:`~flask_perfkit.pool.EngineHook` of one bind."""

    def __init__(self, capability: DatabaseCapability, name: str) -> None:
        self.capability = capability
        self.name = name

    def __call__(self, pool_kwargs: dict[str, t.Any]) -> _pool.EngineHook:
        return _pool.EngineHook(self.monitor, pool_kwargs, self.name)

    def monitor(self, engine: sa.Engine) -> t.Any:
        """Watch the new ``engine``."""
        return self.capability.add_monitor(self.name, engine, fresh=True)


def _user_options(app: Flask, key: str | None) -> t.Collection[str]:
    if key is None:
        return set(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    value = (app.config.get("SQLALCHEMY_BINDS") or {}).get(key)
    return set(value) if isinstance(value, t.Mapping) else set()


def _pool_timeout_handler(error: sa_exc.TimeoutError) -> t.Any:
    """Answer 503 ``database_unavailable`` when a request waited out the pool timeout, and
    count it.

    An app's own handler for a SQLAlchemy base class of the error (such as
    :exc:`~sqlalchemy.exc.SQLAlchemyError`) answers instead, as it would without PerfKit.
    """
    get_state().database.count_checkout_timeout()
    app = t.cast(Flask, current_app._get_current_object())  # type: ignore[attr-defined]
    handlers = app.error_handler_spec[None][None]
    for cls in type(error).__mro__[1:]:
        if not issubclass(cls, sa_exc.SQLAlchemyError):
            break
        handler = handlers.get(cls)
        if handler is not None:
            return app.ensure_sync(handler)(error)
    current_app.logger.warning("Database pool exhausted: %s", error)
    return DatabaseUnavailable("The database is busy. Try again shortly.").get_response()
