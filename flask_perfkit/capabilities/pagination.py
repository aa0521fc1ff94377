"""The pagination capability: what ``paginate`` learnt of statement shapes."""

from __future__ import annotations

import typing as t

from .._bounded import BoundedMemo
from ..capability import Capability
from ..capability import MemoryUsage

if t.TYPE_CHECKING:
    from .._state import PerfKitState
    from ..pagination import Plan


class PaginationCapability(Capability):
    """The plans :func:`~flask_perfkit.paginate` made of each statement shape."""

    name = "pagination"

    def __init__(self, state: PerfKitState) -> None:
        super().__init__(state)
        limit = state.config.pagination.max_page_plans
        #: What ``paginate`` learnt of each statement shape.
        self.plans: BoundedMemo[tuple[t.Any, ...], Plan] = BoundedMemo(limit)

    def memory(self) -> dict[str, MemoryUsage]:
        plans = self.plans
        return {"pagination_plans": MemoryUsage(len(plans), plans.limit, plans.evictions)}
