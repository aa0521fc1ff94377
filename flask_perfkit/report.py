"""The profiling report: a summary, the costliest patterns, slow queries, N+1 and advice."""

from __future__ import annotations

import dataclasses
import typing as t

from .capability import Recommendation
from .checks import CheckResult
from .checks import Status
from .profiler import PatternStats
from .profiler import QueryProfiler

#: Share of slow statements above which profiling warns.
SLOW_SHARE_WARN = 10.0
#: Share of database time one pattern may take before it is called out.
DOMINANT_SHARE = 0.5

SORT_KEYS: dict[str, t.Callable[[PatternStats], float]] = {
    "total": lambda p: p.total_ms,
    "mean": lambda p: p.mean_ms,
    "calls": lambda p: p.calls,
    "p95": lambda p: p.p95_ms,
    "max": lambda p: p.max_ms,
}


def top_patterns(
    profiler: QueryProfiler, sort: str = "total", limit: int = 10
) -> list[PatternStats]:
    """The patterns with the highest ``sort`` value (``total``, ``mean``, ``calls``, ``p95``,
    ``max``)."""
    if sort == "total":
        return profiler.costliest(limit)
    return sorted(profiler.patterns(), key=SORT_KEYS[sort], reverse=True)[:limit]


def profiling_status(slow_percentage: float, suspects: int) -> Status:
    """``warn`` when more than 10 % of statements are slow or N+1 suspects exist."""
    if slow_percentage > SLOW_SHARE_WARN or suspects:
        return Status.WARN
    return Status.PASS


def recommendations(profiler: QueryProfiler) -> list[Recommendation]:
    """Advice drawn from the query statistics."""
    summary = profiler.summary()
    advice: list[Recommendation] = []
    share = summary.slow_percentage
    slow_ms = profiler.config.profiler.slow_query * 1000
    if share > SLOW_SHARE_WARN:
        advice.append(
            Recommendation(
                "critical" if share > 25 else "warning",
                f"{share}% of statements take {slow_ms:g} ms or more."
                " Look at the slowest patterns' plans (EXPLAIN ANALYZE) for missing indexes.",
            )
        )
    for suspect in profiler.suspects()[:5]:
        advice.append(
            Recommendation(
                "warning",
                f"{suspect.endpoint!r} ran {suspect.query!r} {suspect.count} times in one"
                f" request. {suspect.hint}",
            )
        )
    totals = profiler.pattern_totals()
    total = sum(seconds for _, seconds in totals.values())
    if len(totals) > 1 and total > 0:
        costliest = profiler.costliest(1)
        top = costliest[0] if costliest else None
        if top is not None and top.total_ms / (total * 1000) >= DOMINANT_SHARE:
            advice.append(
                Recommendation(
                    "info",
                    f"One pattern takes {top.total_ms / (total * 1000):.0%} of database time:"
                    f" {top.query!r}. Index it, or cache its results.",
                )
            )
    if summary.errors:
        advice.append(
            Recommendation(
                "warning", f"{summary.errors} statement(s) failed since {summary.since}."
            )
        )
    return advice


def build_report(
    profiler: QueryProfiler, advice: t.Iterable[Recommendation], limit: int = 10
) -> dict[str, t.Any]:
    """The whole profiling report as JSON-ready data.

    :param profiler: The query statistics.
    :param advice: The recommendations of every capability.
    :param limit: The most patterns and slow queries listed.
    """
    summary = profiler.summary()
    suspects = profiler.suspects()
    return {
        "status": profiling_status(summary.slow_percentage, len(suspects)).value,
        "summary": dataclasses.asdict(summary),
        "top_patterns": [dataclasses.asdict(p) for p in top_patterns(profiler, limit=limit)],
        "slow_queries": [dataclasses.asdict(s) for s in profiler.slow_queries()[:limit]],
        "n_plus_one": [dataclasses.asdict(s) for s in suspects],
        "recommendations": [dataclasses.asdict(r) for r in advice],
    }


def profiling_check(profiler: QueryProfiler) -> t.Callable[[], CheckResult]:
    """The non-critical health check of the query statistics; does no I/O."""

    def check() -> CheckResult:
        share = profiler.slow_percentage()
        suspects = profiler.suspect_count()
        status = profiling_status(share, suspects)
        output = None
        if status is Status.WARN:
            output = f"{share}% slow statements, {suspects} N+1 suspect(s)"
        return CheckResult(status, output=output, observed_value=share, observed_unit="%")

    return check
