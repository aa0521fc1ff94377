"""The dashboard capability: ``GET /health/dashboard``, a page for people that draws the
history of ``/health/history`` and the profiling report. See :doc:`/dashboard`."""

from __future__ import annotations

from flask import Blueprint

from ..capability import Capability


class DashboardCapability(Capability):
    """Serves the dashboard page, its sign-in and its static files."""

    name = "dashboard"

    @staticmethod
    def add_views(bp: Blueprint) -> None:
        from ..dashboard import views

        views.add_views(bp)
