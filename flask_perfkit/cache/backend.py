"""The Flask-Caching backend the tiers store in.

Given the app's own :class:`~flask_caching.Cache`, the tiers use its backend. Without one,
PerfKit builds a backend of its own from the app's ``CACHE_*`` keys, read and never written,
and keeps it to itself: it is not registered in ``app.extensions["cache"]`` and does not
install the ``{% cache %}`` template tag, so a ``Cache`` the app sets up later, before or
after PerfKit, works exactly as it would alone.
"""

from __future__ import annotations

import threading
import typing as t
import weakref

from flask import Flask
from flask_caching import Cache

from ..errors import CacheBackendUnavailable

_REDIS_LIKE = ("redis", "valkey")
# The CACHE_* values (and socket timeout) a backend was built from without error.
_MAX_BUILT = 256
_built: set[tuple[str, float]] = set()


class _Host:
    """What :meth:`Cache.init_app` reads of an app: its config, and where it registers."""

    def __init__(self, app: Flask, config: dict[str, t.Any]) -> None:
        self.name = app.name
        self.import_name = app.import_name
        self.config = config
        self.extensions: dict[str, t.Any] = {}


def _own_config(app: Flask) -> dict[str, t.Any]:
    return {key: value for key, value in app.config.items() if key.startswith("CACHE_")}


def own_backend(app: Flask, socket_timeout: float, config: dict[str, t.Any] | None = None) -> t.Any:
    """A backend built from the app's ``CACHE_*`` keys, ``SimpleCache`` when none is set.

    Redis and Valkey clients get ``socket_timeout`` and ``socket_connect_timeout`` of
    ``socket_timeout`` seconds unless ``CACHE_OPTIONS`` sets them.

    :param config: The app's ``CACHE_*`` keys, if already read.
    """
    config = _own_config(app) if config is None else dict(config)
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
    ``Cache`` may be initialised after PerfKit. Without, :func:`own_backend`: built now the
    first time the process sees these ``CACHE_*`` values, so a mistake in them raises here;
    built on first use for later apps with the same values, which built without error.
    """
    if cache is None:
        config = _own_config(app)
        try:
            key = (repr(sorted(config.items())), socket_timeout)
        except Exception:
            key = None
        if key is None or key not in _built:
            backend = own_backend(app, socket_timeout, config)
            if key is not None and len(_built) < _MAX_BUILT:
                _built.add(key)
            return lambda: backend
        return _LazyBackend(app, socket_timeout, config)
    return _ExtensionBackend(app, cache)


class _ExtensionBackend:
    """The backend of a ``Cache`` on an app, looked up on each call; both held weakly, as a
    ``Cache`` made with the app refers to it."""

    def __init__(self, app: Flask, cache: Cache) -> None:
        self._app = weakref.ref(app)
        self._extension = weakref.ref(cache)

    def __call__(self) -> t.Any:
        app, extension = self._app(), self._extension()
        registered = None if app is None else app.extensions.get("cache", {})
        if not registered or extension is None or extension not in registered:
            raise CacheBackendUnavailable(
                "The Cache given to PerfKit is not initialised on this app; call"
                " cache.init_app(app)."
            )
        return registered[extension]


class _LazyBackend:
    """Builds :func:`own_backend` on its first call, once; holds the app weakly until then."""

    def __init__(self, app: Flask, socket_timeout: float, config: dict[str, t.Any]) -> None:
        self._app = weakref.ref(app)
        self._socket_timeout = socket_timeout
        self._config = config
        self._backend: t.Any = None
        self._lock = threading.Lock()

    def __call__(self) -> t.Any:
        backend = self._backend
        if backend is not None:
            return backend
        with self._lock:
            if self._backend is None:
                app = self._app()
                if app is None:
                    raise CacheBackendUnavailable("The app of this cache no longer exists.")
                self._backend = own_backend(app, self._socket_timeout, self._config)
            return self._backend
