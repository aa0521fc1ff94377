"""The database health checks and the pool advice, drawn from one engine's monitor."""

from __future__ import annotations

from .. import _probe
from ..capability import Recommendation
from ..checks import CheckResult
from ..checks import HealthCheck
from ..checks import Status
from ..errors import DatabaseCircuitOpen
from ..pool import EngineMonitor
from ..pool import PoolStatus

#: Pool utilization at or above which the pool check warns.
WARN_UTILIZATION = 0.7
#: Pool utilization at or above which the pool check fails.
FAIL_UTILIZATION = 0.9


def check_name(bind: str) -> str:
    """The ``checks`` key of a bind's connectivity check: ``db``, or ``db.<bind>``."""
    return "db" if bind == "default" else f"db.{bind}"


def pool_check_status(status: PoolStatus) -> Status:
    """``warn`` from 70 % pool utilization, ``fail`` from 90 %."""
    if status.utilization is None:
        return Status.PASS
    if status.utilization >= FAIL_UTILIZATION:
        return Status.FAIL
    if status.utilization >= WARN_UTILIZATION:
        return Status.WARN
    return Status.PASS


def recommendations(
    monitor: EngineMonitor, status: PoolStatus, checkout_timeouts: int
) -> list[Recommendation]:
    """Advice about one engine's pool, from its snapshot and event counts."""
    return [
        *_utilization_advice(monitor.name, status),
        *_event_advice(monitor, checkout_timeouts),
        *_pool_class_advice(monitor.name, status),
        *_server_limit_advice(monitor.name, status, monitor.server_max_connections),
    ]


def _utilization_advice(name: str, status: PoolStatus) -> list[Recommendation]:
    used = status.utilization
    if used is not None and used >= FAIL_UTILIZATION:
        return [
            Recommendation(
                "critical",
                f"The pool of {name!r} is {used:.0%} used ({status.checked_out} of"
                f" {status.capacity}). Raise PERFKIT_POOL_SIZE or PERFKIT_POOL_MAX_OVERFLOW, or"
                " look for requests that hold connections too long.",
            )
        ]
    if used is not None and used >= WARN_UTILIZATION:
        return [
            Recommendation(
                "warning",
                f"The pool of {name!r} is {used:.0%} used. Bursts may soon wait for a connection.",
            )
        ]
    return []


def _event_advice(monitor: EngineMonitor, checkout_timeouts: int) -> list[Recommendation]:
    advice = []
    if checkout_timeouts:
        advice.append(
            Recommendation(
                "critical",
                f"{checkout_timeouts} request(s) waited out PERFKIT_POOL_TIMEOUT for a connection."
                " Raise the pool's capacity or shorten transactions.",
            )
        )
    counts = monitor.event_counts()
    invalidated = counts["invalidate"] + counts["soft_invalidate"]
    if invalidated:
        advice.append(
            Recommendation(
                "warning",
                f"{invalidated} connection(s) of {monitor.name!r} were invalidated, usually by"
                " database restarts or network errors.",
            )
        )
    return advice


def _pool_class_advice(name: str, status: PoolStatus) -> list[Recommendation]:
    if status.pool_class == "QueuePool" and not status.pre_ping:
        return [
            Recommendation(
                "info",
                "PERFKIT_POOL_PRE_PING is off: a connection the server closed fails the request"
                " that gets it.",
            )
        ]
    if status.pool_class == "NullPool":
        return [
            Recommendation(
                "info", f"{name!r} uses NullPool and opens a new connection for every checkout."
            )
        ]
    return []


def _server_limit_advice(name: str, status: PoolStatus, limit: int | None) -> list[Recommendation]:
    if limit is None or status.capacity is None:
        return []
    if status.capacity >= limit:
        return [
            Recommendation(
                "critical",
                f"The pool of {name!r} may open {status.capacity} connections but the server"
                f" allows {limit} (max_connections). Lower PERFKIT_POOL_SIZE and"
                " PERFKIT_POOL_MAX_OVERFLOW, or raise max_connections.",
            )
        ]
    if status.capacity * 2 > limit:
        return [
            Recommendation(
                "warning",
                f"The pool of {name!r} may open {status.capacity} of the server's {limit}"
                " connections (max_connections): two such processes would exhaust it. Size"
                " the pool as max_connections divided by the number of processes.",
            )
        ]
    return []


class ConnectivityCheck:
    """The critical check that the database of ``monitor`` answers ``SELECT 1``.

    :param monitor: The engine's monitor.
    :param timeout: Seconds the probe may take.
    """

    def __init__(self, monitor: EngineMonitor, timeout: float) -> None:
        self.monitor = monitor
        self.timeout = timeout

    def __call__(self) -> CheckResult:
        try:
            latency = _probe.probe(self.monitor, self.timeout)
        except DatabaseCircuitOpen:
            return CheckResult(Status.FAIL, output="circuit open")
        return CheckResult(Status.PASS, observed_value=latency, observed_unit="ms")


def connectivity_check(monitor: EngineMonitor, timeout: float) -> HealthCheck:
    """The critical check that the database answers ``SELECT 1``."""
    check = ConnectivityCheck(monitor, timeout)
    return HealthCheck(check_name(monitor.name), check, critical=True, component_type="datastore")


class PoolCheck:
    """The check of the pool utilization of ``monitor``; does no I/O.

    A busy pool (from 70 %, ``fail`` from 90 %) only makes readiness ``warn``: it is no reason
    to take an instance out of a load balancer. An exhausted pool, where every connection the
    pool may open is checked out and the next request would wait for ``pool_timeout``, fails
    readiness (503) until a connection is free, so traffic goes to instances that can serve it.
    """

    def __init__(self, monitor: EngineMonitor) -> None:
        self.monitor = monitor

    def __call__(self) -> CheckResult:
        status = self.monitor.status()
        verdict = pool_check_status(status)
        exhausted = status.utilization is not None and status.utilization >= 1.0
        output = None
        if exhausted:
            output = "pool exhausted"
        elif verdict is not Status.PASS:
            output = f"pool {status.utilization:.0%} used"
        return CheckResult(
            verdict,
            output=output,
            observed_value=status.checked_out,
            observed_unit="connections",
            critical=True if exhausted else None,
        )


def pool_check(monitor: EngineMonitor) -> HealthCheck:
    """The check of pool utilization; see :class:`PoolCheck`."""
    return HealthCheck(
        f"{check_name(monitor.name)}:connections",
        PoolCheck(monitor),
        critical=False,
        component_type="datastore",
        in_thread=False,
    )
