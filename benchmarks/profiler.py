"""The cost PerfKit's query timing adds to one statement, against the floor and a peer.

Each case runs ``SELECT 1`` through a Connection on its own SQLite engine, inside an app
context (Flask-SQLAlchemy records nothing without one):

- no listener: the baseline;
- the floor: the least a timer can do, a ``before_cursor_execute`` listener that stores a
  start time and an ``after_cursor_execute`` listener that appends the duration to a list;
- Flask-SQLAlchemy with ``SQLALCHEMY_RECORD_QUERIES``;
- PerfKit, grouping included (it groups in batches, so the batches are part of the timing).

Added cost is the case's time minus the baseline's. Targets: PerfKit's added cost at most
1.3x the floor's, and below Flask-SQLAlchemy's.
"""

from __future__ import annotations

import typing as t
from time import perf_counter

import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_perfkit import PerfKit

from ._harness import measure

NUMBER = 2000
SELECT_1 = sa.text("SELECT 1")


def _runner(engine: sa.Engine, app: Flask) -> t.Callable[[], object]:
    conn = engine.connect()
    ctx = app.app_context()
    ctx.push()

    def run() -> object:
        return conn.execute(SELECT_1)

    return run


def _floor(engine: sa.Engine) -> list[float]:
    durations: list[float] = []

    @sa.event.listens_for(engine, "before_cursor_execute")
    def before(
        conn: t.Any, cursor: t.Any, statement: str, params: t.Any, context: t.Any, many: bool
    ) -> None:
        context._floor_start = perf_counter()

    @sa.event.listens_for(engine, "after_cursor_execute")
    def after(
        conn: t.Any, cursor: t.Any, statement: str, params: t.Any, context: t.Any, many: bool
    ) -> None:
        durations.append(perf_counter() - context._floor_start)
        if len(durations) > 100_000:
            durations.clear()

    return durations


def run() -> list[str]:
    plain = Flask("plain")
    bare_engine = sa.create_engine("sqlite://")
    floor_engine = sa.create_engine("sqlite://")
    _floor(floor_engine)

    fsa_app = Flask("fsa")
    fsa_app.config.update(SQLALCHEMY_DATABASE_URI="sqlite://", SQLALCHEMY_RECORD_QUERIES=True)
    fsa_db = SQLAlchemy()
    fsa_db.init_app(fsa_app)
    with fsa_app.app_context():
        fsa_engine = fsa_db.engine

    perfkit_app = Flask("perfkit")
    perfkit_engine = sa.create_engine("sqlite://")
    PerfKit(perfkit_app, engine=perfkit_engine)

    fsa_run = _runner(fsa_engine, fsa_app)

    def fsa_case() -> object:
        # Flask-SQLAlchemy keeps every record of an app context; start a fresh list as a
        # request would, so memory stays flat.
        from flask import g

        queries = g.__dict__.get("_sqlalchemy_queries")
        if queries is not None and len(queries) >= NUMBER:
            queries.clear()
        return fsa_run()

    cases = [
        ("no listener", _runner(bare_engine, plain)),
        ("floor: minimal timing listener pair", _runner(floor_engine, plain)),
        ("Flask-SQLAlchemy SQLALCHEMY_RECORD_QUERIES", fsa_case),
        ("PerfKit", _runner(perfkit_engine, perfkit_app)),
    ]
    from ._harness import Case

    results = measure([Case(name, func) for name, func in cases], number=NUMBER, repeat=21)
    times = {r.case.name: r.median_ns for r in results}
    base = times["no listener"]
    added = {name: times[name] - base for name in times}
    floor = added["floor: minimal timing listener pair"]
    print("\nQuery timing: SELECT 1 on SQLite through a Connection")
    print(f"{'case':<44} {'per query':>11} {'added':>10} {'added / floor':>14}")
    for name, value in times.items():
        ratio = "" if name == "no listener" else f"{added[name] / floor:.2f}x"
        print(f"{name:<44} {value / 1000:>8.2f} us {added[name] / 1000:>7.2f} us {ratio:>14}")
    missed = []
    perfkit_ratio = added["PerfKit"] / floor
    fsa = added["Flask-SQLAlchemy SQLALCHEMY_RECORD_QUERIES"]
    verdict = "PASS" if perfkit_ratio <= 1.3 else "MISS"
    print(f"PerfKit added cost <= 1.3x the floor's: {perfkit_ratio:.2f}x {verdict}")
    if verdict == "MISS":
        missed.append("PerfKit added cost vs floor")
    verdict = "PASS" if added["PerfKit"] < fsa else "MISS"
    share = added["PerfKit"] / fsa
    print(f"PerfKit added cost below Flask-SQLAlchemy's: {share:.2f}x of it {verdict}")
    if verdict == "MISS":
        missed.append("PerfKit added cost vs Flask-SQLAlchemy")
    return missed
