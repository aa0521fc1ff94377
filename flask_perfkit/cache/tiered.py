"""Tiered cache decorators on a Flask-Caching backend.

A hit costs one backend ``get``. Values are stored in a small envelope, so a cached ``None``
is a hit and a value someone else wrote under the key (or a corrupt one) is a miss. Backend
failures never fail a call: the function runs uncached, the error is counted, logged at most
once a minute per tier and signalled, and after a few failures in a row the backend is left
alone for a short interval (a circuit breaker), so a black-holed Redis does not add its
timeout to every request. Concurrent misses on one key compute once per process while the
backend answers; while it fails, calls run uncached side by side, never waiting on each
other. A value the backend's serializer cannot store is served, counted as
``unserializable`` and never taken for a backend failure.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import logging
import pickle
import re
import threading
import time
import typing as t
import weakref
from time import perf_counter

from flask import Flask
from flask import current_app
from flask import has_app_context
from flask import has_request_context
from flask import request

from . import _http_cache
from .cache_keys import ArgumentKey
from .cache_keys import function_name
from .checks import summarize_error
from .signals import cache_error

if t.TYPE_CHECKING:
    from .config import PerfKitConfig

logger = logging.getLogger("flask_perfkit")

P = t.ParamSpec("P")
R = t.TypeVar("R")

_ENVELOPE = "pk1"
_ENVELOPE_TYPES = (tuple, list)
#: Seconds between two log lines about one tier's backend errors.
_LOG_INTERVAL = 60.0


class Tier(enum.StrEnum):
    """A cache tier; its time to live comes from ``PERFKIT_CACHE_<TIER>_TIMEOUT``."""

    SHORT = "short"
    MEDIUM = "medium"
    LONG = "long"


class _Miss:
    def __repr__(self) -> str:
        return "MISS"


#: Returned by :meth:`TieredCache.get` when the key holds nothing usable.
MISS: t.Final = _Miss()
# Returned by TieredCache.lookup when the backend failed: the caller should not store.
_FAILED: t.Final = _Miss()


@dataclasses.dataclass
class TierStats:
    """Counts of one tier since start or the last reset."""

    hits: int = 0
    misses: int = 0
    sets: int = 0
    errors: int = 0
    #: Calls that ran without the cache: a view called with a method other than GET or
    #: HEAD, or with ``Authorization`` on a page not declared shared.
    bypass: int = 0
    #: Values the backend's serializer could not store; they were served uncached.
    unserializable: int = 0
    #: Seconds spent waiting on the backend.
    backend_seconds: float = 0.0

    @property
    def hit_rate(self) -> float | None:
        """``hits / (hits + misses)``, or ``None`` before any lookup."""
        lookups = self.hits + self.misses
        return round(self.hits / lookups, 4) if lookups else None

    def to_dict(self) -> dict[str, t.Any]:
        return {
            "hits": self.hits,
            "misses": self.misses,
            "sets": self.sets,
            "errors": self.errors,
            "bypass": self.bypass,
            "unserializable": self.unserializable,
            "hit_rate": self.hit_rate,
            "backend_ms": round(self.backend_seconds * 1000, 3),
        }


class TieredCache:
    """The tiered cache of one app, on its Flask-Caching backend.

    :param config: The app's configuration.
    :param backend: Returns the cachelib backend object (``Cache.cache``); called once, on
        first use, so a ``Cache`` may be initialised after PerfKit.
    :param app: The app, the sender of signals; held weakly.
    """

    def __init__(self, config: PerfKitConfig, backend: t.Callable[[], t.Any], app: Flask) -> None:
        self.config = config
        self._backend_getter = backend
        self._backend: t.Any = None
        self.prefix = config.cache_key_prefix
        self.timeouts = {
            Tier.SHORT: config.cache_short_timeout,
            Tier.MEDIUM: config.cache_medium_timeout,
            Tier.LONG: config.cache_long_timeout,
        }
        self._app = weakref.ref(app)
        self._lock = threading.Lock()
        self._stats = {tier: TierStats() for tier in Tier}
        #: When the counts started: at creation or the last :meth:`reset_stats`.
        self.since = time.time()
        self._failures = 0
        self._open_until = 0.0
        self._last_log: dict[Tier, float] = {}
        self._last_error: str | None = None
        self._flights: dict[str, _Flight] = {}
        self._heads = {tier: f"{self.prefix}{tier.value}:" for tier in Tier}
        self._unserializable_names: set[str] = set()

    # -- the backend, guarded --------------------------------------------------------------

    @property
    def backend(self) -> t.Any:
        """The cachelib backend object."""
        if self._backend is None:
            self._backend = self._backend_getter()
        return self._backend

    @property
    def backend_name(self) -> str:
        """The backend's class name, such as ``"SimpleCache"`` or ``"RedisCache"``."""
        return type(self.backend).__name__

    @property
    def circuit_open(self) -> bool:
        """Whether the backend is being left alone after repeated failures."""
        return time.monotonic() < self._open_until

    def _failed(self, tier: Tier, exc: BaseException) -> None:
        summary = summarize_error(exc)
        now = time.monotonic()
        with self._lock:
            self._stats[tier].errors += 1
            self._failures += 1
            self._last_error = summary
            if self._failures >= self.config.cache_breaker_failures:
                self._open_until = now + self.config.cache_breaker_seconds
            should_log = now - self._last_log.get(tier, -_LOG_INTERVAL) >= _LOG_INTERVAL
            if should_log:
                self._last_log[tier] = now
        if should_log:
            logger.warning(
                "The %s cache backend failed (%s); calls run uncached.", self.backend_name, summary
            )
        app = self._app()
        if app is not None:
            cache_error.send(app, tier=tier.value, error=summary)

    def _succeeded(self) -> None:
        if self._failures:
            with self._lock:
                self._failures = 0
                self._open_until = 0.0

    def get(self, key: str, tier: Tier = Tier.SHORT) -> t.Any:
        """The value under ``key``, or :data:`MISS`. Never raises a backend error."""
        value = self.lookup(key, tier)
        return MISS if value is _FAILED else value

    def lookup(self, key: str, tier: Tier, *, count: bool = True) -> t.Any:
        """Like :meth:`get`, but a failed backend gives a sentinel of its own.

        :param count: Count the hit or miss; the time spent on the backend is always counted.

        :meta private:
        """
        stats = self._stats[tier]
        counted = 1 if count else 0
        if self._open_until and self.circuit_open:
            with self._lock:
                stats.misses += counted
            return _FAILED
        start = perf_counter()
        try:
            raw = self.backend.get(key)
        except Exception as exc:
            with self._lock:
                stats.backend_seconds += perf_counter() - start
                stats.misses += counted
            self._failed(tier, exc)
            return _FAILED
        value = _unwrap(raw)
        with self._lock:
            stats.backend_seconds += perf_counter() - start
            if value is MISS:
                stats.misses += counted
            else:
                stats.hits += counted
        if self._failures:
            self._succeeded()
        return value

    def set(self, key: str, value: t.Any, tier: Tier = Tier.SHORT) -> bool:
        """Store ``value`` for the tier's time to live. Never raises a backend error.

        A value the backend's serializer cannot store is not stored: ``False`` is returned,
        it is counted as ``unserializable`` and a warning is logged once.
        """
        return self.store(key, value, tier, "perfkit.cache.set")

    def store(
        self, key: str, value: t.Any, tier: Tier, name: str, *, checked: bool = False
    ) -> bool:
        """Like :meth:`set`; the warning about an unserializable value names ``name``.

        :param checked: The value is known to serialize.

        :meta private:
        """
        if self.circuit_open:
            return False
        envelope = (_ENVELOPE, value)
        if not checked and self._dump(envelope) is None:
            self._unserializable(tier, name, value)
            return False
        stats = self._stats[tier]
        start = perf_counter()
        try:
            ok = bool(self.backend.set(key, envelope, timeout=self.timeouts[tier]))
        except Exception as exc:
            self._failed(tier, exc)
            return False
        with self._lock:
            stats.backend_seconds += perf_counter() - start
            stats.sets += 1
        self._succeeded()
        return ok

    def _codec(self) -> tuple[t.Callable[[t.Any], t.Any], t.Callable[[t.Any], t.Any]]:
        # The backend's serializer decides what can be stored; pickle for backends without one.
        serializer: t.Any = getattr(self.backend, "serializer", None)
        if callable(getattr(serializer, "dumps", None)) and callable(
            getattr(serializer, "loads", None)
        ):
            return serializer.dumps, serializer.loads
        return pickle.dumps, pickle.loads

    def _dump(self, envelope: tuple[str, t.Any]) -> t.Any:
        """The envelope as the backend's serializer writes it, or ``None`` if it cannot."""
        try:
            dumps = self._codec()[0]
        except Exception:
            return b""  # no backend to ask; storing reports the failure
        try:
            return dumps(envelope)  # some serializers log and return None instead of raising
        except Exception:
            return None

    def _load(self, data: t.Any) -> t.Any:
        """The payload of a serialized envelope, a fresh copy, or :data:`MISS`."""
        try:
            return _unwrap(self._codec()[1](data))
        except Exception:
            return MISS

    def _unserializable(self, tier: Tier, name: str, value: t.Any) -> None:
        with self._lock:
            self._stats[tier].unserializable += 1
            first = name not in self._unserializable_names
            self._unserializable_names.add(name)
        if first:
            logger.warning(
                "%s returned a %s value that the %s cache backend cannot serialize; it is"
                " served uncached. Return plain data to cache it.",
                name,
                type(value).__name__,
                self.backend_name,
            )

    def count(self, tier: Tier, *, hit: bool | None) -> None:
        """Count a hit, a miss, or (``hit=None``) a bypass of the tier.

        :meta private:
        """
        with self._lock:
            stats = self._stats[tier]
            if hit is None:
                stats.bypass += 1
            elif hit:
                stats.hits += 1
            else:
                stats.misses += 1

    def delete(self, key: str) -> bool:
        """Remove ``key``. Never raises a backend error."""
        try:
            return bool(self.backend.delete(key))
        except Exception as exc:
            self._failed(Tier.SHORT, exc)
            return False

    def compute_once(
        self,
        key: str,
        tier: Tier,
        produce: t.Callable[[], tuple[R, t.Any]],
        resolve: t.Callable[[t.Any], t.Any],
        name: str,
    ) -> R:
        """Run ``produce`` once for concurrent misses of ``key`` in this process.

        ``produce`` returns the caller's result and the payload to store (:data:`MISS` for
        none). Callers that wait get ``resolve(payload)``, the payload of the computing caller
        read back from its serialized form in memory (a copy of their own, as the backend
        would give them), or compute themselves when there is none (nothing to store, or it
        cannot be serialized), when that computation raised (the next waiter computes; only
        the caller whose call raised sees the exception; after a second one in a row the
        remaining waiters compute side by side), or after
        ``PERFKIT_CACHE_LOCK_TIMEOUT``. The payload is stored after the waiters are released,
        so a slow or failing backend never holds them.

        :meta private:
        """
        with self._lock:
            flight = self._flights.get(key)
            if flight is None:
                flight = self._flights[key] = _Flight()
            flight.callers += 1
        try:
            acquired = flight.lock.acquire(timeout=self.config.cache_lock_timeout)
            if acquired and flight.done:
                flight.lock.release()
                acquired = False
                if flight.data is not None:
                    payload = self._load(flight.data)
                    value = MISS if payload is MISS else resolve(payload)
                    if value is not MISS:
                        return t.cast(R, value)
            if not acquired:
                result, payload = produce()
                if payload is not MISS:
                    self.store(key, payload, tier, name)
                return result
            try:
                result, payload = produce()
                data = None if payload is MISS else self._dump((_ENVELOPE, payload))
            except BaseException:
                flight.failures += 1
                if flight.failures >= _FAILURES_TO_SCATTER:
                    # Failing again: a missing row, a database that is down. The callers still
                    # waiting run side by side rather than fail one after another.
                    flight.done = True
                flight.lock.release()
                raise
            flight.data = data
            flight.done = True
            flight.lock.release()
            if data is not None:
                self.store(key, payload, tier, name, checked=True)
            elif payload is not MISS:
                self._unserializable(tier, name, payload)
            return result
        finally:
            with self._lock:
                flight.callers -= 1
                if flight.callers == 0 and self._flights.get(key) is flight:
                    del self._flights[key]

    # -- keys and invalidation -------------------------------------------------------------

    def key(self, tier: Tier, name: str, digest: str) -> str:
        """``<prefix><tier>:<name>:<digest>``."""
        return f"{self._heads[tier]}{name}:{digest}"

    def _keys(self, match: t.Callable[[str], bool], pattern: str) -> list[str]:
        backend = self.backend
        client = getattr(backend, "_write_client", None)
        if client is not None and hasattr(client, "scan_iter"):
            outer = backend._get_prefix() if hasattr(backend, "_get_prefix") else ""
            found = []
            for raw in client.scan_iter(match=f"{glob_escape(outer)}{pattern}", count=1000):
                name = raw.decode() if isinstance(raw, bytes) else raw
                found.append(name[len(outer) :])
            return [k for k in found if match(k)]
        store = getattr(backend, "_cache", None)
        if isinstance(store, dict):
            return [k for k in list(store) if isinstance(k, str) and match(k)]
        raise NotImplementedError(
            f"Invalidating by pattern needs a Redis, Valkey or SimpleCache backend, not"
            f" {self.backend_name}; invalidate single calls with func.invalidate(*args)."
        )

    def _delete_all(self, keys: list[str]) -> int:
        unlink = getattr(self.backend, "unlink", None)
        deleted = 0
        for start in range(0, len(keys), 500):
            batch = keys[start : start + 500]
            if unlink is not None:
                deleted += int(unlink(*batch) or 0)
            else:
                deleted += sum(bool(self.backend.delete(k)) for k in batch)
        return deleted

    def invalidate(
        self,
        func: t.Callable[..., t.Any] | None = None,
        *args: t.Any,
        tier: Tier | str | None = None,
        prefix: str | None = None,
        **kwargs: t.Any,
    ) -> int:
        """Drop cached entries, and return how many were dropped.

        - ``invalidate(tier="short")``: every entry of a tier;
        - ``invalidate(prefix="clients")``: every entry whose name starts with ``clients``
          (the ``key_prefix`` of a decorator, or a function's ``module.qualname``);
        - ``invalidate(func)``: every entry of a decorated function;
        - ``invalidate(func, *args, **kwargs)``: the entry of one call;
        - ``invalidate()``: every entry PerfKit made, never anything else in the backend.

        Redis and Valkey are walked with ``SCAN MATCH`` on PerfKit's prefix and cleaned with
        ``UNLINK`` in batches; SimpleCache by its own keys. Errors are not raised: they are
        counted and 0 is returned.
        """
        wanted_tier = None if tier is None else Tier(tier)
        try:
            if func is not None:
                target = t.cast("CachedFunction[..., t.Any]", func)
                if args or kwargs:
                    return self.invalidate_call(target, args, kwargs)
                head = f"{self.prefix}{target.cache_tier.value}:{target.cache_name}:"
                pattern = f"{glob_escape(head)}*"
                return self._delete_all(self._keys(lambda k: k.startswith(head), pattern))
            tier_part = wanted_tier.value if wanted_tier else "*"
            name_part = f"{glob_escape(prefix)}*" if prefix else "*"
            pattern = f"{glob_escape(self.prefix)}{tier_part}:{name_part}"
            start = len(self.prefix)

            def match(key: str) -> bool:
                if not key.startswith(self.prefix):
                    return False
                key_tier, _, rest = key[start:].partition(":")
                if wanted_tier and key_tier != wanted_tier.value:
                    return False
                return prefix is None or rest.startswith(prefix)

            return self._delete_all(self._keys(match, pattern))
        except NotImplementedError:
            raise
        except Exception as exc:
            self._failed(wanted_tier or Tier.SHORT, exc)
            return 0

    def invalidate_call(
        self, func: CachedFunction[..., t.Any], args: tuple[t.Any, ...], kwargs: dict[str, t.Any]
    ) -> int:
        """Drop the entry of one call of a decorated function; return 1 if there was one."""
        return int(self.delete(func.make_cache_key(*args, **kwargs)))

    # -- statistics ------------------------------------------------------------------------

    def stats(self) -> dict[str, dict[str, t.Any]]:
        """Per tier: ``hits``, ``misses``, ``sets``, ``errors``, ``hit_rate``, ``backend_ms``."""
        return {tier.value: stats.to_dict() for tier, stats in self._stats.items()}

    def reset_stats(self) -> None:
        """Set every tier's counts back to 0."""
        with self._lock:
            self._stats = {tier: TierStats() for tier in Tier}
            self.since = time.time()

    def probe(self) -> float:
        """Read a key straight from the backend, past the circuit breaker; return milliseconds.

        A success closes the breaker, so the health check is also the breaker's probe.
        """
        start = perf_counter()
        self.backend.get(f"{self.prefix}health-probe")
        elapsed = (perf_counter() - start) * 1000
        self._succeeded()
        return round(elapsed, 3)

    def backend_status(self) -> dict[str, t.Any]:
        """The backend's class, whether the breaker is open, and the last error summary."""
        return {
            "backend": self.backend_name,
            "circuit_open": self.circuit_open,
            "last_error": self._last_error,
        }


