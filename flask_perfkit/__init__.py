"""flask-perfkit: pooling, query profiling, tiered caching, pagination and health checks."""

from __future__ import annotations

import importlib
import typing as t

if t.TYPE_CHECKING:
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

#: The module of each name above, imported the first time the name is used, so that
#: importing a submodule (the pytest plugin, for one) does not import them all.
_SOURCES = {
    "MISS": "cache",
    "BackendStatus": "cache",
    "CachedFunction": "cache",
    "Tier": "cache",
    "TieredCache": "cache",
    "TierStats": "cache",
    "cache_long": "cache",
    "cache_medium": "cache",
    "cache_short": "cache",
    "cached": "cache",
    "CheckFunction": "checks",
    "CheckResult": "checks",
    "HealthCheck": "checks",
    "Status": "checks",
    "BudgetAction": "config",
    "CacheConfig": "config",
    "CheckOverride": "config",
    "ConfigKey": "config",
    "DatabaseConfig": "config",
    "HealthConfig": "config",
    "HistoryConfig": "config",
    "PaginationConfig": "config",
    "PerfKitConfig": "config",
    "PoolConfig": "config",
    "ProfilerConfig": "config",
    "ShowDetails": "config",
    "AdminDisabled": "errors",
    "AlreadyRegisteredError": "errors",
    "APIError": "errors",
    "AuthenticationRequired": "errors",
    "CacheBackendUnavailable": "errors",
    "CapabilityDisabledError": "errors",
    "ConfigError": "errors",
    "ConfigWarning": "errors",
    "CrossOriginRequest": "errors",
    "DatabaseCircuitOpen": "errors",
    "DatabaseUnavailable": "errors",
    "EngineGoneError": "errors",
    "HistoryDisabled": "errors",
    "InvalidationUnsupported": "errors",
    "InvalidCursor": "errors",
    "InvalidParameter": "errors",
    "MetricsUnavailable": "errors",
    "NotInitializedError": "errors",
    "PaginationError": "errors",
    "PaginationUsageError": "errors",
    "PerfKitError": "errors",
    "QueryBudgetExceeded": "errors",
    "SessionRequired": "errors",
    "UnencodableCursorValue": "errors",
    "UnkeyableArgument": "errors",
    "UnknownBind": "errors",
    "UnknownTier": "errors",
    "PerfKit": "extension",
    "QueryBudget": "extension",
    "require_admin": "health",
    "AnySelect": "pagination",
    "Page": "pagination",
    "PageMetadata": "pagination",
    "Strategy": "pagination",
    "paginate": "pagination",
    "PoolStatus": "pool",
    "NPlusOneSuspect": "profiler",
    "PatternStats": "profiler",
    "ProfileSummary": "profiler",
    "QueryProfiler": "profiler",
    "SlowQuery": "profiler",
}


def __getattr__(name: str) -> t.Any:
    source = _SOURCES.get(name)
    if source is None:
        # A submodule, as ``flask_perfkit.signals``: what the imports above once loaded.
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"{__name__}.{source}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
