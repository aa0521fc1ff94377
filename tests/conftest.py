from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import typing as t
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy

from flask_perfkit import PerfKit
from tests.isolation import RunDatabases
from tests.isolation import delete_keys
from tests.isolation import new_run_id
from tests.isolation import run_url

CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

BASE_POSTGRES_URL = os.environ.get(
    "PERFKIT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BASE_MYSQL_URL = os.environ.get(
    "PERFKIT_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test"
)
REDIS_URL = os.environ.get("PERFKIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

# Each run has databases and Redis keys of its own, so runs can share the servers.
RUN_ID = new_run_id()
POSTGRES_URL = run_url(BASE_POSTGRES_URL, RUN_ID)
MYSQL_URL = run_url(BASE_MYSQL_URL, RUN_ID)
REDIS_KEY_PREFIX = f"pktest-{RUN_ID}-"
_run_databases = RunDatabases()


def reachable(url: str) -> bool:
    """Whether something accepts TCP connections at the URL's host and port."""
    parsed = sa.make_url(url)
    try:
        with socket.create_connection((parsed.host or "127.0.0.1", parsed.port or 0), timeout=1):
            return True
    except OSError:
        return False


def require(name: str, url: str) -> None:
    """Skip (locally) or fail (with CI=true) when a service is not reachable."""
    if reachable(url):
        if url in (POSTGRES_URL, MYSQL_URL):
            _run_databases.ensure(url)
        return
    message = f"{name} is not reachable at {sa.make_url(url).render_as_string()}"
    if CI:
        pytest.fail(f"{message}, and CI=true requires it.")
    pytest.skip(message)


@pytest.fixture(scope="session", autouse=True)
def _run_isolation() -> Iterator[None]:
    """Drop this run's databases and Redis keys when the run ends."""
    yield
    errors = _run_databases.drop()
    if reachable(REDIS_URL):
        delete_keys(REDIS_URL, REDIS_KEY_PREFIX)
    if errors:
        pytest.fail(f"Could not drop this run's databases: {'; '.join(errors)}")


@pytest.fixture(params=["sqlite", "postgres", "mysql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL for each dialect; services are required under CI=true."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    if request.param == "postgres":
        require("PostgreSQL", POSTGRES_URL)
        return POSTGRES_URL
    require("MariaDB", MYSQL_URL)
    return MYSQL_URL


class AppFactory(t.Protocol):
    def __call__(
        self, uri: str | None = ..., *, order: str = ..., **config: t.Any
    ) -> tuple[Flask, SQLAlchemy, PerfKit]: ...


@pytest.fixture
def make_app() -> Iterator[AppFactory]:
    """Build apps with Flask-SQLAlchemy and PerfKit in either init order; disposes engines."""
    made: list[tuple[Flask, SQLAlchemy]] = []

    def factory(
        uri: str | None = "sqlite://", *, order: str = "before", **config: t.Any
    ) -> tuple[Flask, SQLAlchemy, PerfKit]:
        app = Flask("test_app")
        app.config["TESTING"] = True
        if uri is not None:
            app.config["SQLALCHEMY_DATABASE_URI"] = uri
        app.config.update(config)
        db = SQLAlchemy()
        perfkit = PerfKit()
        if order == "before":
            perfkit.init_app(app, db=db)
            db.init_app(app)
        else:
            db.init_app(app)
            perfkit.init_app(app, db=db)
        made.append((app, db))
        return app, db, perfkit

    yield factory
    for app, db in made:
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose()


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    """An app on an in-memory SQLite database with details always shown."""
    return make_app(PERFKIT_HEALTH_SHOW_DETAILS="always")[0]


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _postgres_bin() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


class ThrowawayPostgres:
    """A PostgreSQL cluster of the test's own, on a spare loopback port."""

    def __init__(self, bindir: Path, datadir: Path, port: int, user: str | None) -> None:
        self.bindir = bindir
        self.datadir = datadir
        self.port = port
        self.user = user

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres:pw123@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.datadir} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.datadir.parent / "server.log")
        self._run(
            "pg_ctl", "-D", str(self.datadir), "-o", options, "-l", log, "-w", "-t", "30", "start"
        )

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "stop")


@pytest.fixture
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    """Start a fresh PostgreSQL cluster; it is stopped and deleted afterwards."""
    bindir = _postgres_bin()
    if bindir is None:
        if CI:
            pytest.fail("initdb was not found, and CI=true requires the PostgreSQL fault tests.")
        pytest.skip("initdb was not found")
    user = None
    root = Path(tempfile.mkdtemp(prefix="perfkit-pg-"))
    if os.geteuid() == 0:
        user = "postgres"
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    datadir = root / "data"
    server = ThrowawayPostgres(bindir, datadir, free_port(), user)
    try:
        server._run("initdb", "-D", str(datadir), "-U", "postgres", "--auth=trust", "-N")
        server.start()
        yield server
    finally:
        with contextlib.suppress(Exception):
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A loopback TCP port that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    accepted: list[socket.socket] = []
    stop = False

    import threading

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop:
            with contextlib.suppress(OSError):
                conn, _ = listener.accept()
                accepted.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop = True
        thread.join(2)
        for conn in accepted:
            conn.close()
        listener.close()


CountQueries = Callable[[sa.Engine], list[str]]


@pytest.fixture
def record_statements() -> CountQueries:
    """Attach a listener that records every statement an engine runs."""

    def attach(engine: sa.Engine) -> list[str]:
        statements: list[str] = []

        @sa.event.listens_for(engine, "before_cursor_execute")
        def record(conn: t.Any, cursor: t.Any, statement: str, *args: t.Any) -> None:
            statements.append(statement)

        return statements

    return attach
