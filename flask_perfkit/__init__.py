"""flask-perfkit: pooling, query profiling, tiered caching, pagination and health checks."""

from __future__ import annotations

from . import signals
from .cache import MISS
from .cache import Tier
from .cache import cache_long
from .cache import cache_medium
from .cache import cache_short
from .cache import cached
from .checks import CheckResult
from .checks import HealthCheck
from .checks import Status
from .config import ConfigKey
from .config import PerfKitConfig
from .config import ShowDetails
from .errors import AlreadyRegisteredError
from .errors import APIError
from .errors import CapabilityDisabledError
from .errors import ConfigError
from .errors import ConfigWarning
from .errors import DatabaseCircuitOpen
from .errors import DatabaseUnavailable
from .errors import InvalidCursor
from .errors import InvalidParameter
from .errors import NotInitializedError
from .errors import PaginationError
from .errors import PaginationUsageError
from .errors import PerfKitError
from .errors import QueryBudgetExceeded
from .errors import SessionRequired
from .errors import UnkeyableArgument
from .extension import PerfKit
from .health import require_admin
from .pagination import Page
from .pagination import PageMetadata
from .pagination import paginate
from .pool import PoolStatus

__version__ = "0.1.0"

__all__ = [
    "MISS",
    "APIError",
    "AlreadyRegisteredError",
    "CapabilityDisabledError",
    "CheckResult",
    "ConfigError",
    "ConfigKey",
    "ConfigWarning",
    "DatabaseCircuitOpen",
    "DatabaseUnavailable",
    "HealthCheck",
    "InvalidCursor",
    "InvalidParameter",
    "NotInitializedError",
    "Page",
    "PageMetadata",
    "PaginationError",
    "PaginationUsageError",
    "PerfKit",
    "PerfKitConfig",
    "PerfKitError",
    "PoolStatus",
    "QueryBudgetExceeded",
    "SessionRequired",
    "ShowDetails",
    "Status",
    "Tier",
    "UnkeyableArgument",
    "cache_long",
    "cache_medium",
    "cache_short",
    "cached",
    "paginate",
    "require_admin",
    "signals",
]
