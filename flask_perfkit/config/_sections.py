"""The configuration keys' names and the frozen sections a resolved configuration is made of."""

from __future__ import annotations

import dataclasses
import enum
import typing as t
from collections.abc import Mapping


class ConfigKey:
    """The name of every configuration key, spelled once."""

    ENABLED = "PERFKIT_ENABLED"
    POOL_SIZE = "PERFKIT_POOL_SIZE"
    POOL_MAX_OVERFLOW = "PERFKIT_POOL_MAX_OVERFLOW"
    POOL_RECYCLE = "PERFKIT_POOL_RECYCLE"
    POOL_PRE_PING = "PERFKIT_POOL_PRE_PING"
    POOL_TIMEOUT = "PERFKIT_POOL_TIMEOUT"
    POOL_OPTIONS = "PERFKIT_POOL_OPTIONS"
    SLOW_QUERY_MS = "PERFKIT_SLOW_QUERY_MS"
    VERY_SLOW_QUERY_MS = "PERFKIT_VERY_SLOW_QUERY_MS"
    SLOW_QUERY_BUFFER = "PERFKIT_SLOW_QUERY_BUFFER"
    MAX_PATTERNS = "PERFKIT_MAX_PATTERNS"
    NORMALIZE_CACHE_SIZE = "PERFKIT_NORMALIZE_CACHE_SIZE"
    MAX_N_PLUS_ONE_SUSPECTS = "PERFKIT_MAX_N_PLUS_ONE_SUSPECTS"
    N_PLUS_ONE_THRESHOLD = "PERFKIT_N_PLUS_ONE_THRESHOLD"
    QUERY_BUDGET_ACTION = "PERFKIT_QUERY_BUDGET_ACTION"
    CACHE_SHORT_TIMEOUT = "PERFKIT_CACHE_SHORT_TIMEOUT"
    CACHE_MEDIUM_TIMEOUT = "PERFKIT_CACHE_MEDIUM_TIMEOUT"
    CACHE_LONG_TIMEOUT = "PERFKIT_CACHE_LONG_TIMEOUT"
    CACHE_KEY_PREFIX = "PERFKIT_CACHE_KEY_PREFIX"
    CACHE_LOCK_TIMEOUT = "PERFKIT_CACHE_LOCK_TIMEOUT"
    CACHE_BREAKER_FAILURES = "PERFKIT_CACHE_BREAKER_FAILURES"
    CACHE_BREAKER_SECONDS = "PERFKIT_CACHE_BREAKER_SECONDS"
    CACHE_SOCKET_TIMEOUT = "PERFKIT_CACHE_SOCKET_TIMEOUT"
    PAGE_SIZE = "PERFKIT_PAGE_SIZE"
    MAX_PAGE_SIZE = "PERFKIT_MAX_PAGE_SIZE"
    MAX_OFFSET = "PERFKIT_MAX_OFFSET"
    MAX_PAGE_PLANS = "PERFKIT_MAX_PAGE_PLANS"
    HEALTH_URL_PREFIX = "PERFKIT_HEALTH_URL_PREFIX"
    HEALTH_TIMEOUT = "PERFKIT_HEALTH_TIMEOUT"
    HEALTH_CHECK_TTL = "PERFKIT_HEALTH_CHECK_TTL"
    HEALTH_CHECKS = "PERFKIT_HEALTH_CHECKS"
    HEALTH_SHOW_DETAILS = "PERFKIT_HEALTH_SHOW_DETAILS"
    ADMIN_TOKEN = "PERFKIT_ADMIN_TOKEN"
    DB_CONNECT_TIMEOUT = "PERFKIT_DB_CONNECT_TIMEOUT"
    DB_STATEMENT_TIMEOUT = "PERFKIT_DB_STATEMENT_TIMEOUT"
    DB_BREAKER_FAILURES = "PERFKIT_DB_BREAKER_FAILURES"
    DB_BREAKER_SECONDS = "PERFKIT_DB_BREAKER_SECONDS"
    HISTORY_ENABLED = "PERFKIT_HISTORY_ENABLED"
    HISTORY_RESOLUTION = "PERFKIT_HISTORY_RESOLUTION"
    HISTORY_RETENTION = "PERFKIT_HISTORY_RETENTION"
    HISTORY_COARSE_RESOLUTION = "PERFKIT_HISTORY_COARSE_RESOLUTION"
    HISTORY_COARSE_RETENTION = "PERFKIT_HISTORY_COARSE_RETENTION"


class BudgetAction(enum.StrEnum):
    """What :meth:`.PerfKit.query_budget` does when a block runs too many statements."""

    RAISE = "raise"
    LOG = "log"


class ShowDetails(enum.StrEnum):
    """Who sees the details of health responses (``PERFKIT_HEALTH_SHOW_DETAILS``)."""

    ALWAYS = "always"
    WHEN_AUTHORIZED = "when_authorized"
    NEVER = "never"


@dataclasses.dataclass(frozen=True)
class CheckOverride:
    """What ``PERFKIT_HEALTH_CHECKS`` changes about one health check; ``None`` keeps it."""

    critical: bool | None = None
    timeout: float | None = None
    readiness: bool | None = None


