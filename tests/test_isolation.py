"""The per-run databases and key prefix that let several test runs share the servers."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import BASE_MYSQL_URL
from tests.conftest import BASE_POSTGRES_URL
from tests.conftest import MYSQL_URL
from tests.conftest import POSTGRES_URL
from tests.conftest import REDIS_KEY_PREFIX
from tests.conftest import REDIS_URL
from tests.conftest import RUN_ID
from tests.conftest import require
from tests.isolation import RunDatabases
from tests.isolation import delete_keys
from tests.isolation import new_run_id
from tests.isolation import run_url


def test_run_names_derive_from_the_configured_urls() -> None:
    for base, url in ((BASE_POSTGRES_URL, POSTGRES_URL), (BASE_MYSQL_URL, MYSQL_URL)):
        parsed, derived = sa.make_url(base), sa.make_url(url)
        assert derived.database == f"{parsed.database}_{RUN_ID}"
        assert derived.set(database=parsed.database) == parsed
    assert f"pktest-{RUN_ID}-" == REDIS_KEY_PREFIX
    assert new_run_id() != new_run_id()
    long = run_url("postgresql://u@h/" + "x" * 80, "r12345678")
    assert len(sa.make_url(long).database or "") <= 63


def _databases(url: str) -> set[str]:
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "postgresql":
        server, query = parsed.set(database="postgres"), "SELECT datname FROM pg_database"
    else:
        server, query = parsed.set(database="information_schema"), "SHOW DATABASES"
    engine = sa.create_engine(server, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return set(conn.execute(sa.text(query)).scalars())
    finally:
        engine.dispose()


@pytest.mark.parametrize(("name", "base"), [("PostgreSQL", "postgres"), ("MariaDB", "mysql")])
def test_a_run_creates_its_databases_and_drops_them_with_open_sessions(
    name: str, base: str
) -> None:
    base_url = BASE_POSTGRES_URL if base == "postgres" else BASE_MYSQL_URL
    require(name, POSTGRES_URL if base == "postgres" else MYSQL_URL)
    url = run_url(base_url, new_run_id())
    databases = RunDatabases()
    try:
        _create_and_drop(databases, url)
    finally:
        databases.drop()


def _create_and_drop(databases: RunDatabases, url: str) -> None:
    database = sa.make_url(url).database
    databases.ensure(url)
    databases.ensure(url)
    assert database in _databases(url)
    engine = sa.create_engine(url)
    conn = engine.connect()
    conn.execute(sa.text("CREATE TABLE left_open (id INTEGER PRIMARY KEY)"))
    conn.commit()
    # A transaction left open, holding locks, as a failed test can leave one.
    conn.execute(sa.text("INSERT INTO left_open VALUES (1)"))
    try:
        assert databases.drop() == []
        assert database not in _databases(url)
        assert databases.drop() == []
    finally:
        conn.invalidate()
        engine.dispose()


def test_a_runs_keys_are_deleted_and_no_others() -> None:
    require("Redis", REDIS_URL)
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    prefix = f"pktest-{new_run_id()}-"
    other = f"{REDIS_KEY_PREFIX}not-that-run"
    try:
        client.set(f"{prefix}a", 1)
        client.set(f"flask_cache_{prefix}b:c", 1)
        client.set(other, 1)
        assert delete_keys(REDIS_URL, prefix) == 2
        assert client.exists(f"{prefix}a", f"flask_cache_{prefix}b:c") == 0
        assert client.get(other) == b"1"
    finally:
        client.delete(other, f"{prefix}a", f"flask_cache_{prefix}b:c")
        client.close()
