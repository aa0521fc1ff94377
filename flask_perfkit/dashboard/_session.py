"""The dashboard's sign-in cookie, and the one gate of the dashboard and the history.

A person signs in by posting the admin token to ``/health/dashboard/login``. The cookie that
answer sets never holds the token: it holds a timestamped value signed with a key derived
from the token, so it expires after :data:`SESSION_MAX_AGE` and every cookie stops working
when the token changes. The cookie is accepted on ``GET`` requests for the dashboard and the
history only; admin actions still need the bearer token.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from flask import request
from itsdangerous import BadSignature
from itsdangerous import URLSafeTimedSerializer
from werkzeug.wrappers import Response

from .._respond import check_admin
from .._respond import details_allowed
from .._state import PerfKitState
from .._state import get_state
from ..config import ShowDetails
from ..errors import AdminDisabled

#: The name of the sign-in cookie.
COOKIE_NAME = "perfkit_dashboard"
#: Seconds a sign-in lasts: eight hours, a working day.
SESSION_MAX_AGE = 8 * 60 * 60
#: Separates the cookie's signatures from any other use of the admin token.
_SALT = "flask-perfkit.dashboard.session"
#: What the signed value says.
_PAYLOAD = "dashboard"

_DISABLED = (
    "The dashboard shows details, which PERFKIT_HEALTH_SHOW_DETAILS does not show to this"
    " caller. Set PERFKIT_ADMIN_TOKEN and sign in at the dashboard's login page."
)
_UNAUTHORIZED = (
    "The dashboard and the history need a sign-in (the dashboard's login page takes"
    " PERFKIT_ADMIN_TOKEN) or an 'Authorization: Bearer <PERFKIT_ADMIN_TOKEN>' header."
)
_REFUSED_BY_CALLBACK = (
    "The dashboard and the history show details, which the app's authorize callback did not"
    " grant to this request."
)


def _serializer(token: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(token, salt=_SALT)


def session_value(token: str) -> str:
    """A fresh signed cookie value for the admin token ``token``."""
    value: str = _serializer(token).dumps(_PAYLOAD)
    return value


def valid_session(state: PerfKitState | None = None) -> bool:
    """Whether the current request is a ``GET`` or ``HEAD`` carrying a sign-in cookie signed
    with the admin token now configured, younger than :data:`SESSION_MAX_AGE`."""
    state = state or get_state()
    token = state.config.health.admin_token
    value = request.cookies.get(COOKIE_NAME)
    if token is None or not value or request.method not in ("GET", "HEAD"):
        return False
    if state.config.health.show_details is ShowDetails.NEVER:
        return False
    try:
        payload = _serializer(token).loads(value, max_age=SESSION_MAX_AGE)
    except BadSignature:
        return False
    return bool(payload == _PAYLOAD)


def require_dashboard_access() -> None:
    """Refuse the current request unless it may see the dashboard and the history.

    Allowed are callers who may see details (``PERFKIT_HEALTH_SHOW_DETAILS``, the bearer
    token or the auth callback) and ``GET`` requests with a valid sign-in cookie.

    :raises AdminDisabled: Details are off, or no token and no callback is configured (403).
    :raises AuthenticationRequired: The request is neither an admin's nor signed in (401).
    """
    state = get_state()
    if details_allowed(state) or valid_session(state):
        return
    unauthorized = _UNAUTHORIZED if state.config.health.admin_token else _REFUSED_BY_CALLBACK
    check_admin(_DISABLED, unauthorized, off=state.config.health.show_details is ShowDetails.NEVER)


def require_login_enabled(state: PerfKitState) -> str:
    """The admin token, when signing in is possible.

    :raises AdminDisabled: No admin token is configured, or details are never shown.
    """
    token = state.config.health.admin_token
    if token is None or state.config.health.show_details is ShowDetails.NEVER:
        raise AdminDisabled(
            "Signing in to the dashboard needs PERFKIT_ADMIN_TOKEN, and"
            " PERFKIT_HEALTH_SHOW_DETAILS other than 'never'."
        )
    return token


def token_matches(given: str, token: str) -> bool:
    """Whether ``given`` is ``token``, compared in constant time."""
    return hmac.compare_digest(given.encode(), token.encode())


def same_origin() -> bool:
    """Whether the request's ``Origin`` header, if it has one, is the app's own origin."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    parts = urlsplit(origin)
    own = urlsplit(request.host_url)
    return (parts.scheme, parts.netloc) == (own.scheme, own.netloc)


def cookie_path(state: PerfKitState) -> str:
    """The path the cookie is scoped to: the health prefix under the app's script root."""
    prefix = state.config.health.url_prefix or "/"
    return (request.script_root + prefix) or "/"


def set_session(response: Response, state: PerfKitState, token: str) -> None:
    """Sign ``response``'s client in: HttpOnly, ``SameSite=Strict``, scoped to the health
    prefix, ``Secure`` over HTTPS."""
    response.set_cookie(
        COOKIE_NAME,
        session_value(token),
        max_age=SESSION_MAX_AGE,
        path=cookie_path(state),
        secure=request.is_secure,
        httponly=True,
        samesite="Strict",
    )


def clear_session(response: Response, state: PerfKitState) -> None:
    """Sign ``response``'s client out."""
    response.delete_cookie(
        COOKIE_NAME,
        path=cookie_path(state),
        secure=request.is_secure,
        httponly=True,
        samesite="Strict",
    )