@dataclasses.dataclass(frozen=True)
class PoolConfig:
    """The connection pool of every engine (``PERFKIT_POOL_*``)."""

    #: Connections kept open; 0 means no limit.
    size: int
    #: Connections opened beyond :attr:`size` under load; -1 means no limit.
    max_overflow: int
    #: Seconds after which a connection is replaced; -1 means never.
    recycle: int
    #: Test each connection with a ping when it is checked out.
    pre_ping: bool
    #: Seconds to wait for a free connection.
    timeout: float
    #: Further ``create_engine`` keyword arguments, laid over the named ones.
    options: Mapping[str, t.Any]

    def engine_options(self) -> dict[str, t.Any]:
        """The ``create_engine`` keyword arguments PerfKit wants for every engine.

        The named pool keys come first and ``PERFKIT_POOL_OPTIONS`` is laid over them.
        """
        return {
            "pool_size": self.size,
            "max_overflow": self.max_overflow,
            "pool_recycle": self.recycle,
            "pool_pre_ping": self.pre_ping,
            "pool_timeout": self.timeout,
            **self.options,
        }


@dataclasses.dataclass(frozen=True)
class DatabaseConfig:
    """Connection and statement limits and the engine breaker (``PERFKIT_DB_*``)."""

    #: Seconds to open a database connection, or ``None`` to keep the driver's default.
    connect_timeout: float | None
    #: Seconds a statement may run, or ``None`` for no limit.
    statement_timeout: float | None
    #: Consecutive connection-level failures that open an engine's breaker; 0 turns it off.
    breaker_failures: int
    #: Seconds the breaker stays open before one trial connection.
    breaker_seconds: float


@dataclasses.dataclass(frozen=True)
class ProfilerConfig:
    """The query profiler: slow queries, patterns, N+1 detection and budgets."""

    #: Seconds from which a statement counts as slow.
    slow_query: float
    #: Seconds from which a statement counts as very slow.
    very_slow_query: float
    #: Slow queries kept in the ring buffer.
    slow_query_buffer: int
    #: Distinct statement patterns kept.
    max_patterns: int
    #: Distinct statements whose normalized pattern is kept.
    normalize_cache_size: int
    #: N+1 suspects kept.
    max_n_plus_one_suspects: int
    #: Repeats of one pattern in a request that make it an N+1 suspect.
    n_plus_one_threshold: int
    #: What an exceeded query budget does.
    query_budget_action: BudgetAction


@dataclasses.dataclass(frozen=True)
class CacheConfig:
    """The tiered cache (``PERFKIT_CACHE_*``)."""

    #: Seconds an entry of the short tier lives.
    short_timeout: int
    #: Seconds an entry of the medium tier lives.
    medium_timeout: int
    #: Seconds an entry of the long tier lives.
    long_timeout: int
    #: The prefix of every key PerfKit writes.
    key_prefix: str
    #: Seconds a miss waits for another thread computing the same key before computing it too.
    lock_timeout: float
    #: Consecutive backend failures that open the cache breaker.
    breaker_failures: int
    #: Seconds the cache breaker stays open.
    breaker_seconds: float
    #: Seconds of the socket and connect timeouts of the Redis client PerfKit builds.
    socket_timeout: float


@dataclasses.dataclass(frozen=True)
class PaginationConfig:
    """The pagination helper's limits."""

    #: Rows per page when the request does not ask.
    page_size: int
    #: The most rows per page a request may ask for.
    max_page_size: int
    #: The deepest row offset served by page number.
    max_offset: int
    #: Query shapes, and as many orderings, that :func:`.paginate` remembers.
    max_page_plans: int


@dataclasses.dataclass(frozen=True)
class HealthConfig:
    """The health endpoints (``PERFKIT_HEALTH_*`` and ``PERFKIT_ADMIN_TOKEN``)."""

    #: Where the health blueprint is mounted, or ``None`` to not mount it.
    url_prefix: str | None
    #: Seconds within which the whole health answer comes.
    timeout: float
    #: Seconds a check's result is reused.
    check_ttl: float
    #: Changes to named checks.
    checks: Mapping[str, CheckOverride]
    #: Who sees the details of health responses.
    show_details: ShowDetails
    #: The bearer token that grants details and admin endpoints, or ``None``.
    admin_token: str | None


@dataclasses.dataclass(frozen=True)
class HistoryConfig:
    """The in-process history of the dashboard (``PERFKIT_HISTORY_*``)."""

    #: Whether the numbers are rolled up into a history at all.
    enabled: bool
    #: Seconds each point of the fine history covers.
    resolution: int
    #: Seconds of fine history kept.
    retention: int
    #: Seconds each point of the coarse history covers.
    coarse_resolution: int
    #: Seconds of coarse history kept.
    coarse_retention: int


@dataclasses.dataclass(frozen=True)
class PerfKitConfig:
    """The validated configuration of one app, resolved once in :meth:`.PerfKit.init_app`.

    Durations are float seconds here, whatever unit their key uses.
    """

    #: Whether PerfKit instruments the app at all.
    enabled: bool
    #: The connection pool of every engine.
    pool: PoolConfig
    #: Connection and statement limits and the engine breaker.
    database: DatabaseConfig
    #: The query profiler.
    profiler: ProfilerConfig
    #: The tiered cache.
    cache: CacheConfig
    #: The pagination helper.
    pagination: PaginationConfig
    #: The health endpoints.
    health: HealthConfig
    #: The history behind the dashboard.
    history: HistoryConfig
