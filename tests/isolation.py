"""Databases of one test or benchmark run, so several runs can share the local servers.

Each run works in its own PostgreSQL and MariaDB database, named after the database of the
configured URL with a suffix of the run's own (``test_r1a2b3c4``), created on first use and
dropped when the run ends. Redis has no namespaces, so a run prefixes its keys instead.
"""

from __future__ import annotations

import contextlib
import secrets
import threading

import sqlalchemy as sa

# PostgreSQL allows 63 bytes in a database name, MariaDB 64.
_MAX_BASE = 40


def new_run_id() -> str:
    """A short random id for one run, usable in database names and key prefixes."""
    return f"r{secrets.token_hex(4)}"


def run_url(base: str, run_id: str) -> str:
    """``base`` with its database name suffixed by ``run_id``."""
    url = sa.make_url(base)
    database = (url.database or "perfkit")[:_MAX_BASE]
    return url.set(database=f"{database}_{run_id}").render_as_string(hide_password=False)


def _admin_engine(url: sa.URL) -> sa.Engine:
    """An engine on the server of ``url`` that does not need ``url``'s own database."""
    if url.get_backend_name() == "postgresql":
        server = url.set(database="postgres")
    else:
        server = url.set(database="information_schema")
    return sa.create_engine(
        server,
        poolclass=sa.pool.NullPool,
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": 5},
    )


class RunDatabases:
    """Creates the run's databases when first asked for, and drops them all in :meth:`drop`."""

    def __init__(self) -> None:
        self._created: dict[str, sa.URL] = {}
        self._lock = threading.Lock()

    def ensure(self, url: str) -> None:
        """Create the database of ``url`` unless this run already did."""
        with self._lock:
            if url in self._created:
                return
            parsed = sa.make_url(url)
            engine = _admin_engine(parsed)
            name = engine.dialect.identifier_preparer.quote_identifier(parsed.database or "")
            try:
                with engine.connect() as conn:
                    conn.execute(sa.text(f"CREATE DATABASE {name}"))
            finally:
                engine.dispose()
            self._created[url] = parsed

    def drop(self) -> list[str]:
        """Drop every database this run created; returns the errors, if any."""
        errors = []
        with self._lock:
            for url in list(self._created.values()):
                try:
                    drop_database(url)
                except sa.exc.SQLAlchemyError as error:
                    errors.append(f"{url.database}: {error}")
            self._created.clear()
        return errors


def drop_database(url: sa.URL) -> None:
    """Drop the database of ``url``, ending any session still connected to it."""
    engine = _admin_engine(url)
    name = engine.dialect.identifier_preparer.quote_identifier(url.database or "")
    try:
        with engine.connect() as conn:
            if url.get_backend_name() == "postgresql":
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                return
            sessions = conn.execute(
                sa.text(
                    "SELECT id FROM information_schema.processlist"
                    " WHERE db = :name AND id <> CONNECTION_ID()"
                ),
                {"name": url.database},
            ).scalars()
            for session in sessions.all():
                with contextlib.suppress(sa.exc.DBAPIError):
                    conn.execute(sa.text(f"KILL {int(session)}"))
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
    finally:
        engine.dispose()


def delete_keys(redis_url: str, prefix: str) -> int:
    """Delete the Redis keys that hold ``prefix``; returns how many.

    Flask-Caching puts its own prefix in front of PerfKit's, so ``prefix`` is looked for
    anywhere in the key.
    """
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
    deleted = 0
    try:
        pattern = "*" + "".join(f"\\{c}" if c in "*?[]\\" else c for c in prefix) + "*"
        for key in client.scan_iter(match=pattern, count=500):
            deleted += int(client.delete(key))
    finally:
        client.close()
    return deleted
