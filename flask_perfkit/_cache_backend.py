"""The Flask-Caching backend the tiers store in.

Given the app's own :class:`~flask_caching.Cache`, the tiers use its backend. Without one,
PerfKit builds a backend of its own from the app's ``CACHE_*`` keys, read and never written,
and keeps it to itself: it is not registered in ``app.extensions["cache"]`` and does not
install the ``{% cache %}`` template tag, so a ``Cache`` the app sets up later, before or
after PerfKit, works exactly as it would alone.
"""

from __future__ import annotations

import typing as t
import weakref

from flask import Flask
from flask_caching import Cache

_REDIS_LIKE = ("redis", "valkey")


class _Host:
    """What :meth:`Cache.init_app` reads of an app: its config, and where it registers."""

    def __init__(self, app: Flask, config: dict[str, t.Any]) -> None:
        self.name = app.name
        self.import_name = app.import_name
        self.config = config
        self.extensions: dict[str, t.Any] = {}


def own_backend(app: Flask, socket_timeout: float) -> t.Any:
    """A backend built from the app's ``CACHE_*`` keys, ``SimpleCache`` when none is set.

    Redis and Valkey clients get ``socket_timeout`` and ``socket_connect_timeout`` of
    ``socket_timeout`` seconds unless ``CACHE_OPTIONS`` sets them.
    """
    config = {key: value for key, value in app.config.items() if key.startswith("CACHE_")}
    config.setdefault("CACHE_TYPE", "SimpleCache")
    if any(name in str(config["CACHE_TYPE"]).lower() for name in _REDIS_LIKE):
        options = dict(config.get("CACHE_OPTIONS") or {})
        options.setdefault("socket_timeout", socket_timeout)
        options.setdefault("socket_connect_timeout", socket_timeout)
        config["CACHE_OPTIONS"] = options
    host = _Host(app, config)
    cache = Cache(with_jinja2_ext=False)
    cache.init_app(host, config)  # type: ignore[arg-type]
    return host.extensions["cache"][cache]


def backend_getter(app: Flask, cache: Cache | None, socket_timeout: float) -> t.Callable[[], t.Any]:
    """Return a function giving the tiers' backend; it holds the app weakly.

    With ``cache``, that extension's backend on the app, looked up on first use, so the
    ``Cache`` may be initialised after PerfKit. Without, :func:`own_backend`, built now.
    """
    if cache is None:
        backend = own_backend(app, socket_timeout)
        return lambda: backend
    # Both held weakly: a Cache made with the app refers to it.
    app_ref = weakref.ref(app)
    extension_ref = weakref.ref(cache)

    def lookup() -> t.Any:
        current, extension = app_ref(), extension_ref()
        registered = None if current is None else current.extensions.get("cache", {})
        if not registered or extension is None or extension not in registered:
            raise RuntimeError(
                "The Cache given to PerfKit is not initialised on this app; call"
                " cache.init_app(app)."
            )
        return registered[extension]

    return lookup
