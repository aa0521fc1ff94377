"""Health checks: their results, and a runner that answers within a time budget.

Each check runs in a daemon thread of its own. The caller waits for the results only until
the budget is spent, so a check that hangs (a database that never answers) turns into a
``fail`` with the output ``"timeout"`` instead of a hung probe. A check that is still running
is never started a second time: later callers wait on the same run. A finished result is
reused for ``PERFKIT_HEALTH_CHECK_TTL`` seconds, so a flood of probes costs one check per
interval.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import os
import threading
import time
import typing as t
from collections.abc import Iterable
from collections.abc import Mapping

from ._time import iso_time

logger = logging.getLogger("flask_perfkit")


class Status(enum.StrEnum):
    """A health status, in the vocabulary of the IETF health check response draft."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"

    @classmethod
    def worst(cls, statuses: Iterable[Status]) -> Status:
        """The worst of ``statuses``; ``PASS`` if there are none."""
        order = (cls.PASS, cls.WARN, cls.FAIL)
        return max(statuses, key=order.index, default=cls.PASS)


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """What one health check found.

    :param status: ``pass``, ``warn`` or ``fail``.
    :param output: A short summary safe to show to anyone who may see details, such as
        ``"connection refused"``. Never exception text from a driver.
    :param observed_value: The measured value, such as a latency or a connection count.
    :param observed_unit: The unit of ``observed_value``, such as ``"ms"``.
    :param details: Further data, shown only to callers allowed to see details.
    :param critical: Overrides the check's own ``critical`` for this result, as the pool check
        does when the pool is exhausted. A ``critical`` set in ``PERFKIT_HEALTH_CHECKS`` wins
        over it.
    """

    status: Status
    output: str | None = None
    observed_value: float | int | None = None
    observed_unit: str | None = None
    details: Mapping[str, t.Any] = dataclasses.field(default_factory=dict)
    critical: bool | None = None
    #: How long the check took, in milliseconds. Set by the runner.
    duration_ms: float | None = None
    #: When the check finished, as an ISO 8601 UTC time. Set by the runner.
    time: str | None = None


#: What a health check calls: no arguments; returns a :class:`CheckResult`, a :class:`Status`,
#: a bool or ``None``. See :class:`HealthCheck`.
CheckFunction = t.Callable[[], "CheckResult | Status | bool | None"]


@dataclasses.dataclass(frozen=True)
class HealthCheck:
    """A named health check.

    :param name: The key under ``checks`` in health responses, such as ``"db"``.
    :param func: Called with no arguments in a worker thread with the app context pushed.
        Returns a :class:`CheckResult`, a :class:`Status`, or a bool (``True`` is ``pass``);
        ``None`` means ``pass``. An exception is a ``fail``, summarised without its text.
    :param critical: A failing critical check fails readiness (HTTP 503); a failing
        non-critical one only makes it ``warn`` (HTTP 200).
    :param component_type: The IETF ``componentType``, such as ``"datastore"``.
    :param readiness: Whether ``/health/ready`` runs this check. ``/health/full`` runs every
        check.
    :param timeout: Seconds this check may take before it counts as a ``fail`` with the output
        ``"timeout"``; ``None`` gives it the whole ``PERFKIT_HEALTH_TIMEOUT``. A timeout longer
        than the budget is cut to the budget.
    """

    name: str
    func: CheckFunction
    critical: bool = True
    component_type: str = "component"
    readiness: bool = True
    timeout: float | None = None
    #: Whether ``critical`` was set in ``PERFKIT_HEALTH_CHECKS``; results cannot override it.
    critical_from_config: bool = False
    #: ``False`` runs the check in the caller's thread, without pushing an app context: only
    #: for checks that read memory and cannot block, like the pool and profiling checks.
    in_thread: bool = True

    def is_critical(self, result: CheckResult) -> bool:
        """Whether ``result`` of this check counts as critical."""
        if result.critical is None or self.critical_from_config:
            return self.critical
        return result.critical


def summarize_error(exc: BaseException) -> str:
    """Describe an exception in a few safe words, never echoing its text.

    Driver messages can hold host names, user names and SQL, so only a fixed vocabulary is
    returned.
    """
    text = f"{type(exc).__name__} {exc} {exc.__cause__ or ''}".lower()
    vocabulary = (
        (("timeout", "timed out"), "timeout"),
        (("refused",), "connection refused"),
        (("password", "authentication", "access denied"), "authentication failed"),
        (("unknown database", "does not exist"), "database does not exist"),
        (("name or service not known", "could not translate host", "nodename"), "host not found"),
        (("too many connections", "remaining connection slots"), "too many connections"),
        (
            ("server closed", "lost connection", "gone away", "connection reset", "broken pipe"),
            "connection lost",
        ),
    )
    for needles, summary in vocabulary:
        if any(n in text for n in needles):
            return summary
    return f"error: {type(exc).__name__}"


