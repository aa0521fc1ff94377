"""Checks of ``PERFKIT_POOL_OPTIONS``: argument names the app's engines take, and pool values."""

from __future__ import annotations

import functools
import inspect
import math
import typing as t
from collections.abc import Mapping

from .._compat import pool_argument_names
from ..errors import ConfigError
from ._kinds import Flag
from ._kinds import Seconds
from ._kinds import Whole
from ._names import nearest
from ._sections import ConfigKey


@functools.cache
def _generic_engine_arguments() -> frozenset[str]:
    """``create_engine`` arguments that every dialect takes."""
    import sqlalchemy as sa
    from sqlalchemy import pool as sa_pool
    from sqlalchemy import util
    from sqlalchemy.engine import create

    names = {"module", "strategy", "empty_in_strategy", "future", "pool", "poolclass"}
    for overload in t.get_overloads(create.create_engine):
        names.update(inspect.signature(overload).parameters)
    names.update(util.get_cls_kwargs(sa.Engine))
    translate = pool_argument_names()
    pools = (sa_pool.QueuePool, sa_pool.NullPool, sa_pool.StaticPool, sa_pool.SingletonThreadPool)
    for pool_class in pools:
        names.update(translate.get(k, k) for k in util.get_cls_kwargs(pool_class))
    names -= {"url", "kwargs", "dialect"}
    return frozenset(n for n in names if not n.startswith("_"))


def _engine_urls(config: Mapping[str, t.Any]) -> list[t.Any] | None:
    """The URLs of the app's engines, as given; None when one cannot be read."""
    urls = [config.get("SQLALCHEMY_DATABASE_URI")]
    binds = config.get("SQLALCHEMY_BINDS") or {}
    if not isinstance(binds, Mapping):
        return None
    for value in binds.values():
        urls.append(value.get("url") if isinstance(value, Mapping) else value)
    urls = [url for url in urls if url is not None]
    return urls or None


def _dialect_arguments(url: t.Any) -> set[str] | None:
    """The ``create_engine`` arguments of ``url``'s dialect and driver, or None if unknown."""
    import sqlalchemy as sa
    from sqlalchemy import util

    try:
        dialect = sa.make_url(url).get_dialect()
        names = set(util.get_cls_kwargs(dialect))
        names.update(util.get_func_kwargs(dialect.import_dbapi))
    except Exception:
        return None
    return names


def check_engine_arguments(config: Mapping[str, t.Any], options: Mapping[str, t.Any]) -> None:
    """Fail on a ``PERFKIT_POOL_OPTIONS`` key that no engine of the app would take.

    Names every engine takes are always accepted, and dialect arguments for the dialects of
    ``SQLALCHEMY_DATABASE_URI`` and ``SQLALCHEMY_BINDS``. When those URLs are not known yet,
    only names that look like a misspelled common argument (``pool_sise``) fail.
    """
    generic = _generic_engine_arguments()
    unknown = [name for name in options if name not in generic]
    if not unknown or "plugins" in options:
        # Engine plugins may take arguments of their own.
        return
    urls = _engine_urls(config)
    dialect_names = [_dialect_arguments(url) for url in urls] if urls else []
    readable = bool(dialect_names) and all(names is not None for names in dialect_names)
    for name in unknown:
        if readable and all(name in names for names in dialect_names if names is not None):
            continue
        guess = nearest(name, generic)
        if not readable and guess is None and not name.startswith("pool_"):
            continue
        hint = f" Did you mean {guess!r}?" if guess else ""
        if readable:
            dialects = sorted({_drivername(url) for url in urls or ()})
            where = f"create_engine() argument for {', '.join(dialects)}"
        else:
            where = "create_engine() argument"
        raise ConfigError(f"{ConfigKey.POOL_OPTIONS} has {name!r}, which is not a {where}.{hint}")


def _drivername(url: t.Any) -> str:
    """The ``dialect+driver`` part of a URL, never its host, user or password."""
    import sqlalchemy as sa

    try:
        return str(sa.make_url(url).drivername)
    except Exception:
        return "this database"


def check_engine_values(options: Mapping[str, t.Any]) -> None:
    """Fail on a ``PERFKIT_POOL_OPTIONS`` value of a pool argument that the engine or its
    pool would reject only later, at ``create_engine()`` or at the first checkout.

    Values of ``connect_args`` are never shown: they may hold a password.
    """
    from sqlalchemy import pool as sa_pool

    for name, value in options.items():
        key = f"{ConfigKey.POOL_OPTIONS}[{name!r}]"
        if name == "pool_size":
            Whole(0, "of 0 or more (0 means no limit)")(key, value)
        elif name == "max_overflow":
            Whole(-1, "of -1 or more (-1 means no limit)")(key, value)
        elif name == "pool_recycle":
            if value != -1 and not (
                not isinstance(value, bool)
                and isinstance(value, int | float)
                and 0 <= value < math.inf
            ):
                raise ConfigError(
                    f"{key} must be a number of seconds, 0 or more, or -1 for never, got {value!r}."
                )
        elif name == "pool_timeout":
            Seconds(allow_zero=True)(key, value)
        elif name in ("pool_pre_ping", "pool_use_lifo"):
            Flag()(key, value)
        elif name == "connect_args" and not isinstance(value, Mapping):
            raise ConfigError(
                f"{key} must be a dict of keyword arguments for the driver's connect(),"
                f" got {type(value).__name__}."
            )
        elif name == "poolclass" and not (
            isinstance(value, type) and issubclass(value, sa_pool.Pool)
        ):
            raise ConfigError(
                f"{key} must be a pool class such as sqlalchemy.pool.NullPool, got {value!r}."
            )
