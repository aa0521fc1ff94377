"""The dashboard's own Jinja environment, its static assets, and the headers of its pages.

The templates are rendered by an environment of PerfKit's own that loads only from this
package, so an app's templates can neither replace the dashboard's nor be replaced by them.
"""

from __future__ import annotations

import functools
import hashlib
import typing as t
from importlib import resources

import jinja2

#: The ``Content-Security-Policy`` of every dashboard page: nothing but the app's own origin,
#: no framing, no ``<base>``, forms posting only to the app.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
#: The headers of every dashboard page.
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
#: The static files served under ``/dashboard/assets/``, and their content types. No other
#: name is served.
ASSETS = {
    "dashboard.css": "text/css; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
#: How long a browser keeps an asset: its URL carries its content's hash.
ASSET_MAX_AGE = 365 * 24 * 60 * 60


class Asset(t.NamedTuple):
    """One static file: its bytes, content type and a hash of its content."""

    body: bytes
    content_type: str
    etag: str


@functools.cache
def environment() -> jinja2.Environment:
    """PerfKit's Jinja environment for the dashboard: this package's templates only,
    autoescaped, undefined names an error."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("flask_perfkit.dashboard", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(name: str, **context: t.Any) -> str:
    """Render the template ``perfkit/<name>`` of the dashboard."""
    return environment().get_template(f"perfkit/{name}").render(**context)


@functools.cache
def asset(name: str) -> Asset | None:
    """The static file ``name``, or ``None`` when it is not one of :data:`ASSETS`."""
    content_type = ASSETS.get(name)
    if content_type is None:
        return None
    body = resources.files("flask_perfkit.dashboard").joinpath("static", name).read_bytes()
    return Asset(body, content_type, hashlib.sha256(body).hexdigest()[:16])


def asset_versions() -> dict[str, str]:
    """The content hash of each static file, to put in its URL."""
    versions = {}
    for name in ASSETS:
        found = asset(name)
        if found is not None:
            versions[name] = found.etag
    return versions
