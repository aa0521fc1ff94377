"""Who may see health details and admin endpoints, and how every health answer is written.

The one "may this caller see details?" gate and the one place the ``pid`` and ``since``
fields are added to a detailed body.
"""

from __future__ import annotations

import functools
import hmac
import json
import os
import typing as t

from flask import Response
from flask import request

from ._state import PerfKitState
from ._state import get_state
from ._time import iso_time
from .checks import Status
from .config import ShowDetails
from .errors import AdminDisabled
from .errors import AuthenticationRequired

HEALTH_CONTENT_TYPE = "application/health+json"
HEADERS = {"Cache-Control": "no-store"}
_HEALTH_HEADERS = [("Cache-Control", "no-store"), ("Content-Type", HEALTH_CONTENT_TYPE)]

F = t.TypeVar("F", bound=t.Callable[..., t.Any])


def is_authorized() -> bool:
    """Whether the current request carries the admin token or passes the auth callback.

    The bearer token is compared in constant time.
    """
    state = get_state()
    token = state.config.health.admin_token
    if token is not None:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), token.encode()
        ):
            return True
    callback = state.authorize
    return callback is not None and bool(callback())


def details_allowed(state: PerfKitState | None = None) -> bool:
    """Whether the current request may see details, by ``PERFKIT_HEALTH_SHOW_DETAILS``."""
    policy = (state or get_state()).config.health.show_details
    if policy is ShowDetails.ALWAYS:
        return True
    if policy is ShowDetails.NEVER:
        return False
    return is_authorized()


def require_admin(view: F) -> F:
    """Guard a view so only admins reach it.

    With neither ``PERFKIT_ADMIN_TOKEN`` nor an auth callback configured, it answers 403 and
    says how to enable admin endpoints. Otherwise a request without a valid
    ``Authorization: Bearer`` token (or that the callback refuses) gets 401.
    """

    @functools.wraps(view)
    def guarded(*args: t.Any, **kwargs: t.Any) -> t.Any:
        check_admin(
            "Admin endpoints are disabled. Set PERFKIT_ADMIN_TOKEN, or pass authorize= to"
            " PerfKit, to enable them.",
            "This endpoint needs an 'Authorization: Bearer <PERFKIT_ADMIN_TOKEN>' header.",
        )
        return view(*args, **kwargs)

    return t.cast(F, guarded)


def check_admin(disabled: str, unauthorized: str, *, off: bool = False) -> None:
    """Refuse the current request unless it is an admin's.

    :param disabled: The message when admin access is off.
    :param unauthorized: The message when the request is not an admin's.
    :param off: Admin access is off whatever is configured.
    :raises AdminDisabled: ``off``, or neither a token nor a callback is configured (403).
    :raises AuthenticationRequired: The request is not an admin's (401).
    """
    state = get_state()
    if off or (state.config.health.admin_token is None and state.authorize is None):
        raise AdminDisabled(disabled)
    if not is_authorized():
        if request.headers.get("Authorization"):
            unauthorized += " The Authorization header of this request was not accepted."
        raise AuthenticationRequired(unauthorized)


def health_response(body: t.Mapping[str, t.Any], status: Status) -> Response:
    """A health response: ``application/health+json``, never cached, 503 only on ``fail``."""
    return encoded_response(json.dumps(body, separators=(",", ":")).encode(), status)


def encoded_response(body: bytes, status: Status) -> Response:
    """A health response of an encoded body."""
    return Response(body, 503 if status is Status.FAIL else 200, _HEALTH_HEADERS)


def stamped(body: t.Mapping[str, t.Any], since: float | None = None) -> dict[str, t.Any]:
    """``body`` with the ``pid`` of this process and, given ``since``, when its numbers
    started counting, as the last fields."""
    result = {**body, "pid": os.getpid()}
    if since is not None:
        result["since"] = iso_time(since)
    return result


def answer(
    status: Status,
    details: t.Callable[[], t.Mapping[str, t.Any]],
    since: float | None = None,
    public: t.Mapping[str, t.Any] | None = None,
) -> Response:
    """Answer a statistics endpoint: ``public`` (by default the status alone) to callers who
    may not see details, else the status, ``details()``, ``pid`` and ``since``.

    :param status: The endpoint's status.
    :param details: Makes the detail fields; called only for callers who see details.
    :param since: When the numbers started counting.
    :param public: The body for other callers.
    """
    if not details_allowed():
        return health_response(public or {"status": status.value}, status)
    return health_response(stamped({"status": status.value, **details()}, since), status)


def done(**fields: t.Any) -> Response:
    """The ``pass`` answer of an admin action, with ``fields`` and the ``pid``."""
    return health_response(stamped({"status": "pass", **fields}), Status.PASS)
