"""The ``PERFKIT_*`` configuration keys, their defaults and their validation.

Each key is one row of a table (``_table.ROWS``) that gives its default, the kind of value
it takes and the attribute of the :class:`PerfKitConfig` section it is resolved into.
"""

from __future__ import annotations

from ._names import nearest
from ._sections import BudgetAction
from ._sections import CacheConfig
from ._sections import CheckOverride
from ._sections import ConfigKey
from ._sections import DatabaseConfig
from ._sections import HealthConfig
from ._sections import HistoryConfig
from ._sections import PaginationConfig
from ._sections import PerfKitConfig
from ._sections import PoolConfig
from ._sections import ProfilerConfig
from ._sections import ShowDetails
from ._table import DEFAULTS
from ._table import apply_defaults
from ._table import resolve
from ._table import unknown_keys

__all__ = [
    "DEFAULTS",
    "BudgetAction",
    "CacheConfig",
    "CheckOverride",
    "ConfigKey",
    "DatabaseConfig",
    "HealthConfig",
    "HistoryConfig",
    "PaginationConfig",
    "PerfKitConfig",
    "PoolConfig",
    "ProfilerConfig",
    "ShowDetails",
    "apply_defaults",
    "nearest",
    "resolve",
    "unknown_keys",
]