def _coerce(value: CheckResult | Status | bool | None) -> CheckResult:
    if isinstance(value, CheckResult):
        return value
    if value is None or value is True:
        return CheckResult(Status.PASS)
    if value is False:
        return CheckResult(Status.FAIL)
    return CheckResult(Status(value))


class _Run:
    """One execution of one check, possibly still going."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: CheckResult | None = None
        self.finished_at = 0.0
        self.pid = os.getpid()


class CheckRunner:
    """Runs checks under a time budget, reusing fresh results and runs still in flight.

    :param ttl: Seconds a finished result is reused.
    :param context: Called in each worker thread to enter the app context.
    """

    def __init__(self, ttl: float, context: t.Callable[[], t.ContextManager[t.Any]]) -> None:
        self.ttl = ttl
        self._context = context
        self._lock = threading.Lock()
        self._runs: dict[str, _Run] = {}
        self._last_status: dict[str, Status] = {}
        self._last_result: dict[str, CheckResult] = {}

    def _execute(self, check: HealthCheck, run: _Run) -> None:
        start = time.perf_counter()
        try:
            if check.in_thread:
                with self._context():
                    result = _coerce(check.func())
            else:
                result = _coerce(check.func())
        except Exception as exc:
            logger.warning("Health check %r failed: %s", check.name, summarize_error(exc))
            result = CheckResult(Status.FAIL, output=summarize_error(exc))
        final = dataclasses.replace(
            result,
            duration_ms=round((time.perf_counter() - start) * 1000, 3),
            time=iso_time(),
        )
        run.finished_at = time.monotonic()
        run.result = final
        run.done.set()

    def _fresh(self, run: _Run | None, now: float) -> t.TypeGuard[_Run]:
        """Whether ``run`` is this process's and finished less than ``ttl`` ago."""
        return (
            run is not None
            and run.result is not None
            and run.pid == os.getpid()
            and now - run.finished_at < self.ttl
        )

    def _run_for(self, check: HealthCheck, now: float) -> _Run:
        with self._lock:
            run = self._runs.get(check.name)
            if run is not None and run.pid == os.getpid() and not run.done.is_set():
                return run
            if self._fresh(run, now):
                return run
            run = _Run()
            self._runs[check.name] = run
        if not check.in_thread:
            self._execute(check, run)
            return run
        thread = threading.Thread(
            target=self._execute, args=(check, run), name=f"perfkit-check-{check.name}", daemon=True
        )
        thread.start()
        return run

    def run(self, checks: Iterable[HealthCheck], budget: float) -> dict[str, CheckResult]:
        """Run ``checks`` in parallel and collect their results within ``budget`` seconds.

        A check that has not finished within its own ``timeout`` (or the budget, whichever is
        shorter) is a ``fail`` with the output ``"timeout"``; it keeps running in the background
        and a later call picks its result up.
        """
        start = time.monotonic()
        reused = {}
        for check in checks:
            run = self._runs.get(check.name)
            if not self._fresh(run, start):
                break
            reused[check.name] = t.cast(CheckResult, run.result)
        else:
            return reused
        deadline = start + budget
        runs = {check.name: (check, self._run_for(check, start)) for check in checks}
        results: dict[str, CheckResult] = {}
        for name, (check, run) in runs.items():
            if run.result is not None:
                results[name] = run.result
                continue
            until = deadline if check.timeout is None else min(deadline, start + check.timeout)
            if run.done.wait(max(until - time.monotonic(), 0)) and run.result is not None:
                results[name] = run.result
            else:
                results[name] = CheckResult(
                    Status.FAIL,
                    output="timeout",
                    duration_ms=round((time.monotonic() - start) * 1000, 3),
                    time=iso_time(),
                )
        return results

    def last_statuses(self) -> dict[str, Status]:
        """The status each check had when a request last ran it, by name."""
        with self._lock:
            return dict(self._last_status)

    def changes(
        self, results: Mapping[str, CheckResult]
    ) -> list[tuple[str, Status | None, Status]]:
        """Record ``results`` and return ``(name, old, new)`` for each status that changed."""
        last = self._last_result
        if all(last.get(name) is result for name, result in results.items()):
            return []
        changed = []
        with self._lock:
            for name, result in results.items():
                last[name] = result
                old = self._last_status.get(name)
                if old is not result.status:
                    self._last_status[name] = result.status
                    changed.append((name, old, result.status))
        return changed


def aggregate(checks: Iterable[HealthCheck], results: Mapping[str, CheckResult]) -> Status:
    """The overall status: a failing critical check fails it, anything else can only warn."""
    statuses = []
    for check in checks:
        result = results[check.name]
        status = result.status
        if status is Status.FAIL and not check.is_critical(result):
            status = Status.WARN
        statuses.append(status)
    return Status.worst(statuses)
