from __future__ import annotations

import datetime
import decimal
import http
import os
import subprocess
import sys
import threading
import time
import typing as t
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from flask import Flask
from flask import g
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column

from flask_perfkit import MISS
from flask_perfkit import PerfKit
from flask_perfkit import UnkeyableArgument
from flask_perfkit import cache_short
from flask_perfkit import cached
from flask_perfkit.cache_keys import ArgumentKey
from flask_perfkit.signals import cache_error
from tests import cached_functions as funcs
from tests.conftest import POSTGRES_URL
from tests.conftest import REDIS_KEY_PREFIX
from tests.conftest import REDIS_URL
from tests.conftest import free_port
from tests.conftest import require

TOKEN = "cache-admin"


def make_cache_app(backend: str, **config: t.Any) -> Flask:
    app = Flask(__name__)
    app.config.update(
        TESTING=True,
        PERFKIT_HEALTH_SHOW_DETAILS="always",
        PERFKIT_ADMIN_TOKEN=TOKEN,
        PERFKIT_CACHE_KEY_PREFIX=f"{REDIS_KEY_PREFIX}{uuid.uuid4().hex[:8]}:",
    )
    if backend == "redis":
        app.config.update(CACHE_TYPE="RedisCache", CACHE_REDIS_URL=REDIS_URL)
    app.config.update(config)
    PerfKit(app)
    return app


@pytest.fixture(params=["simple", "redis"])
def cache_app(request: pytest.FixtureRequest) -> Iterator[Flask]:
    if request.param == "redis":
        require("Redis", REDIS_URL)
    app = make_cache_app(request.param)
    funcs.calls.clear()
    with app.app_context():
        yield app
        app.extensions["perfkit"].cache.invalidate()


def perfkit_of(app: Flask) -> PerfKit:
    return t.cast(PerfKit, app.extensions["perfkit"])


def test_a_hit_skips_the_function_and_none_is_cached(cache_app: Flask) -> None:
    assert funcs.square(3) == 9
    assert funcs.square(3) == 9
    assert funcs.count("square") == 1
    assert funcs.nothing(1) is None
    assert funcs.nothing(1) is None
    assert funcs.count("nothing") == 1
    stats = perfkit_of(cache_app).cache.stats()
    assert stats["short"]["hits"] == 1 and stats["short"]["misses"] == 1
    assert stats["short"]["sets"] == 1 and stats["short"]["hit_rate"] == 0.5
    assert stats["medium"]["hits"] == 1


def test_arguments_are_bound_to_the_signature(cache_app: Flask) -> None:
    assert funcs.square(2, b=1) == funcs.square(a=2, b=1) == 5
    assert funcs.count("square") == 1
    assert funcs.square.make_cache_key(2) == funcs.square.make_cache_key(2, 0)
    assert funcs.square.make_cache_key(2) != funcs.square.make_cache_key(2, None)
    key = funcs.square.make_cache_key(2)
    prefix = cache_app.config["PERFKIT_CACHE_KEY_PREFIX"]
    assert key.startswith(f"{prefix}short:tests.cached_functions.square:")
    assert funcs.nothing.make_cache_key(1).startswith(f"{prefix}medium:nothing:")


def test_argument_digests_are_the_same_in_every_release() -> None:
    # Keys written by one deploy are read by the next: the digest of these values is fixed.
    def f(a: t.Any, b: t.Any = None, *args: t.Any, **kwargs: t.Any) -> None:
        return None

    kwargs = {
        "when": datetime.datetime(2026, 1, 2, 3, 4, 5, 6),
        "amount": decimal.Decimal("1.10"),
        "id": uuid.UUID(int=7),
        "tags": {"b", "a"},
        "map": {"k": datetime.date(2026, 1, 1), 2: datetime.time(1, 2)},
        "status": http.HTTPStatus.OK,
        "cls": int,
    }
    digest = ArgumentKey(f).digest((1, [2.5, (b"x", None)]), kwargs)
    assert digest == "5e70d3c811ec7afe0f74d8fccf0806cb"


