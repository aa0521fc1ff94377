"""Caching a view's responses the way a shared HTTP cache does (RFC 9111).

- Only ``GET`` and ``HEAD`` are answered from the cache; ``HEAD`` is answered from ``GET``'s
  entry, and a ``HEAD`` that misses runs the view without storing its response (a view may
  leave out the body of a ``HEAD``). Other methods run the view and are counted as ``bypass``.
- A request with ``Authorization`` is answered from the cache only when the decorator says
  the page is shared (``shared=True``); otherwise it runs the view, and its response is
  not stored.
- A response is stored only when its status is cacheable by default (200, 203, 204, 300,
  301, 308, 404, 405, 410, 414, 501) and it has no ``Set-Cookie``, no ``Cache-Control``
  ``private``, ``no-store``, ``no-cache`` or a zero ``s-maxage`` (or ``max-age`` without
  one, or a past ``Expires`` without either), no ``Vary: *`` or ``Vary: Cookie``, and the view
  did not touch the session (Flask then adds ``Vary: Cookie``). Streamed responses are not
  stored.
- A response that says how long it stays fresh (``s-maxage``, ``max-age`` or ``Expires``)
  is served from the cache no longer than that, even when the tier keeps it longer.
- A hit that has an ``ETag`` or ``Last-Modified`` answers a conditional request
  (``If-None-Match``, ``If-Modified-Since``) with 304 when the validator matches.
- Other ``Vary`` headers are keyed on: one entry holds the variants of a URL, each under
  the values the request had for the named headers, so a hit is still one backend read.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import time
import typing as t

from flask import Response
from flask import current_app
from flask import request
from flask.globals import request_ctx

from .tiers import FAILED
from .tiers import MISS
from .tiers import Tier

if t.TYPE_CHECKING:
    from .tiered import TieredCache

#: Methods answered from the cache.
CACHED_METHODS = frozenset({"GET", "HEAD"})
#: Statuses a shared cache may store without explicit freshness (RFC 9110, 15.1).
CACHEABLE_STATUSES = frozenset({200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501})
#: Request headers whose variation a response may not be cached under.
UNCACHEABLE_VARY = frozenset({"*", "cookie"})
#: Variants of one URL kept in its entry; the oldest go first.
MAX_VARIANTS = 16

_VARY = "vary"
_VARIANTS = "variants"


def bypasses_cache(shared: bool) -> bool:
    """Whether the current request must run the view without the cache."""
    if request.method not in CACHED_METHODS:
        return True
    return not shared and "Authorization" in request.headers


def _variant(names: t.Iterable[str]) -> str:
    text = "\n".join(f"{name}:{request.headers.get(name, '')}" for name in names)
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def _opened_session() -> t.Any:
    # Read it without touching the session: Flask 3.1's ``session`` proxy sets ``accessed``.
    ctx = vars(request_ctx._get_current_object())  # type: ignore[attr-defined]
    return ctx.get("_session", ctx.get("session"))


def session_accessed() -> bool:
    """Whether the current request has read its session so far."""
    return bool(getattr(_opened_session(), "accessed", False))


@contextlib.contextmanager
def _view_reads_only(excused: bool) -> t.Iterator[None]:
    """With ``excused``, only the view's own reads of the session count as touching it.

    ``excused`` when the first read was ``vary_on``'s, whose value the key holds. The flag is
    set again afterwards, so Flask still adds ``Vary: Cookie`` to the response for caches
    further down the line.
    """
    opened: t.Any = _opened_session() if excused else None
    earlier = bool(getattr(opened, "accessed", False))
    try:
        if earlier:
            opened.accessed = False
    except AttributeError:
        earlier = False
    try:
        yield
    finally:
        if earlier:
            opened.accessed = True


def response_from(entry: t.Any) -> Response | None:
    """The response an entry holds for the current request, or ``None``."""
    try:
        variant = entry[_VARIANTS].get(_variant(entry[_VARY]))
        if variant is None:
            return None
        status, headers, body, *fresh_until = variant
        if fresh_until and time.time() >= float(fresh_until[0]):
            return None
        return Response(body.encode("latin-1"), status=int(status), headers=list(headers))
    except (TypeError, KeyError, ValueError, AttributeError, UnicodeError):
        return None


def _conditional(response: Response) -> Response:
    # A stored validator answers a conditional request with 304, as the view's own would.
    validated = "ETag" in response.headers or "Last-Modified" in response.headers
    asked = "If-None-Match" in request.headers or "If-Modified-Since" in request.headers
    if validated and asked:
        response.make_conditional(request.environ)
    return response


def storable(response: Response) -> list[str] | None:
    """The lowercased ``Vary`` names to key the response on, or ``None`` if not storable."""
    if response.status_code not in CACHEABLE_STATUSES:
        return None
    if response.is_streamed or response.direct_passthrough:
        return None
    if "Set-Cookie" in response.headers or session_accessed():
        return None
    control = response.cache_control
    if control.private is not None or control.no_store or control.no_cache is not None:
        return None
    lifetime = freshness(response)
    if lifetime is not None and lifetime <= 0:
        return None
    names = sorted({name.strip().lower() for name in response.vary if name.strip()})
    if UNCACHEABLE_VARY.intersection(names):
        return None
    return names


def freshness(response: Response) -> float | None:
    """Seconds the response says it stays fresh (RFC 9111, 4.2.1), or ``None`` if it does
    not say; an ``Expires`` that cannot be read counts as already expired."""
    control = response.cache_control
    if control.s_maxage is not None:
        return float(control.s_maxage)
    if control.max_age is not None:
        return float(control.max_age)
    if "Expires" not in response.headers:
        return None
    expires = response.expires
    if expires is None:
        return 0.0
    date = response.date or datetime.datetime.now(datetime.UTC)
    return (expires - date).total_seconds()


def entry_for(response: Response, previous: t.Any) -> t.Any:
    """The entry storing ``response`` beside the variants of ``previous`` that still apply."""
    names = storable(response)
    if names is None:
        return None
    body = response.get_data().decode("latin-1")
    headers = [[key, value] for key, value in response.headers.items()]
    variants: dict[str, t.Any] = {}
    try:
        if list(previous[_VARY]) == names:
            variants.update(previous[_VARIANTS])
    except (TypeError, KeyError, ValueError, AttributeError):
        pass
    key = _variant(names)
    variants.pop(key, None)
    variant: list[t.Any] = [response.status_code, headers, body]
    lifetime = freshness(response)
    if lifetime is not None:
        # Shorter than the tier's time to live: the variant is a miss once it is stale.
        variant.append(time.time() + lifetime)
    variants[key] = variant
    while len(variants) > MAX_VARIANTS:
        del variants[next(iter(variants))]
    return {_VARY: names, _VARIANTS: variants}


def serve(
    cache: TieredCache,
    tier: Tier,
    key: str,
    name: str,
    view: t.Callable[[], t.Any],
    keyed_per_caller: bool = False,
) -> t.Any:
    """Answer the current request from the cache, or run ``view`` and store its response.

    :param keyed_per_caller: The session was first read by ``vary_on``, whose value the key
        holds: that read does not keep the response from being stored; one in the view
        still does.
    """
    entry = cache.lookup(key, tier, count=False)
    if entry is FAILED:
        cache.count(tier, hit=False)
        return view()
    if entry is not MISS:
        cached = response_from(entry)
        if cached is not None:
            cache.count(tier, hit=True)
            return _conditional(cached)
    cache.count(tier, hit=False)
    if request.method == "HEAD":
        # A view may answer HEAD without its body; that response must not answer a GET.
        return view()
    previous = entry

    def produce() -> tuple[Response, t.Any]:
        with _view_reads_only(keyed_per_caller):
            response = current_app.make_response(view())
            stored = entry_for(response, previous)
        return response, MISS if stored is None else stored

    def resolve(shared_entry: t.Any) -> t.Any:
        found = response_from(shared_entry)
        return MISS if found is None else found

    return cache.compute_once(key, tier, produce, resolve, name)