def glob_escape(text: str) -> str:
    """``text`` with Redis ``MATCH`` pattern characters escaped, to match it literally."""
    return _GLOB_SPECIAL.sub(r"\\\g<0>", text)


_GLOB_SPECIAL = re.compile(r"[\\*?\[\]]")


def _unwrap(raw: t.Any) -> t.Any:
    """The value in a stored envelope, or :data:`MISS` for anything else."""
    # A JSON serializer gives the envelope back as a list.
    if type(raw) in _ENVELOPE_TYPES and len(raw) == 2 and raw[0] == _ENVELOPE:
        return raw[1]
    return MISS


#: Computations of one key that raise in a row before its waiters stop taking turns.
_FAILURES_TO_SCATTER = 2


class _Flight:
    """The computation of one key in this process, shared by the callers that wait on it."""

    __slots__ = ("callers", "data", "done", "failures", "lock")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.callers = 0
        self.done = False
        #: Computations of the key that raised.
        self.failures = 0
        #: The computed payload's envelope as the backend's serializer wrote it.
        self.data: t.Any = None


class CachedFunction(t.Protocol[P, R]):
    """A function decorated by a tier decorator."""

    cache_tier: Tier
    cache_name: str
    __wrapped__: t.Callable[P, R]

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R: ...

    def uncached(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Call the function without the cache."""
        ...

    def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> int:
        """Drop the entry of these arguments, or every entry of the function without any."""
        ...

    def make_cache_key(self, *args: P.args, **kwargs: P.kwargs) -> str:
        """The key these arguments are cached under in the current app."""
        ...

    def cache_timeout(self) -> int:
        """The tier's time to live in the current app, in seconds."""
        ...


def _same(value: t.Any) -> t.Any:
    return value


def _current_cache() -> TieredCache | None:
    if not has_app_context():
        return None
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    ext = app.extensions.get("perfkit")
    state = ext._states.get(app) if ext is not None else None
    return state.cache if state is not None else None


def _is_view(wrapper: t.Callable[..., t.Any]) -> bool:
    return has_request_context() and (
        current_app.view_functions.get(request.endpoint or "") is wrapper
    )


def _view_part() -> t.Any:
    # The whole URL, as a shared cache keys on it: another host or scheme (a tenant's
    # subdomain, a forged Host header) is another page. Arguments are sorted by name only,
    # so the values of a repeated argument keep their order, as ``getlist`` gives them.
    args = sorted(request.args.items(multi=True), key=_argument_name)
    return [request.scheme, request.host, request.script_root, request.path, args]


def _argument_name(item: tuple[str, str]) -> str:
    return item[0]


def cached(
    tier: Tier | str = Tier.SHORT,
    *,
    key_prefix: str | None = None,
    unless: t.Callable[[], bool] | None = None,
    vary_on: t.Callable[[], t.Any] | None = None,
    invalidate_on: t.Iterable[type] = (),
    shared: bool = False,
) -> t.Callable[[t.Callable[P, R]], CachedFunction[P, R]]:
    """Cache a function's results in a tier.

    On a view, responses are cached as a shared HTTP cache would (see :doc:`/caching`).

    :param tier: ``"short"``, ``"medium"`` or ``"long"``.
    :param key_prefix: The name part of the keys; defaults to ``module.qualname``.
    :param unless: When it returns true, the call bypasses the cache.
    :param vary_on: Its return value joins the key, for example the current user's id.
    :param invalidate_on: Model classes; a commit that inserts, updates or deletes their rows
        drops this function's entries.
    :param shared: On a view: the page is the same for everyone, so requests that carry
        ``Authorization`` are answered from the cache too.
    """
    tier = Tier(tier)

    def decorator(func: t.Callable[P, R]) -> CachedFunction[P, R]:
        name = key_prefix or function_name(func)
        arguments = ArgumentKey(func)

        def make_key(
            cache: TieredCache, args: tuple[t.Any, ...], kwargs: dict[str, t.Any], view: bool
        ) -> str:
            extra = _view_part() if view else None
            if vary_on is not None:
                extra = [extra, vary_on()]
            return cache.key(tier, name, arguments.digest(args, kwargs, extra))

        def produce(args: tuple[t.Any, ...], kwargs: dict[str, t.Any]) -> tuple[R, t.Any]:
            result = func(*args, **kwargs)
            return result, result

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            cache = _current_cache()
            if cache is None or (unless is not None and unless()):
                return func(*args, **kwargs)
            if _is_view(wrapper):
                if _http_cache.bypasses_cache(shared):
                    cache.count(tier, hit=None)
                    return func(*args, **kwargs)
                read_before = _http_cache.session_accessed()
                view_key = make_key(cache, args, kwargs, True)
                # The session was first read by vary_on, so the key holds what it read.
                keyed = not read_before and _http_cache.session_accessed()
                view = functools.partial(func, *args, **kwargs)
                served = _http_cache.serve(cache, tier, view_key, name, view, keyed)
                return t.cast(R, served)
            key = make_key(cache, args, kwargs, False)
            value = cache.lookup(key, tier)
            if value is _FAILED:
                return func(*args, **kwargs)
            if value is not MISS:
                return t.cast(R, value)
            return cache.compute_once(
                key, tier, functools.partial(produce, args, kwargs), _same, name
            )

        def make_cache_key(*args: P.args, **kwargs: P.kwargs) -> str:
            cache = _current_cache()
            if cache is None:
                raise RuntimeError("Cache keys need an app context with PerfKit registered.")
            return make_key(cache, args, kwargs, _is_view(wrapper))

        def invalidate(*args: P.args, **kwargs: P.kwargs) -> int:
            cache = _current_cache()
            if cache is None:
                return 0
            target = t.cast("CachedFunction[..., t.Any]", wrapper)
            if args or kwargs:
                return cache.invalidate_call(target, args, kwargs)
            return cache.invalidate(target)

        def cache_timeout() -> int:
            cache = _current_cache()
            return 0 if cache is None else cache.timeouts[tier]

        result = t.cast(t.Any, wrapper)
        result.uncached = func
        result.invalidate = invalidate
        result.make_cache_key = make_cache_key
        result.cache_tier = tier
        result.cache_name = name
        result.cache_timeout = cache_timeout
        for model in invalidate_on:
            register_invalidation(model, result)
        return t.cast(CachedFunction[P, R], result)

    return decorator


_INVALIDATIONS: dict[type, list[CachedFunction[..., t.Any]]] = {}


def register_invalidation(model: type, func: CachedFunction[..., t.Any]) -> None:
    """Drop ``func``'s entries after commits that change rows of ``model``."""
    _INVALIDATIONS.setdefault(model, []).append(func)
    from . import _invalidation

    _invalidation.listen()


class _Decorate(t.Protocol):
    def __call__(self, func: t.Callable[P, R], /) -> CachedFunction[P, R]: ...


class _TierDecorator:
    """Usable bare (``@cache_short``) or called (``@cache_short(key_prefix=...)``)."""

    def __init__(self, tier: Tier) -> None:
        self.tier = tier

    @t.overload
    def __call__(self, func: t.Callable[P, R], /) -> CachedFunction[P, R]: ...
    @t.overload
    def __call__(
        self,
        *,
        key_prefix: str | None = ...,
        unless: t.Callable[[], bool] | None = ...,
        vary_on: t.Callable[[], t.Any] | None = ...,
        invalidate_on: t.Iterable[type] = ...,
        shared: bool = ...,
    ) -> _Decorate: ...
    def __call__(  # type: ignore[misc]  # accepts both forms; mypy misreads the keywords
        self,
        func: t.Any = None,
        /,
        *,
        key_prefix: str | None = None,
        unless: t.Callable[[], bool] | None = None,
        vary_on: t.Callable[[], t.Any] | None = None,
        invalidate_on: t.Iterable[type] = (),
        shared: bool = False,
    ) -> t.Any:
        decorator = cached(
            self.tier,
            key_prefix=key_prefix,
            unless=unless,
            vary_on=vary_on,
            invalidate_on=invalidate_on,
            shared=shared,
        )
        return decorator if func is None else decorator(func)

    def __repr__(self) -> str:
        return f"cache_{self.tier.value}"


#: Cache for ``PERFKIT_CACHE_SHORT_TIMEOUT`` (300 s by default).
cache_short = _TierDecorator(Tier.SHORT)
#: Cache for ``PERFKIT_CACHE_MEDIUM_TIMEOUT`` (600 s by default).
cache_medium = _TierDecorator(Tier.MEDIUM)
#: Cache for ``PERFKIT_CACHE_LONG_TIMEOUT`` (3600 s by default).
cache_long = _TierDecorator(Tier.LONG)