def test_text_with_lone_surrogates_is_keyed(cache_app: Flask) -> None:
    # json.loads('"\\ud800"') gives such text: it comes from any JSON request body.
    calls: list[str] = []

    @cache_short
    def last_char(text: str) -> int:
        calls.append(text)
        return ord(text[-1])

    values = ["a\ud800", "a\udc00", "a" + "\ud800" * 300]
    for text in values * 2:
        assert last_char(text) == ord(text[-1])
    assert last_char(text="a\ud800") == 0xD800
    assert calls == values


class Repository:
    table = "clients"
    fetched: t.ClassVar[list[str]] = []

    @classmethod
    @cache_short
    def fetch(cls, row_id: int) -> str:
        cls.fetched.append(cls.table)
        return f"{cls.table}/{row_id}"


class ArchiveRepository(Repository):
    table = "archive"


def test_classmethods_key_each_class_apart(cache_app: Flask) -> None:
    Repository.fetched.clear()
    # CachedFunction is not a descriptor to type checkers: call through Any.
    repository: t.Any = Repository
    archive: t.Any = ArchiveRepository
    for _ in range(2):
        assert repository.fetch(1) == "clients/1"
        assert archive.fetch(1) == "archive/1"
    assert Repository.fetched == ["clients", "archive"]
    cache_app.extensions["perfkit"].cache.invalidate(prefix="tests.test_cache.Repository")


def test_uncached_and_timeouts(cache_app: Flask) -> None:
    assert funcs.square.uncached(4) == 16
    assert funcs.square.uncached(4) == 16
    assert funcs.count("square") == 2
    assert funcs.square.cache_timeout() == 300
    assert funcs.nothing.cache_timeout() == 600
    assert funcs.slow_double.cache_timeout() == 3600


class Base(DeclarativeBase):
    pass


class Client(Base):
    __tablename__ = "cache_clients"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(50))


def test_sessions_are_left_out_and_orm_objects_keyed_by_identity(cache_app: Flask) -> None:
    engine = sa.create_engine("sqlite://")
    Base.metadata.create_all(engine)
    seen: list[int] = []

    @cache_short
    def client_name(session: Session, client: Client) -> str:
        seen.append(client.id)
        return client.name

    with Session(engine) as first, Session(engine) as second:
        first.add(Client(id=1, name="Acme"))
        first.commit()
        one = first.get(Client, 1)
        two = second.get(Client, 1)
        assert one is not None and two is not None
        assert client_name(first, one) == "Acme"
        assert client_name(second, two) == "Acme"
    assert seen == [1]
    with pytest.raises(UnkeyableArgument, match="'client'") as info:
        client_name(Session(engine), Client(name="transient"))
    assert isinstance(info.value, TypeError)
    with pytest.raises(UnkeyableArgument, match="'a'"):
        funcs.square(object())  # type: ignore[arg-type]


def test_keys_are_the_same_in_another_process(tmp_path: Path) -> None:
    require("Redis", REDIS_URL)
    prefix = f"{REDIS_KEY_PREFIX}{uuid.uuid4().hex[:8]}:"
    script = f"""
from flask import Flask
from flask_perfkit import PerfKit
from tests import cached_functions as funcs
app = Flask("other")
app.config.update(CACHE_TYPE="RedisCache", CACHE_REDIS_URL={REDIS_URL!r},
                  PERFKIT_CACHE_KEY_PREFIX={prefix!r})
PerfKit(app)
with app.app_context():
    assert funcs.square(7, b=1) == 50
    print(funcs.square.make_cache_key(7, b=1))
"""
    env = {**os.environ, "PYTHONHASHSEED": "999"}
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parent.parent,
        env=env,
    ).stdout.strip()
    app = make_cache_app("redis", PERFKIT_CACHE_KEY_PREFIX=prefix)
    funcs.calls.clear()
    with app.app_context():
        assert funcs.square.make_cache_key(a=7, b=1) == out
        assert funcs.square(7, 1) == 50
        assert funcs.count("square") == 0
        perfkit_of(app).cache.invalidate()


