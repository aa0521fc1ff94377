"""The history capability: points rolled up over time, and ``GET /health/history``."""

from __future__ import annotations

import json
import logging
import os
import time
import typing as t

from flask import Blueprint
from flask import Flask
from flask import Response

from .. import metrics as _metrics
from .._respond import encoded_response
from .._run import run_checks
from .._state import get_state
from .._time import iso_time
from ..capability import Capability
from ..capability import MemoryUsage
from ..capability import Wiring
from ..dashboard import require_dashboard_access
from ..errors import HistoryDisabled
from ..errors import InvalidParameter
from ..history import RANGES
from ..history import History
from ..history import Reading
from ..params import single_arg

if t.TYPE_CHECKING:
    from .._state import PerfKitState

logger = logging.getLogger("flask_perfkit")

#: How many of its costliest patterns each worker reports in multiprocess mode, for the
#: dashboard's table of patterns summed over the workers.
SUMMED_PATTERNS = 50


class HistoryCapability(Capability):
    """Rolls the app's totals up into points, at most once per interval."""

    name = "history"

    def __init__(self, state: PerfKitState) -> None:
        super().__init__(state)
        #: The points, or ``None`` under ``PERFKIT_HISTORY_ENABLED = False``.
        self.history: History | None = None
        # The costliest patterns summed over the workers at the last multiprocess rollup.
        self._summed: dict[str, list[t.Any]] | None = None
        if state.config.history.enabled:
            self.history = History(state.config.history, state.started)

    def init_app(self, app: Flask, wiring: Wiring) -> None:
        if self.history is not None:
            # First in the list, so it runs last: after the profiler has counted the request.
            app.teardown_request_funcs.setdefault(None, []).insert(0, self.tick)

    @staticmethod
    def add_views(bp: Blueprint) -> None:
        bp.add_url_rule("/history", "history", history_view, methods=["GET"])

    def tick(self, error: BaseException | None = None) -> None:
        """Roll up the points that are due, after a request. Never raises: a rollup that
        fails is logged and tried again after the next interval."""
        history = self.history
        if history is not None and history.due(time.time()):
            self.roll()

    def roll(self) -> bool:
        """Roll up the points due now; whether any was added."""
        history = self.history
        if history is None:
            return False
        try:
            return history.roll(time.time(), self.read)
        except Exception:
            logger.exception("The history rollup failed; it is tried again after an interval.")
            history.fine.due = time.time() + history.fine.resolution
            return False

    def read(self) -> Reading:
        """The totals, per-pattern totals and health a rollup is made of: this process's,
        or in multiprocess mode those of every worker, from the metrics snapshots."""
        state = self.state
        capabilities = tuple(type(c) for c in state.registry.values())
        checks = {name: status.value for name, status in state.runner.last_statuses().items()}
        writer = state.registry["metrics"].writer  # type: ignore[attr-defined]
        snapshots = _metrics.gather(state, writer)
        totals = _metrics.merge(snapshots, capabilities)
        if not _metrics.multiprocess_dir():
            return Reading(totals, state.profiler.pattern_totals(), checks, 1)
        self._summed = totals.get("costliest_patterns", {})
        workers = sum(1 for s in snapshots if _metrics.process_alive(s["pid"]))
        return Reading(totals, totals.get("pattern_totals", {}), checks, max(workers, 1))

    def metrics(self) -> t.Mapping[str, t.Any]:
        if self.history is None or not _metrics.multiprocess_dir():
            return {}
        profiler = self.state.profiler
        totals = profiler.pattern_totals()
        costliest = {
            p.query_id: [p.query, p.operation, p.calls, p.total_ms, p.p95_ms, p.max_ms]
            for p in profiler.costliest(SUMMED_PATTERNS)
        }
        return {
            "pattern_totals": {qid: list(pair) for qid, pair in totals.items()},
            "costliest_patterns": costliest,
        }

    @classmethod
    def merge_metrics(
        cls, merged: dict[str, t.Any], part: t.Mapping[str, t.Any], alive: bool
    ) -> None:
        into = merged.setdefault("pattern_totals", {})
        for qid, (calls, seconds) in part.get("pattern_totals", {}).items():
            old = into.get(qid)
            into[qid] = [calls, seconds] if old is None else [old[0] + calls, old[1] + seconds]
        costliest = merged.setdefault("costliest_patterns", {})
        for qid, (query, op, calls, total_ms, p95_ms, max_ms) in part.get(
            "costliest_patterns", {}
        ).items():
            old = costliest.get(qid)
            if old is None:
                costliest[qid] = [query, op, calls, total_ms, p95_ms, max_ms]
            else:
                old[2:] = [
                    old[2] + calls,
                    old[3] + total_ms,
                    max(old[4], p95_ms),
                    max(old[5], max_ms),
                ]

    def summed_patterns(self, limit: int) -> list[dict[str, t.Any]] | None:
        """In multiprocess mode, the ``limit`` patterns with the most time summed over the
        workers at the last rollup, costliest first; ``None`` otherwise.

        Each worker reports its :data:`SUMMED_PATTERNS` costliest patterns. Calls and total
        time add up; ``p95_ms`` and ``max_ms`` are the highest of the workers'.
        """
        if self._summed is None:
            return None
        found = []
        for qid, (query, op, calls, total_ms, p95_ms, max_ms) in self._summed.items():
            mean_ms = round(total_ms / calls, 3) if calls else 0.0
            found.append(
                {
                    "query_id": qid,
                    "query": query,
                    "operation": op,
                    "calls": calls,
                    "total_ms": round(total_ms, 3),
                    "mean_ms": mean_ms,
                    "p95_ms": p95_ms,
                    "max_ms": max_ms,
                }
            )
        found.sort(key=lambda p: p["total_ms"], reverse=True)
        return found[:limit]

    def memory(self) -> dict[str, MemoryUsage]:
        history = self.history
        if history is None:
            return {}
        return {
            f"history_{name}": MemoryUsage(
                len(ring.points), t.cast(int, ring.points.maxlen), ring.dropped
            )
            for name, ring in (("fine", history.fine), ("coarse", history.coarse))
        }


def history_view() -> Response:
    """The points of the last ``range`` (``15m``, ``1h`` or ``24h``; default ``1h``).

    A detail: refused as ``/health/metrics`` is, except that the dashboard's sign-in cookie
    opens it too.
    """
    state = get_state()
    require_dashboard_access()
    name = single_arg("range")
    if name is None:
        name = "1h"
    seconds = RANGES.get(name)
    if seconds is None:
        allowed = ", ".join(RANGES)
        raise InvalidParameter(f"'range' must be one of {allowed}.", param="range")
    capability = t.cast(HistoryCapability, state.registry[HistoryCapability.name])
    history = capability.history
    if history is None:
        raise HistoryDisabled("The history is off: PERFKIT_HISTORY_ENABLED is False.")
    status, results = run_checks(state, state.all_checks())
    capability.roll()
    now = time.time()
    ring = history.ring_for(seconds)
    head = {
        "status": status.value,
        "range": name,
        "resolution": ring.resolution,
        "workers": history.workers,
        "multiprocess": _metrics.multiprocess_dir() is not None,
        "checks": {check: result.status.value for check, result in results.items()},
    }
    tail = {"pid": os.getpid(), "since": iso_time(history.started)}
    opening = json.dumps(head, separators=(",", ":"))[:-1] + ',"points":['
    closing = "]," + json.dumps(tail, separators=(",", ":"))[1:]
    points = ring.since(now - seconds)
    return encoded_response(b"".join([opening.encode(), *points, closing.encode()]), status)
