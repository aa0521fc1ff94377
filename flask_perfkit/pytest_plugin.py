"""The pytest plugin of flask-perfkit, registered through the ``pytest11`` entry point.

Installing flask-perfkit is enough to use it, and ``-p no:perfkit`` turns it off. It gives
the ``perfkit_queries`` fixture, the ``max_queries`` and ``allow_n_plus_one`` markers, and the
``--perfkit-n-plus-one``, ``--perfkit-record`` and ``--perfkit-explain`` options; see
:doc:`/testing`. A test that uses none of them runs as it would without the plugin.

pytest loads this module in every run of the environment, so it imports only pytest and the
standard library; the rest (Flask, SQLAlchemy, the recorder) is imported by the hooks and
the fixture the first time a test needs it.
"""

from __future__ import annotations

import typing as t

import pytest

if t.TYPE_CHECKING:
    from .testing.queries import QueryRecorder
    from .testing.session import Settings

MODES = ("fail", "warn", "off")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("perfkit", "flask-perfkit: the SQL queries of tests")
    group.addoption(
        "--perfkit-n-plus-one",
        dest="perfkit_n_plus_one",
        choices=MODES,
        default=None,
        help="What an N+1 query in a watched test does: fail (default), warn or off.",
    )
    group.addoption(
        "--perfkit-record",
        dest="perfkit_record",
        action="store_true",
        help="Watch every test, and write each passing test's query count and patterns to"
        " .perfkit-queries.json at the rootdir.",
    )
    group.addoption(
        "--perfkit-explain",
        dest="perfkit_explain",
        action="store_true",
        help="Watch every test, and on PostgreSQL warn about sequential scans on large tables.",
    )
    parser.addini(
        "perfkit_n_plus_one", "What an N+1 query does: fail, warn or off.", default="fail"
    )
    parser.addini(
        "perfkit_n_plus_one_threshold",
        "Executions of one SELECT in one request that make an N+1, for apps that did not"
        " register PerfKit.",
        default="5",
    )
    parser.addini(
        "perfkit_explain_min_rows",
        "Sequential scans on tables of at most this many rows are not reported.",
        default="1000",
    )


def _whole(config: pytest.Config, name: str, least: int) -> int:
    value = str(config.getini(name))
    if not value.strip().isdigit() or int(value) < least:
        raise pytest.UsageError(f"The ini option {name} must be a whole number of {least} or more.")
    return int(value)


def settings(config: pytest.Config) -> Settings:
    """The plugin's options for the run, checked.

    :raises pytest.UsageError: An ini value is not usable.
    """
    from .testing.session import Settings

    mode = config.getoption("perfkit_n_plus_one") or str(config.getini("perfkit_n_plus_one"))
    if mode not in MODES:
        raise pytest.UsageError(
            f"The ini option perfkit_n_plus_one must be fail, warn or off, not {mode!r}."
        )
    return Settings(
        n_plus_one=mode,
        threshold=_whole(config, "perfkit_n_plus_one_threshold", 2),
        record=bool(config.getoption("perfkit_record")),
        explain=bool(config.getoption("perfkit_explain")),
        min_rows=_whole(config, "perfkit_explain_min_rows", 0),
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "max_queries(n, bind=None): fail the test if it runs more than n SQL statements"
        " (on the bind, if given).",
    )
    config.addinivalue_line(
        "markers",
        "allow_n_plus_one(*patterns): accept N+1 queries in the test (only those whose"
        " normalized statement contains one of the patterns, in any case, or has it as query"
        " id, if given).",
    )
    from .testing.session import PerfKitSession

    config.pluginmanager.register(PerfKitSession(config, settings(config)), "perfkit-session")


@pytest.fixture
def perfkit_queries() -> QueryRecorder:
    """Record the SQL statements of a block: ``with perfkit_queries() as q:``.

    Requesting it also watches the test: its N+1 queries fail it.
    """
    from .testing.queries import QueryRecorder

    return QueryRecorder()
