"""Every use of a private name of SQLAlchemy, cachelib, Flask-Caching or Flask-SQLAlchemy.

Each is behind a small function that says what it reads and on which versions it was
checked, so that a new release of a dependency breaks in this module only. ``make test-min``
runs the suite on the oldest supported versions, ``make test`` on the newest.
"""

from __future__ import annotations

import typing as t
from collections.abc import Mapping

# SQLAlchemy: statements (pagination)

# SQLAlchemy: engines and pools


def pool_argument_names() -> Mapping[str, str]:
    """The ``create_engine`` name of each pool argument whose name differs on the pool.

    Reads ``sqlalchemy.engine.create._pool_translate_kwargs`` (``{"timeout": "pool_timeout",
    ...}``), an empty mapping when it is gone. Checked on SQLAlchemy 2.0 and 2.1.
    """
    from sqlalchemy.engine import create

    return getattr(create, "_pool_translate_kwargs", {})


# cachelib and Flask-Caching


def redis_scan_client(backend: t.Any) -> t.Any | None:
    """The redis-py client a cachelib Redis or Valkey backend writes with, or ``None``.

    Reads ``RedisCache._write_client``, whose client has ``scan_iter`` and ``unlink``; ``None``
    for other backends. Checked on cachelib 0.17 (Flask-Caching 2.5).
    """
    client = getattr(backend, "_write_client", None)
    return client if client is not None and hasattr(client, "scan_iter") else None


def redis_key_prefix(backend: t.Any) -> str:
    """The prefix a cachelib Redis or Valkey backend puts before every key, or ``""``.

    Calls ``RedisCache._get_prefix()``, which gives ``key_prefix``, or what it returns when it
    is a callable. Checked on cachelib 0.17 (Flask-Caching 2.5).
    """
    get_prefix = getattr(backend, "_get_prefix", None)
    return str(get_prefix()) if callable(get_prefix) else ""


def simple_cache_store(backend: t.Any) -> dict[t.Any, t.Any] | None:
    """The dict a cachelib ``SimpleCache`` keeps its entries in, or ``None``.

    Reads ``SimpleCache._cache``, keyed by the keys as given to ``set``; ``None`` for other
    backends. Checked on cachelib 0.17 (Flask-Caching 2.5).
    """
    store = getattr(backend, "_cache", None)
    return store if isinstance(store, dict) else None


# Flask-SQLAlchemy
