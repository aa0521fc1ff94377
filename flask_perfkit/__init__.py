"""flask-perfkit: pooling, query profiling, tiered caching, pagination and health checks."""

from __future__ import annotations

from . import signals
from .cache import MISS
from .cache import BackendStatus
from .cache import CachedFunction
from .cache import Tier
from .cache import TieredCache
from .cache import TierStats
from .cache import cache_long
from .cache import cache_medium
from .cache import cache_short
from .cache import cached
from .checks import CheckFunction
from .checks import CheckResult
from .checks import HealthCheck
from .checks import Status
from .config import BudgetAction
from .config import CacheConfig
from .config import CheckOverride
from .config import ConfigKey
from .config import DatabaseConfig
from .config import HealthConfig
from .config import HistoryConfig
from .config import PaginationConfig
from .config import PerfKitConfig
from .config import PoolConfig
from .config import ProfilerConfig
from .config import ShowDetails
from .errors import AdminDisabled
from .errors import AlreadyRegisteredError
from .errors import APIError
from .errors import AuthenticationRequired
from .errors import CacheBackendUnavailable
from .errors import CapabilityDisabledError
from .errors import ConfigError
from .errors import ConfigWarning
from .errors import CrossOriginRequest
from .errors import DatabaseCircuitOpen
from .errors import DatabaseUnavailable
from .errors import EngineGoneError
from .errors import HistoryDisabled
from .errors import InvalidationUnsupported
from .errors import InvalidCursor
from .errors import InvalidParameter
from .errors import MetricsUnavailable
from .errors import NotInitializedError
from .errors import PaginationError
from .errors import PaginationUsageError
from .errors import PerfKitError
from .errors import QueryBudgetExceeded
from .errors import SessionRequired
from .errors import UnencodableCursorValue
from .errors import UnkeyableArgument
from .errors import UnknownBind
from .errors import UnknownTier
from .extension import PerfKit
from .extension import QueryBudget
from .health import require_admin
from .pagination import AnySelect
from .pagination import Page
from .pagination import PageMetadata
from .pagination import Strategy
from .pagination import paginate
from .pool import PoolStatus
from .profiler import NPlusOneSuspect
from .profiler import PatternStats
from .profiler import ProfileSummary
from .profiler import QueryProfiler
from .profiler import SlowQuery

__version__ = "0.1.0"

__all__ = [
    "MISS",
    "APIError",
    "AdminDisabled",
    "AlreadyRegisteredError",
    "AnySelect",
    "AuthenticationRequired",
    "BackendStatus",
    "BudgetAction",
    "CacheBackendUnavailable",
    "CacheConfig",
    "CachedFunction",
    "CapabilityDisabledError",
    "CheckFunction",
    "CheckOverride",
    "CheckResult",
    "ConfigError",
    "ConfigKey",
    "ConfigWarning",
    "CrossOriginRequest",
    "DatabaseCircuitOpen",
    "DatabaseConfig",
    "DatabaseUnavailable",
    "EngineGoneError",
    "HealthCheck",
    "HealthConfig",
    "HistoryConfig",
    "HistoryDisabled",
    "InvalidCursor",
    "InvalidParameter",
    "InvalidationUnsupported",
    "MetricsUnavailable",
    "NPlusOneSuspect",
    "NotInitializedError",
    "Page",
    "PageMetadata",
    "PaginationConfig",
    "PaginationError",
    "PaginationUsageError",
    "PatternStats",
    "PerfKit",
    "PerfKitConfig",
    "PerfKitError",
    "PoolConfig",
    "PoolStatus",
    "ProfileSummary",
    "ProfilerConfig",
    "QueryBudget",
    "QueryBudgetExceeded",
    "QueryProfiler",
    "SessionRequired",
    "ShowDetails",
    "SlowQuery",
    "Status",
    "Strategy",
    "Tier",
    "TierStats",
    "TieredCache",
    "UnencodableCursorValue",
    "UnkeyableArgument",
    "UnknownBind",
    "UnknownTier",
    "cache_long",
    "cache_medium",
    "cache_short",
    "cached",
    "paginate",
    "require_admin",
    "signals",
]
