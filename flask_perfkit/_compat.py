"""Every use of a private name of SQLAlchemy, cachelib, Flask-Caching or Flask-SQLAlchemy.

Each is behind a small function that says what it reads and on which versions it was
checked, so that a new release of a dependency breaks in this module only. ``make test-min``
runs the suite on the oldest supported versions, ``make test`` on the newest.
"""

from __future__ import annotations

import typing as t
from collections.abc import Mapping

from sqlalchemy import pool as sa_pool

# SQLAlchemy: statements (pagination)

# SQLAlchemy: engines and pools


def queue_pool_settings(pool: sa_pool.QueuePool) -> dict[str, t.Any]:
    """The constructor arguments of ``pool`` that :meth:`~sqlalchemy.pool.QueuePool.recreate`
    passes on: ``_max_overflow``, ``_recycle``, ``_pre_ping``, ``_pool.use_lifo``,
    ``_orig_logging_name`` and ``_reset_on_return``.

    Checked on SQLAlchemy 2.0 and 2.1.
    """
    return {
        "pool_size": pool.size(),
        "max_overflow": pool._max_overflow,
        "timeout": pool.timeout(),
        "recycle": pool._recycle,
        "pre_ping": pool._pre_ping,
        "use_lifo": pool._pool.use_lifo,
        "echo": pool.echo,
        "logging_name": pool._orig_logging_name,
        "reset_on_return": pool._reset_on_return,
    }


def rebuild_pool(pool: sa_pool.Pool, settings: t.Mapping[str, t.Any]) -> sa_pool.Pool:
    """A pool of the class of ``pool`` with ``settings``, keeping its connection function
    (``_creator``), its dialect (``_dialect``) and its listeners, as
    :meth:`~sqlalchemy.pool.Pool.recreate` does.

    Checked on SQLAlchemy 2.0 and 2.1.
    """
    return type(pool)(
        pool._creator,
        _dispatch=pool.dispatch,
        dialect=pool._dialect,
        **settings,
    )


def max_overflow(pool: sa_pool.QueuePool) -> int:
    """The ``max_overflow`` of ``pool`` (``_max_overflow``), which it has no public reader of.

    Checked on SQLAlchemy 2.0 and 2.1.
    """
    return int(pool._max_overflow)


def recycle_seconds(pool: sa_pool.Pool) -> int:
    """The ``recycle`` of any pool (``_recycle``), ``-1`` for never.

    Checked on SQLAlchemy 2.0 and 2.1.
    """
    return int(getattr(pool, "_recycle", -1))


def pre_ping(pool: sa_pool.Pool) -> bool:
    """Whether any pool tests connections on checkout (``_pre_ping``).

    Checked on SQLAlchemy 2.0 and 2.1.
    """
    return bool(getattr(pool, "_pre_ping", False))


def pool_argument_names() -> Mapping[str, str]:
    """The ``create_engine`` name of each pool argument whose name differs on the pool.

    Reads ``sqlalchemy.engine.create._pool_translate_kwargs`` (``{"timeout": "pool_timeout",
    ...}``), an empty mapping when it is gone. Checked on SQLAlchemy 2.0 and 2.1.
    """
    from sqlalchemy.engine import create

    return getattr(create, "_pool_translate_kwargs", {})


# cachelib and Flask-Caching

# Flask-SQLAlchemy


def engine_options_of(db: t.Any) -> dict[str, t.Any]:
    """The ``engine_options`` given to the ``SQLAlchemy()`` constructor (``_engine_options``).

    Checked on Flask-SQLAlchemy 3.1.
    """
    return dict(getattr(db, "_engine_options", None) or {})
