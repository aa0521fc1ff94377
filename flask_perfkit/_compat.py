"""Every use of a private name of SQLAlchemy, cachelib, Flask-Caching or Flask-SQLAlchemy.

Each is behind a small function that says what it reads and on which versions it was
checked, so that a new release of a dependency breaks in this module only. ``make test-min``
runs the suite on the oldest supported versions, ``make test`` on the newest.
"""

from __future__ import annotations

# SQLAlchemy: statements (pagination)

# SQLAlchemy: engines and pools

# cachelib and Flask-Caching

# Flask-SQLAlchemy
