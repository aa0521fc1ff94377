"""The profiling endpoints of the health blueprint, under ``/health/profiling``.

Everything they serve is detail: anonymous callers under ``when_authorized`` get the
profiling status only.
"""

from __future__ import annotations

import dataclasses
import typing as t

from flask import Blueprint
from flask import Response

from ._respond import answer
from ._respond import done
from ._respond import require_admin
from ._state import PerfKitState
from ._state import get_state
from .checks import Status
from .errors import InvalidParameter
from .params import int_arg
from .params import number_arg
from .params import single_arg
from .report import SORT_KEYS
from .report import build_report
from .report import profiling_status
from .report import top_patterns

#: The most entries a listing serves.
MAX_LIMIT = 1000
#: The largest ``min_ms`` accepted: about 11.5 days.
MAX_MIN_MS = 10**9


def _limit(default: int) -> int:
    return int_arg("limit", default, 1, MAX_LIMIT)


def _state_and_status() -> tuple[PerfKitState, Status]:
    state = get_state()
    profiler = state.profiler
    status = profiling_status(profiler.slow_percentage(), profiler.suspect_count())
    return state, status


def add_views(bp: Blueprint) -> None:
    """Add the ``/profiling`` endpoints to ``bp``."""
    for rule, endpoint, view, method in (
        ("/profiling", "profiling", profiling, "GET"),
        ("/profiling/queries", "profiling_queries", profiling_queries, "GET"),
        ("/profiling/slow-queries", "profiling_slow_queries", profiling_slow_queries, "GET"),
        ("/profiling/n-plus-one", "profiling_n_plus_one", profiling_n_plus_one, "GET"),
        ("/profiling/reset", "profiling_reset", profiling_reset, "POST"),
    ):
        bp.add_url_rule(rule, endpoint, view, methods=[method])


def _answer(status: Status, body: t.Callable[[PerfKitState], dict[str, t.Any]]) -> Response:
    state = get_state()
    return answer(status, lambda: body(state), state.profiler.since)


def profiling() -> Response:
    """The report: summary, top patterns, slow queries, N+1 suspects, recommendations."""
    _, status = _state_and_status()
    return _answer(status, _report)


def _report(state: PerfKitState) -> dict[str, t.Any]:
    report = build_report(state.profiler, state.recommendations())
    memory = {name: dataclasses.asdict(usage) for name, usage in state.memory().items()}
    return {**report, "memory": memory}


def profiling_queries() -> Response:
    """Per-pattern statistics; ``limit`` (1-1000, default 50) and ``sort``."""
    sort = single_arg("sort")
    if sort is None:
        sort = "total"
    if sort not in SORT_KEYS:
        allowed = ", ".join(SORT_KEYS)
        raise InvalidParameter(f"'sort' must be one of {allowed}.", param="sort")
    limit = _limit(50)
    _, status = _state_and_status()
    return _answer(
        status,
        lambda state: {
            "sort": sort,
            "queries": [dataclasses.asdict(p) for p in top_patterns(state.profiler, sort, limit)],
        },
    )


def profiling_slow_queries() -> Response:
    """Recent slow executions, newest first; ``limit`` and ``min_ms``."""
    limit = _limit(50)
    min_ms = number_arg("min_ms", 0.0, 0, MAX_MIN_MS)
    _, status = _state_and_status()
    return _answer(
        status,
        lambda state: {
            "slow_queries": [
                dataclasses.asdict(s)
                for s in state.profiler.slow_queries()
                if s.duration_ms >= min_ms
            ][:limit]
        },
    )


def profiling_n_plus_one() -> Response:
    """The N+1 suspects."""
    _, status = _state_and_status()
    return _answer(
        status,
        lambda state: {"n_plus_one": [dataclasses.asdict(s) for s in state.profiler.suspects()]},
    )


@require_admin
def profiling_reset() -> Response:
    """Forget every query statistic of this process. Admin only."""
    get_state().profiler.reset()
    return done(reset=True)
