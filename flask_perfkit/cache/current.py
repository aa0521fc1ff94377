"""The tiered cache of the current app."""

from __future__ import annotations

import typing as t

from flask import current_app
from flask import has_app_context

from .._state import find_state

if t.TYPE_CHECKING:
    from .tiered import TieredCache


def current_cache() -> TieredCache | None:
    """The current app's tiered cache; ``None`` outside an app context, in an app without
    PerfKit, or with ``PERFKIT_ENABLED`` off."""
    if not has_app_context():
        return None
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    state = find_state(app)
    return None if state is None else state.cache
