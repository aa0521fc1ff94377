"""A cache hit: PerfKit's ``@cache_short`` against Flask-Caching's ``memoize`` and a raw get.

For each backend (SimpleCache in process, and the local Redis when it is reachable), one app
with Flask-Caching and PerfKit; every case reads an entry that is already cached, with the
same argument, inside an app context:

- the backend's raw ``get`` of one key (the floor: one round trip);
- ``@cache_short`` (one ``get`` per hit);
- Flask-Caching's ``@cache.memoize`` (a version-key read, then the value).

Targets: at least 3x faster than ``memoize`` on SimpleCache and 2x on Redis, and within 1.5x
of the raw ``get`` on Redis.
"""

from __future__ import annotations

import os
import typing as t

from flask import Flask
from flask_caching import Cache

from flask_perfkit import PerfKit
from flask_perfkit import cache_short

from ._harness import Case
from ._harness import listening
from ._harness import measure
from ._harness import report

REDIS_URL = os.environ.get("PERFKIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@cache_short
def perfkit_lookup(client_id: int) -> dict[str, t.Any]:
    return {"id": client_id, "name": f"client {client_id}", "tags": ["a", "b"]}


def _bench(backend: str) -> list[str]:
    app = Flask(f"bench_{backend}")
    app.config["PERFKIT_CACHE_KEY_PREFIX"] = "pkbench:"
    if backend == "Redis":
        app.config.update(CACHE_TYPE="RedisCache", CACHE_REDIS_URL=REDIS_URL)
    else:
        app.config["CACHE_TYPE"] = "SimpleCache"
    cache = Cache()
    perfkit = PerfKit(app, cache=cache)
    cache.init_app(app)

    @cache.memoize(timeout=300)
    def memoized_lookup(client_id: int) -> dict[str, t.Any]:
        return {"id": client_id, "name": f"client {client_id}", "tags": ["a", "b"]}

    ctx = app.app_context()
    ctx.push()
    try:
        raw_backend = app.extensions["cache"][cache]
        raw_backend.set("pkbench:raw", ("pk1", perfkit_lookup.uncached(7)), timeout=300)
        perfkit_lookup(7)
        memoized_lookup(7)

        def raw_get() -> object:
            return raw_backend.get("pkbench:raw")

        def perfkit_hit() -> object:
            return perfkit_lookup(7)

        def memoize_hit() -> object:
            return memoized_lookup(7)

        number = 2000 if backend == "SimpleCache" else 500
        cases = [
            Case(f"{backend}: raw get", raw_get),
            Case(
                f"{backend}: @cache_short hit",
                perfkit_hit,
                baseline=f"{backend}: raw get",
                target=1.5 if backend == "Redis" else None,
            ),
            Case(f"{backend}: Flask-Caching memoize hit", memoize_hit),
            Case(
                f"{backend}: @cache_short vs memoize",
                perfkit_hit,
                baseline=f"{backend}: Flask-Caching memoize hit",
                faster_than=3.0 if backend == "SimpleCache" else 2.0,
            ),
        ]
        results = measure(cases, number=number, repeat=15)
        stats = perfkit.cache.stats()["short"]
        assert stats["errors"] == 0, stats
        missed = report(f"Cache hit on {backend}", results)
        perfkit.cache.invalidate()
        raw_backend.delete("pkbench:raw")
        cache.delete_memoized(memoized_lookup)
        return missed
    finally:
        ctx.pop()


def run() -> list[str]:
    missed = _bench("SimpleCache")
    if listening(6379):
        missed += _bench("Redis")
    else:
        print("\nRedis is not reachable on 127.0.0.1:6379; its cache benchmark was skipped.")
    return missed
