"""Query budgets: a block that may run a bounded number of statements."""

from __future__ import annotations

import contextlib
import logging
import typing as t

from ..config import BudgetAction
from ..errors import QueryBudgetExceeded
from .collector import Collector

if t.TYPE_CHECKING:
    from .core import QueryProfiler

logger = logging.getLogger("flask_perfkit")


@contextlib.contextmanager
def query_budget(profiler: QueryProfiler, limit: int, action: BudgetAction) -> t.Iterator[None]:
    """Count the statements inside the block; see :meth:`.PerfKit.query_budget`.

    Inside a request the block's statements count for the request too; outside one they are
    grouped, and checked for N+1, as a request of the endpoint ``"query_budget"``.

    :param profiler: The profiler of the current app.
    :param limit: The most statements the block may run.
    :param action: What to do when it runs more.
    :raises QueryBudgetExceeded: More than ``limit`` ran and ``action`` is ``raise``.
    """
    parent = profiler.current.get()
    if parent is not None:
        block = parent.within(profiler)
    else:
        block = Collector(profiler, "query_budget", None, None, profiler.generation)
    profiler.current.set(block)
    try:
        yield
    finally:
        profiler.current.set(parent)
        count = block.flushed + len(block)
        frequent = _frequent(profiler, block)
        if parent is not None:
            parent.absorb(block)
        else:
            profiler.aggregate(block, final=True)
    if count > limit:
        _overrun(limit, count, frequent, action)


def _frequent(profiler: QueryProfiler, block: Collector) -> list[tuple[str, int]]:
    """The three patterns ``block`` ran most, among the records not yet grouped."""
    patterns: dict[str, int] = {}
    for statement, *_, dialect in block:
        pattern = profiler.pattern_cache.get(statement, dialect)
        patterns[pattern.text] = patterns.get(pattern.text, 0) + 1
    return sorted(patterns.items(), key=lambda item: -item[1])[:3]


def _overrun(limit: int, count: int, top: list[tuple[str, int]], action: BudgetAction) -> None:
    if action is BudgetAction.RAISE:
        raise QueryBudgetExceeded(limit, count, [text for text, _ in top])
    logger.warning(
        "A query budget of %d was exceeded: %d statements ran. Most frequent: %s",
        limit,
        count,
        "; ".join(f"{n} x {text}" for text, n in top),
    )
