"""The pagination capability: what ``paginate`` learnt, and the cursor codec."""

from __future__ import annotations

import typing as t

from .._bounded import BoundedMemo
from ..capability import Capability
from ..capability import MemoryUsage

if t.TYPE_CHECKING:
    from .._state import PerfKitState
    from ..cursors import CursorCodec
    from ..pagination import Plan
    from ..pagination import _Walk


class PaginationCapability(Capability):
    """The memos of :func:`~flask_perfkit.paginate` and the codec of its cursors."""

    name = "pagination"

    def __init__(self, state: PerfKitState) -> None:
        super().__init__(state)
        limit = state.config.pagination.max_page_plans
        #: What ``paginate`` learnt of each statement shape.
        self.plans: BoundedMemo[tuple[t.Any, ...], Plan] = BoundedMemo(limit)
        #: What ``paginate`` learnt of each ordering.
        self.walks: BoundedMemo[tuple[t.Any, ...], _Walk] = BoundedMemo(limit)
        #: Signs pagination cursors; made on first use, remade when the keys change.
        self.cursor_codec: CursorCodec | None = None

    def memory(self) -> dict[str, MemoryUsage]:
        return {
            name: MemoryUsage(len(memo), memo.limit, memo.evictions)
            for name, memo in (
                ("pagination_plans", self.plans),
                ("pagination_orderings", self.walks),
            )
        }
