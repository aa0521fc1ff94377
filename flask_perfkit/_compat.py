"""Every use of a private name of SQLAlchemy, cachelib, Flask-Caching or Flask-SQLAlchemy.

Each is behind a small function that says what it reads and on which versions it was
checked, so that a new release of a dependency breaks in this module only. ``make test-min``
runs the suite on the oldest supported versions, ``make test`` on the newest.
"""

from __future__ import annotations

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

# Flask-SQLAlchemy
