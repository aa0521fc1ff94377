"""The registry: every capability PerfKit wires into an app, in order.

The order is the order of the health checks in ``checks``, of the blocks of ``/health/full``
and of the report's recommendations. Adding a capability is one module and one line here;
see :doc:`/design`.
"""

from __future__ import annotations

from ..capability import Capability
from .cache import CacheCapability
from .dashboard import DashboardCapability
from .database import DatabaseCapability
from .history import HistoryCapability
from .metrics import MetricsCapability
from .pagination import PaginationCapability
from .profiling import ProfilingCapability
from .testing import TestingCapability

CAPABILITIES: tuple[type[Capability], ...] = (
    DatabaseCapability,
    CacheCapability,
    ProfilingCapability,
    PaginationCapability,
    MetricsCapability,
    HistoryCapability,
    DashboardCapability,
    TestingCapability,
)