def test_views_are_keyed_by_path_and_sorted_query_string() -> None:
    app = make_cache_app("simple")
    hits: list[str] = []

    @app.get("/items")
    @cache_short
    def items() -> dict[str, t.Any]:
        from flask import request

        hits.append(request.query_string.decode())
        return {"args": sorted(request.args.items(multi=True))}

    client = app.test_client()
    for query in ("a=1&b=2", "b=2&a=1", "page=1", "page=2", "page=2&x=1", "a=1&a=2", "a=2&a=1"):
        assert client.get(f"/items?{query}").status_code == 200
    # The values of a repeated argument keep their order: getlist() tells them apart.
    assert hits == ["a=1&b=2", "page=1", "page=2", "page=2&x=1", "a=1&a=2", "a=2&a=1"]
    long_query = "q=" + "x" * 10_000
    assert client.get(f"/items?{long_query}").status_code == 200
    with app.app_context():
        keys = list(perfkit_of(app).cache.backend._cache)
    assert len({len(k) for k in keys}) == 1, "a 10 KB query string is hashed like any other"


def test_vary_on_and_unless() -> None:
    app = make_cache_app("simple")
    computed: list[str] = []

    @cached("short", vary_on=lambda: g.get("user"), unless=lambda: g.get("user") == "admin")
    def dashboard() -> str:
        computed.append(g.user)
        return f"data of {g.user}"

    for user in ("alice", "bob", "alice", "bob", "admin", "admin"):
        with app.test_request_context():
            g.user = user
            assert dashboard() == f"data of {user}"
    assert computed == ["alice", "bob", "admin", "admin"]


def test_invalidation_by_tier_prefix_function_and_call(cache_app: Flask) -> None:
    cache = perfkit_of(cache_app).cache
    for i in range(3):
        funcs.square(i)
        funcs.nothing(i)
    assert funcs.square.invalidate(1) == 1
    funcs.square(1)
    assert funcs.count("square") == 4
    assert cache.invalidate(prefix="nothing") == 3
    assert cache.invalidate(funcs.square) == 3
    funcs.square(0)
    funcs.slow_double(1, delay=0)
    assert cache.invalidate(tier="short") == 1
    assert cache.invalidate() == 1
    assert cache.invalidate() == 0


def test_clearing_never_touches_other_keys() -> None:
    require("Redis", REDIS_URL)
    app = make_cache_app("redis")
    client = redis.Redis.from_url(REDIS_URL)
    client.set(f"{REDIS_KEY_PREFIX}someone-else:key", b"keep me")
    try:
        with app.app_context():
            funcs.square(11)
            http = app.test_client()
            headers = {"Authorization": f"Bearer {TOKEN}"}
            response = http.post("/health/cache/clear", headers=headers)
            assert response.get_json()["cleared"] == 1
            assert http.post("/health/cache/clear", headers=headers).get_json()["cleared"] == 0
        assert client.get(f"{REDIS_KEY_PREFIX}someone-else:key") == b"keep me"
    finally:
        client.delete(f"{REDIS_KEY_PREFIX}someone-else:key")
        client.close()


