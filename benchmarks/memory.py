"""Process memory after a long run of unique statements and unique N+1 patterns.

Each case runs in a fresh Python process, so one case's garbage or allocator state never
counts toward another's, with PerfKit on and with ``PERFKIT_ENABLED = False`` (the same app,
the same work):

- statements: 200,000 statements on SQLite, each with a pattern of its own (a unique column
  alias), run in an app context outside requests;
- N+1: 20,000 requests, each running its own SELECT pattern 5 times, so each request adds an
  N+1 suspect.

The resident set size (RSS) is read from ``/proc/self/status`` after a full garbage
collection. Targets: with PerfKit on, the process stays within 1.25x the RSS it has with
PerfKit off, and PerfKit's structures stay within their configured bounds.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import typing as t

import sqlalchemy as sa
from flask import Flask

from flask_perfkit import PerfKit

STATEMENTS = 200_000
N_PLUS_ONE_REQUESTS = 20_000
#: The highest acceptable ratio of RSS with PerfKit on to RSS with PerfKit off.
TARGET = 1.25


def _rss_mib() -> float:
    gc.collect()
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("VmRSS is not in /proc/self/status")


def _app(enabled: bool) -> tuple[Flask, sa.Engine]:
    app = Flask("memory_benchmark")
    app.config.update(
        PERFKIT_ENABLED=enabled, PERFKIT_HEALTH_URL_PREFIX=None, SECRET_KEY="memory benchmark"
    )
    engine = sa.create_engine("sqlite://")
    PerfKit(app, engine=engine)
    return app, engine


def _statements(app: Flask, engine: sa.Engine) -> None:
    with app.app_context(), engine.connect() as conn:
        for n in range(STATEMENTS):
            conn.exec_driver_sql(f"SELECT 1 AS unique_{n}")


def _n_plus_one(app: Flask, engine: sa.Engine) -> None:
    @app.get("/<int:n>")
    def view(n: int) -> str:
        with engine.connect() as conn:
            for _ in range(5):
                conn.exec_driver_sql(f"SELECT 1 AS suspect_{n}")
        return "ok"

    client = app.test_client()
    for n in range(N_PLUS_ONE_REQUESTS):
        client.get(f"/{n}")


SCENARIOS: dict[str, t.Callable[[Flask, sa.Engine], None]] = {
    "statements": _statements,
    "n_plus_one": _n_plus_one,
}


def child(scenario: str, enabled: bool) -> dict[str, t.Any]:
    """Run one case in this process and measure it."""
    app, engine = _app(enabled)
    with app.app_context(), engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
    before = _rss_mib()
    SCENARIOS[scenario](app, engine)
    after = _rss_mib()
    memory = None
    if enabled:
        import dataclasses

        from flask_perfkit._state import get_state

        usage = get_state(app).memory()
        memory = {name: dataclasses.asdict(entry) for name, entry in usage.items()}
    return {"before": before, "after": after, "memory": memory}


def _measure(scenario: str, enabled: bool) -> dict[str, t.Any]:
    command = [sys.executable, "-m", "benchmarks.memory", scenario, "on" if enabled else "off"]
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=os.environ)
    return t.cast(dict[str, t.Any], json.loads(done.stdout.strip().splitlines()[-1]))


def run() -> list[str]:
    print("\nProcess memory (RSS) after a long run, each case in a fresh process")
    print(f"{'case':<34} {'off':>9} {'on':>9} {'on/off':>7} {'added':>9}  target")
    missed = []
    for scenario, label in (
        ("statements", f"{STATEMENTS:,} unique statements"),
        ("n_plus_one", f"{N_PLUS_ONE_REQUESTS:,} unique N+1 patterns"),
    ):
        off = _measure(scenario, False)
        on = _measure(scenario, True)
        ratio = on["after"] / off["after"]
        added = on["after"] - off["after"]
        bounded = all(u["entries"] <= u["limit"] for u in on["memory"].values())
        ok = ratio <= TARGET and bounded
        verdict = f"<= {TARGET}x and bounded: {'PASS' if ok else 'MISS'}"
        print(
            f"{label:<34} {off['after']:>5.1f} MiB {on['after']:>5.1f} MiB"
            f" {ratio:>6.2f}x {added:>5.1f} MiB  {verdict}"
        )
        usage = ", ".join(
            f"{name} {u['entries']}/{u['limit']} (evicted {u['evictions']})"
            for name, u in on["memory"].items()
            if u["entries"] or u["evictions"]
        )
        print(f"    PerfKit's structures: {usage}")
        if not ok:
            missed.append(f"memory after {label}")
    return missed


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1], sys.argv[2] == "on")))
