"""A cache hit: PerfKit's ``@cache_short`` against Flask-Caching's ``memoize`` and a raw get.

For each backend (SimpleCache in process, and the local Redis when it is reachable), one app
with Flask-Caching and PerfKit; every case reads an entry that is already cached, with the
same argument, inside an app context:

- the backend's raw ``get`` of one key (the floor: one round trip and the unpickling);
- on Redis, redis-py's own ``GET`` of that key, without unpickling;
- ``@cache_short`` (one ``get`` per hit);
- Flask-Caching's ``@cache.memoize`` (a version-key read, then the value).

Targets: at least 3x faster than ``memoize`` on SimpleCache and 2x on Redis, and within 1.2x
of the raw ``get`` on Redis. On SimpleCache, the hit's time minus the raw ``get`` is what
PerfKit adds to every hit (building the key, the envelope, counting); on Redis the same work
sits on top of a round trip.
"""

from __future__ import annotations

import os
import typing as t

import redis
from flask import Flask
from flask_caching import Cache

from flask_perfkit import PerfKit
from flask_perfkit import cache_short

from ._harness import Case
from ._harness import listening
from ._harness import measure
from ._harness import report

REDIS_URL = os.environ.get("PERFKIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
KEY_PREFIX = "perfkit_bench_"


@cache_short
def perfkit_lookup(client_id: int) -> dict[str, t.Any]:
    return {"id": client_id, "name": f"client {client_id}", "tags": ["a", "b"]}


def _bench(backend: str) -> list[str]:
    app = Flask(f"bench_{backend}")
    app.config["PERFKIT_CACHE_KEY_PREFIX"] = "pkbench:"
    if backend == "Redis":
        # A prefix of the benchmark's own, so every key it leaves can be found and deleted.
        app.config.update(
            CACHE_TYPE="RedisCache", CACHE_REDIS_URL=REDIS_URL, CACHE_KEY_PREFIX=KEY_PREFIX
        )
    else:
        app.config["CACHE_TYPE"] = "SimpleCache"
    cache = Cache()
    perfkit = PerfKit(app, cache=cache)
    cache.init_app(app)

    @cache.memoize(timeout=300)
    def memoized_lookup(client_id: int) -> dict[str, t.Any]:
        return {"id": client_id, "name": f"client {client_id}", "tags": ["a", "b"]}

    raw_backend = app.extensions["cache"][cache]
    ctx = app.app_context()
    ctx.push()
    try:
        raw_backend.set("pkbench:raw", ("pk1", perfkit_lookup.uncached(7)), timeout=300)
        perfkit_lookup(7)
        memoized_lookup(7)

        def raw_get() -> object:
            return raw_backend.get("pkbench:raw")

        client = getattr(raw_backend, "_read_client", None)
        full_key = f"{app.config.get('CACHE_KEY_PREFIX', 'flask_cache_')}pkbench:raw"

        def client_get() -> object:
            return client.get(full_key) if client is not None else None

        def perfkit_hit() -> object:
            return perfkit_lookup(7)

        def memoize_hit() -> object:
            return memoized_lookup(7)

        number = 2000 if backend == "SimpleCache" else 100
        cases = [
            Case(f"{backend}: raw get", raw_get),
            *([Case(f"{backend}: redis-py GET", client_get)] if backend == "Redis" else []),
            Case(
                f"{backend}: @cache_short hit",
                perfkit_hit,
                baseline=f"{backend}: raw get",
                target=1.2 if backend == "Redis" else None,
            ),
            Case(f"{backend}: Flask-Caching memoize hit", memoize_hit),
            Case(
                f"{backend}: @cache_short vs memoize",
                perfkit_hit,
                baseline=f"{backend}: Flask-Caching memoize hit",
                faster_than=3.0 if backend == "SimpleCache" else 2.0,
            ),
        ]
        results = measure(cases, number=number, repeat=15 if backend == "SimpleCache" else 151)
        stats = perfkit.cache.stats()["short"]
        assert stats["errors"] == 0, stats
        return report(f"Cache hit on {backend}", results)
    finally:
        # Also when a measurement fails, so the shared Redis keeps nothing of the run.
        perfkit.cache.invalidate()
        raw_backend.delete("pkbench:raw")
        cache.delete_memoized(memoized_lookup)
        ctx.pop()
        if backend == "Redis":
            # Flask-Caching leaves memoize's version keys behind.
            client = redis.Redis.from_url(REDIS_URL)
            for key in client.scan_iter(match=f"{KEY_PREFIX}*"):
                client.delete(key)
            client.close()


def run() -> list[str]:
    missed = _bench("SimpleCache")
    if listening(6379):
        missed += _bench("Redis")
    else:
        print("\nRedis is not reachable on 127.0.0.1:6379; its cache benchmark was skipped.")
    return missed