def test_model_commits_drop_dependent_entries(tmp_path: Path) -> None:
    app = make_cache_app("simple", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'm.db'}")
    db = SQLAlchemy(model_class=Base)
    db.init_app(app)
    counted: list[int] = []

    @cached("medium", invalidate_on=[Client])
    def client_count() -> int:
        counted.append(1)
        return int(db.session.scalar(sa.select(sa.func.count()).select_from(Client)) or 0)

    with app.app_context():
        Base.metadata.create_all(db.engine)
        assert client_count() == 0
        assert client_count() == 0
        db.session.add(Client(id=5, name="New"))
        db.session.commit()
        assert client_count() == 1
        db.session.execute(sa.update(Client).values(name="Renamed"))
        db.session.commit()
        assert client_count() == 1
        db.session.add(Client(id=6, name="Rolled back"))
        db.session.flush()
        db.session.rollback()
        assert client_count() == 1
        assert len(counted) == 3
        db.engine.dispose()


class Ledger(Base):
    __tablename__ = "cache_ledger_rows"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(50))


LEDGER = t.cast(sa.Table, Ledger.__table__)


def test_commits_after_a_savepoint_or_a_table_statement_drop_entries() -> None:
    require("PostgreSQL", POSTGRES_URL)
    app = make_cache_app("redis", SQLALCHEMY_DATABASE_URI=POSTGRES_URL)
    db = SQLAlchemy(model_class=Base)
    db.init_app(app)
    computed: list[str] = []

    @cached("medium", invalidate_on=[Ledger])
    def ledger_name(row_id: int) -> str:
        name = db.session.get_one(Ledger, row_id).name
        computed.append(name)
        return name

    with app.app_context():
        LEDGER.create(db.engine, checkfirst=True)
        try:
            db.session.add(Ledger(id=1, name="first"))
            db.session.commit()
            assert ledger_name(1) == "first"
            # A change flushed before a savepoint that is rolled back is still committed.
            db.session.get_one(Ledger, 1).name = "second"
            db.session.flush()
            savepoint = db.session.begin_nested()
            db.session.add(Ledger(id=2, name="dropped"))
            db.session.flush()
            savepoint.rollback()
            db.session.commit()
            assert ledger_name(1) == "second"
            # A Core statement on the mapped table.
            db.session.execute(sa.update(LEDGER).values(name="third"))
            db.session.commit()
            db.session.expire_all()
            assert ledger_name(1) == "third"
            # A rolled-back transaction drops nothing.
            db.session.get_one(Ledger, 1).name = "never"
            db.session.flush()
            db.session.rollback()
            assert ledger_name(1) == "third"
            assert computed == ["first", "second", "third"]
        finally:
            db.session.rollback()
            perfkit_of(app).cache.invalidate(ledger_name)
            LEDGER.drop(db.engine)
            db.engine.dispose()


def test_a_savepoint_commit_waits_for_the_real_commit() -> None:
    require("PostgreSQL", POSTGRES_URL)
    app = make_cache_app("redis", SQLALCHEMY_DATABASE_URI=POSTGRES_URL)
    db = SQLAlchemy(model_class=Base)
    db.init_app(app)

    @cached("medium", invalidate_on=[Ledger])
    def ledger_name(session: Session, row_id: int) -> str:
        return session.get_one(Ledger, row_id).name

    with app.app_context():
        LEDGER.create(db.engine, checkfirst=True)
        try:
            db.session.add(Ledger(id=1, name="first"))
            db.session.commit()
            db.session.get_one(Ledger, 1).name = "second"
            db.session.flush()
            with db.session.begin_nested():
                pass
            # Another request reads, and caches, what is committed so far.
            with Session(db.engine) as other:
                assert ledger_name(other, 1) == "first"
            db.session.commit()
            with Session(db.engine) as other:
                assert ledger_name(other, 1) == "second"
        finally:
            db.session.rollback()
            perfkit_of(app).cache.invalidate(ledger_name)
            LEDGER.drop(db.engine)
            db.engine.dispose()


