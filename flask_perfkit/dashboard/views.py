"""The dashboard's endpoints: the page, its sign-in and sign-out, and its static files."""

from __future__ import annotations

import os
import typing as t

from flask import Blueprint
from flask import Response
from flask import redirect
from flask import request
from flask import url_for
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response as BaseResponse

from .._run import run_checks
from .._state import PerfKitState
from .._state import get_state
from ..errors import AuthenticationRequired
from ..errors import CrossOriginRequest
from ..errors import InvalidParameter
from ..report import build_report
from . import _render
from ._session import clear_session
from ._session import require_dashboard_access
from ._session import require_login_enabled
from ._session import same_origin
from ._session import set_session
from ._session import token_matches
from ._session import valid_session

#: Rows of the top patterns table.
TABLE_ROWS = 25
#: Entries of the slow queries list, the newest.
SLOW_ROWS = 10
#: Seconds between two refreshes of the page.
POLL_SECONDS = 5
#: The ranges the page offers, as ``/health/history`` takes them.
RANGES = ("15m", "1h", "24h")


def add_views(bp: Blueprint) -> None:
    """Add the dashboard's endpoints to ``bp``."""
    bp.add_url_rule("/dashboard", "dashboard", dashboard, methods=["GET"])
    bp.add_url_rule("/dashboard/login", "dashboard_login", login, methods=["GET", "POST"])
    bp.add_url_rule("/dashboard/logout", "dashboard_logout", logout, methods=["POST"])
    # One rule per file rather than one with a variable: rules without variables are
    # compiled once per process and shared by every app (see flask_perfkit._routing), and
    # any other name under assets/ matches no rule.
    for name in _render.ASSETS:
        bp.add_url_rule(f"/dashboard/assets/{name}", _asset_endpoint(name), asset, methods=["GET"])


def _asset_endpoint(name: str) -> str:
    """The endpoint of the static file ``name``, such as ``dashboard_asset_dashboard_css``."""
    return "dashboard_asset_" + name.replace(".", "_")


def _page(template: str, code: int = 200, **context: t.Any) -> Response:
    context["assets"] = {
        name: url_for(f"perfkit.{_asset_endpoint(name)}", v=version)
        for name, version in _render.asset_versions().items()
    }
    body = _render.render(template, **context)
    return Response(body, code, _render.PAGE_HEADERS, content_type="text/html; charset=utf-8")


def _wants_html() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html"


def dashboard() -> Response:
    """The dashboard page: health checks, charts over time, the costliest patterns, slow
    queries, N+1 suspects and recommendations.

    A detail endpoint: refused with 401 or 403 as ``/health/metrics`` is. A browser that is
    not signed in gets the sign-in form with the 401 when an admin token is configured.
    """
    state = get_state()
    chosen = _range_arg(request.args)
    try:
        require_dashboard_access()
    except AuthenticationRequired:
        if state.config.health.admin_token is None or not _wants_html():
            raise
        return _login_page(401, chosen=chosen)
    return _page("dashboard.html", **_context(state))


def _range_arg(values: t.Mapping[str, str]) -> str | None:
    """The range asked for in ``values`` (the query string or the sign-in form), if any.

    :raises InvalidParameter: It is given but is not one of :data:`RANGES`.
    """
    chosen = values.get("range")
    if chosen is not None and chosen not in RANGES:
        raise InvalidParameter(f"'range' must be one of {', '.join(RANGES)}.", param="range")
    return chosen


def _context(state: PerfKitState) -> dict[str, t.Any]:
    status, results = run_checks(state, state.all_checks())
    report = build_report(state.profiler, state.recommendations(), limit=TABLE_ROWS)
    # In multiprocess mode, the history capability sums the costliest patterns of the workers.
    summing = getattr(state.registry.get("history"), "summed_patterns", None)
    summed = summing(TABLE_ROWS) if summing is not None else None
    if summed is not None:
        report["top_patterns"] = summed
    base = url_for("perfkit.live")
    history = getattr(state.registry.get("history"), "history", None)
    settings = {
        # None when PERFKIT_HISTORY_ENABLED is False: the page then refreshes without it.
        "history": base.rstrip("/") + "/history" if history is not None else None,
        "page": url_for("perfkit.dashboard"),
        "interval": POLL_SECONDS,
        "ranges": RANGES,
    }
    return {
        "status": status.value,
        "checks": [(name, result.status.value) for name, result in results.items()],
        "report": report,
        "slow_rows": SLOW_ROWS,
        "settings": settings,
        "signed_in": valid_session(state),
        "logout_url": url_for("perfkit.dashboard_logout"),
        "pid": os.getpid(),
        "summed": summed is not None,
    }


def _login_page(code: int = 200, error: str | None = None, chosen: str | None = None) -> Response:
    action = url_for("perfkit.dashboard_login")
    return _page("login.html", code, action=action, error=error, chosen=chosen)


def login() -> BaseResponse:
    """Sign in to the dashboard: ``GET`` shows the form; ``POST`` takes the admin token in
    the form body and sets the sign-in cookie.

    The token is never read from the query string, and a ``POST`` whose ``Origin`` is
    another site is refused with 403. A wrong token answers 401 with the form again.
    """
    state = get_state()
    token = require_login_enabled(state)
    if request.method == "GET":
        return _login_page(chosen=_range_arg(request.args))
    if not same_origin():
        raise CrossOriginRequest("The sign-in form was posted from another site.")
    if "token" in request.args:
        raise InvalidParameter("The token goes in the form body, never in the URL.", param="token")
    chosen = _range_arg(request.form)
    given = request.form.get("token", "")
    if not given or not token_matches(given, token):
        return _login_page(401, "That token was not accepted.", chosen)
    # Back to the range the page was opened with, so a bookmarked range survives signing in.
    response = redirect(url_for("perfkit.dashboard", range=chosen), 303)
    set_session(response, state, token)
    response.headers["Cache-Control"] = "no-store"
    return response


def logout() -> BaseResponse:
    """Sign out of the dashboard: clear the cookie and show the sign-in form."""
    state = get_state()
    if not same_origin():
        raise CrossOriginRequest("The sign-out form was posted from another site.")
    response = redirect(url_for("perfkit.dashboard_login"), 303)
    clear_session(response, state)
    response.headers["Cache-Control"] = "no-store"
    return response


def asset() -> BaseResponse:
    """One of the dashboard's static files, by name from a fixed list; 404 for any other.

    Public, as it holds no data. Its URL carries a hash of its content, so browsers keep it
    for a year; it also answers ``If-None-Match``.
    """
    rule = request.url_rule
    found = _render.asset(rule.rule.rsplit("/", 1)[-1]) if rule is not None else None
    if found is None:
        raise NotFound()
    response = Response(found.body, content_type=found.content_type)
    response.set_etag(found.etag)
    response.headers["Cache-Control"] = f"public, max-age={_render.ASSET_MAX_AGE}, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response.make_conditional(request)
