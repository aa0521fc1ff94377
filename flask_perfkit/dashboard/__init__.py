"""The dashboard: one HTML page for people at ``GET /health/dashboard``, its sign-in, and
its static files. See :doc:`/dashboard`."""

from __future__ import annotations

from ._session import COOKIE_NAME
from ._session import SESSION_MAX_AGE
from ._session import require_dashboard_access

__all__ = ["COOKIE_NAME", "SESSION_MAX_AGE", "require_dashboard_access"]