def _assert_degrades(app: Flask, budget: float) -> None:
    errors: list[str] = []
    with (
        app.app_context(),
        cache_error.connected_to(lambda s, tier, error: errors.append(error), app),
    ):
        funcs.calls.clear()
        for i in range(6):
            start = time.monotonic()
            assert funcs.square(i) == i * i
            assert time.monotonic() - start < budget
        assert funcs.count("square") == 6
        cache = perfkit_of(app).cache
        assert cache.circuit_open
        assert cache.stats()["short"]["errors"] >= 3
        assert errors and set(errors) <= {"connection refused", "timeout", "connection lost"}
        start = time.monotonic()
        for i in range(20):
            funcs.square(i)
        assert time.monotonic() - start < 0.2, "an open breaker leaves the backend alone"
    response = app.test_client().get("/health/ready")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "warn"
    assert body["checks"]["cache"]["status"] == "fail"


@pytest.mark.parametrize("debug", [False, True])
def test_refused_redis_leaves_every_call_correct(debug: bool) -> None:
    app = make_cache_app("redis", CACHE_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0", DEBUG=debug)
    _assert_degrades(app, budget=0.5)


def test_black_holed_redis_leaves_every_call_correct_and_fast(black_hole: int) -> None:
    app = make_cache_app("redis", CACHE_REDIS_URL=f"redis://127.0.0.1:{black_hole}/0")
    written = {key for key in app.config if key.startswith("CACHE_")}
    assert written == {"CACHE_TYPE", "CACHE_REDIS_URL"}
    with app.app_context():
        pool = perfkit_of(app).cache.backend._write_client.connection_pool
    assert pool.connection_kwargs["socket_timeout"] == 0.25
    _assert_degrades(app, budget=0.25 + 0.25)


def test_garbage_in_redis_is_a_miss() -> None:
    require("Redis", REDIS_URL)
    app = make_cache_app("redis")
    client = redis.Redis.from_url(REDIS_URL)
    with app.app_context():
        outer = perfkit_of(app).cache.backend._get_prefix()
        for garbage in (b"not a pickle", b"!\x80\x04truncated", b"123"):
            client.set(outer + funcs.square.make_cache_key(9), garbage)
            funcs.calls.clear()
            assert funcs.square(9) == 81
            assert funcs.count("square") == 1
        perfkit_of(app).cache.invalidate()
    client.close()


def test_concurrent_misses_compute_once(cache_app: Flask) -> None:
    barrier = threading.Barrier(8)
    results: list[int] = []

    def call() -> None:
        with cache_app.app_context():
            barrier.wait()
            results.append(funcs.slow_double(21))

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [42] * 8
    assert funcs.count("slow_double") == 1


def test_a_failing_computation_fails_only_its_caller(cache_app: Flask) -> None:
    attempts: list[int] = []
    lock = threading.Lock()

    @cache_short
    def flaky(a: int) -> int:
        with lock:
            attempts.append(a)
            first = len(attempts) == 1
        time.sleep(0.1)
        if first:
            raise ValueError("the first caller fails")
        return a

    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def call() -> None:
        with cache_app.app_context():
            barrier.wait()
            try:
                outcomes.append(f"ok {flaky(1)}")
            except ValueError:
                outcomes.append("raised")

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok 1", "ok 1", "ok 1", "raised"]
    assert len(attempts) == 2


def test_a_computation_that_keeps_failing_releases_its_waiters(cache_app: Flask) -> None:
    lock = threading.Lock()
    running: list[int] = []
    overlaps: list[int] = []

    @cache_short
    def missing(a: int) -> int:
        with lock:
            running.append(a)
            overlaps.append(len(running))
        time.sleep(0.1)
        with lock:
            running.remove(a)
        raise LookupError("no such row")

    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def call() -> None:
        with cache_app.app_context():
            barrier.wait()
            try:
                missing(1)
            except LookupError:
                outcomes.append("raised")

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == ["raised"] * 8 and len(overlaps) == 8
    # Two turns, then the remaining six waiters run side by side.
    assert overlaps[:2] == [1, 1] and max(overlaps) > 1


def test_direct_api_never_raises_and_tells_miss_from_none() -> None:
    app = make_cache_app("redis", CACHE_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    with app.app_context():
        cache = perfkit_of(app).cache
        assert cache.get("k") is MISS
        assert cache.set("k", 1) is False
        assert cache.delete("k") is False
    app = make_cache_app("simple")
    with app.app_context():
        cache = perfkit_of(app).cache
        assert cache.set("k", None) is True
        assert cache.get("k") is None
        assert cache.get("other") is MISS


def test_cache_endpoints(cache_app: Flask) -> None:
    funcs.square(1)
    funcs.square(1)
    client = cache_app.test_client()
    body = client.get("/health/cache").get_json()
    assert body["status"] == "pass"
    assert body["tiers"]["short"]["hits"] == 1
    assert body["tiers"]["short"]["timeout"] == 300
    assert set(client.get("/health/cache?tier=short").get_json()["tiers"]) == {"short"}
    bad = client.get("/health/cache?tier=huge")
    assert bad.status_code == 400 and bad.get_json()["param"] == "tier"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert client.post("/health/cache/reset-stats").status_code == 401
    assert client.get("/health/cache/reset-stats", headers=headers).status_code == 405
    assert client.post("/health/cache/reset-stats", headers=headers).status_code == 200
    assert client.get("/health/cache").get_json()["tiers"]["short"]["hits"] == 0
    cleared = client.post("/health/cache/clear?tier=short", headers=headers).get_json()
    assert cleared["cleared"] == 1 and cleared["tier"] == "short"
    ready = client.get("/health/ready").get_json()
    assert ready["checks"]["cache"]["status"] == "pass"


def test_disabled_perfkit_calls_through() -> None:
    app = Flask(__name__)
    app.config["PERFKIT_ENABLED"] = False
    PerfKit(app)
    funcs.calls.clear()
    with app.app_context():
        funcs.square(2)
        funcs.square(2)
    funcs.square(2)
    assert funcs.count("square") == 3


def test_backend_errors_are_logged_at_most_once_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = make_cache_app(
        "redis",
        CACHE_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
        PERFKIT_CACHE_BREAKER_FAILURES=1000,
    )
    with app.app_context(), caplog.at_level("WARNING", logger="flask_perfkit"):
        for i in range(10):
            assert funcs.square(i) == i * i
        stats = perfkit_of(app).cache.stats()["short"]
        assert stats["errors"] == 10, "one backend call per call while the backend fails"
        assert stats["misses"] == 10 and stats["sets"] == 0
    lines = [r for r in caplog.records if "cache backend failed" in r.getMessage()]
    assert len(lines) == 1
    assert "connection refused" in lines[0].getMessage()


def test_remembered_digests_keep_types_and_values_apart(cache_app: Flask) -> None:
    from flask_perfkit import cache_keys

    @cache_short
    def echo(a: t.Any, b: t.Any = None) -> t.Any:
        return [a, b]

    cases: list[tuple[tuple[t.Any, ...], dict[str, t.Any]]] = [
        ((1,), {}),
        ((True,), {}),
        (("1",), {}),
        ((b"1",), {}),
        ((None,), {}),
        ((1,), {"b": 1}),
        ((1,), {"b": True}),
        ((), {"a": 1, "b": "x"}),
        (("x" * 300,), {}),
        (("x" * 301,), {}),
    ]
    keys = [echo.make_cache_key(*args, **kwargs) for args, kwargs in cases]
    again = [echo.make_cache_key(*args, **kwargs) for args, kwargs in cases]
    assert keys == again
    assert len(set(keys)) == len(cases)
    assert echo.make_cache_key(1) == echo.make_cache_key(a=1) == echo.make_cache_key(1, None)
    for args, kwargs in cases:
        assert echo(*args, **kwargs) == echo.uncached(*args, **kwargs)
    for i in range(cache_keys.MEMO_SIZE + 10):
        echo.make_cache_key(i)
    assert echo.make_cache_key(True) == keys[1]
