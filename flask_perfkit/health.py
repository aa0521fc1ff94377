"""The ``perfkit`` health blueprint: liveness, readiness and the full report, and every
capability's endpoints, added by explicit calls when the blueprint is first needed.

Liveness (``GET /health``) does no I/O. Every other view runs its checks through the state's
:class:`~flask_perfkit.checks.CheckRunner`, so it answers within ``PERFKIT_HEALTH_TIMEOUT``
whatever a dependency does.
"""

from __future__ import annotations

import threading
import typing as t

from flask import Blueprint
from flask import Response
from flask import request

from . import capabilities
from ._respond import HEALTH_CONTENT_TYPE
from ._respond import details_allowed
from ._respond import encoded_response
from ._respond import health_response
from ._respond import is_authorized
from ._respond import require_admin
from ._run import checks_body
from ._run import checks_response
from ._run import run_checks
from ._state import get_state
from .checks import Status

if t.TYPE_CHECKING:
    from .capability import Capability

__all__ = [
    "HEALTH_CONTENT_TYPE",
    "blueprint",
    "checks_body",
    "details_allowed",
    "health_response",
    "is_authorized",
    "require_admin",
    "run_checks",
]

_LIVE_BODY = b'{"status":"pass"}'
_made: dict[tuple[type[Capability], ...], Blueprint] = {}
_lock = threading.Lock()


def blueprint() -> Blueprint:
    """The ``perfkit`` blueprint with every endpoint: this module's and each capability's.

    Made on the first call, the same object afterwards: its rules are built once per process
    for each registry ``flask_perfkit.capabilities.CAPABILITIES``.
    """
    registry = capabilities.CAPABILITIES
    made = _made.get(registry)
    if made is not None:
        return made
    with _lock:
        if registry not in _made:
            bp = Blueprint("perfkit", __name__)
            add_views(bp)
            for capability in registry:
                capability.add_views(bp)
            _made[registry] = bp
    return _made[registry]


def add_views(bp: Blueprint) -> None:
    """Add liveness, readiness and the full report to ``bp``, and keep shared caches from
    storing its routing errors."""
    bp.add_url_rule("", "live", live, methods=["GET"])
    bp.add_url_rule("/ready", "ready", ready, methods=["GET"])
    bp.add_url_rule("/full", "full", full, methods=["GET"])
    bp.after_app_request(no_store_on_routing_errors)


def no_store_on_routing_errors(response: Response) -> Response:
    """Keep shared caches from storing the 404 and 405 answers under the health prefix.

    PerfKit's own views set ``Cache-Control: no-store``; a request that matched no route
    (a GET on an admin endpoint, a mistyped path) never reaches them, nor does an ``OPTIONS``
    request, which Flask answers itself. The app's own error body is left as it is.
    """
    if "Cache-Control" in response.headers:
        return response
    if request.url_rule is None:
        prefix = get_state().config.health.url_prefix
        path = request.path
        if prefix is not None and (path == prefix or path.startswith(prefix.rstrip("/") + "/")):
            response.headers["Cache-Control"] = "no-store"
    elif request.blueprint == "perfkit":
        response.headers["Cache-Control"] = "no-store"
    return response


def live() -> Response:
    """Liveness: the process answers. Touches no dependency; always 200."""
    return encoded_response(_LIVE_BODY, Status.PASS)


def ready() -> Response:
    """Readiness: every readiness check, 200 for ``pass`` and ``warn``, 503 for ``fail``."""
    state = get_state()
    return checks_response(state, state.readiness_checks())


def full() -> Response:
    """Every check, readiness or not, and each capability's summary under ``components``.

    Anonymous callers under ``when_authorized`` get the statuses only.
    """
    state = get_state()
    return checks_response(state, state.all_checks(), lambda: {"components": state.components()})
