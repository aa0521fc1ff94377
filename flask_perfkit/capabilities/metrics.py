"""The metrics capability: ``GET /health/metrics`` and the snapshots of multiprocess mode.

Its own :meth:`~flask_perfkit.capability.Capability.metrics` is empty: it exposes what the
other capabilities report.
"""

from __future__ import annotations

import functools
import typing as t

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import request

from .. import metrics as _metrics
from .._respond import HEADERS
from .._respond import check_admin
from .._respond import details_allowed
from .._run import run_checks
from .._state import get_state
from ..capability import Capability
from ..capability import Wiring
from ..config import ShowDetails
from ..errors import MetricsUnavailable


class MetricsCapability(Capability):
    """Serves the Prometheus exposition of every capability's numbers."""

    name = "metrics"

    @functools.cached_property
    def writer(self) -> _metrics.SnapshotWriter:
        """Writes this process's metrics for prometheus_client's multiprocess mode; made on
        first use."""
        return _metrics.SnapshotWriter(self.state, self.state.app.import_name)

    def init_app(self, app: Flask, wiring: Wiring) -> None:
        if _metrics.multiprocess_dir():
            # Each worker writes its snapshot for the process that Prometheus scrapes.
            app.before_request(self.writer.start)

    @staticmethod
    def add_views(bp: Blueprint) -> None:
        bp.add_url_rule("/metrics", "metrics", metrics_view, methods=["GET"])


def metrics_view() -> Response:
    """Prometheus text exposition of the query, cache, pool and health metrics.

    Metrics are details: under ``when_authorized`` Prometheus sends the admin token as a
    bearer token; under ``never`` the endpoint is off.
    """
    state = get_state()
    if not details_allowed(state):
        check_admin(
            "Metrics are details, which PERFKIT_HEALTH_SHOW_DETAILS does not show to this"
            " caller. Set PERFKIT_ADMIN_TOKEN and scrape with it as a bearer token.",
            "Metrics need an 'Authorization: Bearer <PERFKIT_ADMIN_TOKEN>' header.",
            off=state.config.health.show_details is ShowDetails.NEVER,
        )
    writer = t.cast(MetricsCapability, state.registry[MetricsCapability.name]).writer
    try:
        _, results = run_checks(state, state.all_checks())
        text, content_type = _metrics.exposition(
            state,
            writer,
            {name: result.status for name, result in results.items()},
            request.headers.get("Accept", ""),
        )
    except ImportError:
        raise MetricsUnavailable(
            "GET /health/metrics needs prometheus_client: pip install 'flask-perfkit[prometheus]'."
        ) from None
    return Response(text, headers=HEADERS, content_type=content_type)
