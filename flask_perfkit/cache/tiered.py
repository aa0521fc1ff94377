"""The tiered cache of one app, on a Flask-Caching backend.

A hit costs one backend ``get``. Values are stored in an envelope (:mod:`.envelope`), so a
cached ``None`` is a hit and a value someone else wrote under the key (or a corrupt one) is a
miss. Backend failures never fail a call: the function runs uncached, the error is counted,
and the breaker (:mod:`.guard`) leaves a failing backend alone for a while. Concurrent misses
on one key compute once per process while the backend answers (:mod:`.flight`); while it
fails, calls run uncached side by side, never waiting on each other. A value the backend's
serializer cannot store is served, counted as ``unserializable`` and never taken for a
backend failure.
"""

from __future__ import annotations

import logging
import threading
import time
import typing as t
from time import perf_counter

from flask import Flask

from ..capability import fields_of
from . import envelope
from .flight import Flights
from .guard import BackendGuard
from .guard import BackendStatus
from .invalidation import delete_keys
from .invalidation import find_keys
from .keys import KeyFilter
from .keys import probe_key
from .keys import tier_heads
from .tiers import FAILED
from .tiers import MISS
from .tiers import Tier
from .tiers import TierStats

if t.TYPE_CHECKING:
    from ..config import PerfKitConfig
    from .decorators import CachedFunction

logger = logging.getLogger("flask_perfkit")

R = t.TypeVar("R")


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
        settings = config.cache
        self.prefix = settings.key_prefix
        #: Each tier's time to live, in seconds.
        self.timeouts = {
            Tier.SHORT: settings.short_timeout,
            Tier.MEDIUM: settings.medium_timeout,
            Tier.LONG: settings.long_timeout,
        }
        self.lock_timeout = settings.lock_timeout
        self._heads = tier_heads(self.prefix)
        self._guard = BackendGuard(settings.breaker_failures, settings.breaker_seconds, app)
        self._lock = threading.Lock()
        self._stats = {tier: TierStats() for tier in Tier}
        #: When the counts started: at creation or the last :meth:`reset_stats`.
        self.since = time.time()
        self._flights = Flights()
        self._unserializable_names: set[str] = set()

    # -- the backend, guarded --------------------------------------------------------------

    @property
    def backend(self) -> t.Any:
        """The cachelib backend object."""
        if self._backend is None:
            self._backend = self._backend_getter()
        return self._backend

    def _get_backend(self) -> t.Any:
        return self.backend

    @property
    def backend_name(self) -> str:
        """The backend's class name, such as ``"SimpleCache"`` or ``"RedisCache"``."""
        return type(self.backend).__name__

    @property
    def circuit_open(self) -> bool:
        """Whether the backend is being left alone after repeated failures."""
        return self._guard.is_open

    @property
    def last_error(self) -> str | None:
        """The summary of the backend's last failure, or ``None``."""
        return self._guard.last_error

    def _failed(self, tier: Tier, exc: BaseException) -> None:
        with self._lock:
            self._stats[tier].errors += 1
        try:
            name = self.backend_name
        except Exception:
            name = "unavailable"
        self._guard.failed(tier, exc, name)

    def get(self, key: str, tier: Tier = Tier.SHORT) -> t.Any:
        """The value under ``key``, or :data:`~flask_perfkit.MISS`. Never raises a backend error."""
        value = self.lookup(key, tier)
        return MISS if value is FAILED else value

    def lookup(self, key: str, tier: Tier, *, count: bool = True) -> t.Any:
        """Like :meth:`get`, but a failed backend gives :data:`~.tiers.FAILED`.

        :param count: Count the hit or miss; the time spent on the backend is always counted.

        :meta private:
        """
        stats = self._stats[tier]
        counted = 1 if count else 0
        guard = self._guard
        if guard.open_until and guard.is_open:
            with self._lock:
                stats.misses += counted
            return FAILED
        start = perf_counter()
        try:
            raw = self.backend.get(key)
        except Exception as exc:
            with self._lock:
                stats.backend_seconds += perf_counter() - start
                stats.misses += counted
            self._failed(tier, exc)
            return FAILED
        value = envelope.unwrap(raw)
        with self._lock:
            stats.backend_seconds += perf_counter() - start
            if value is MISS:
                stats.misses += counted
            else:
                stats.hits += counted
        if guard.failures:
            guard.succeeded()
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
        if self._guard.is_open:
            return False
        wrapped = envelope.wrap(value)
        if not checked and envelope.dump(self._get_backend, wrapped) is None:
            self._unserializable(tier, name, value)
            return False
        stats = self._stats[tier]
        start = perf_counter()
        try:
            ok = bool(self.backend.set(key, wrapped, timeout=self.timeouts[tier]))
        except Exception as exc:
            self._failed(tier, exc)
            return False
        with self._lock:
            stats.backend_seconds += perf_counter() - start
            stats.sets += 1
        self._guard.succeeded()
        return ok

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
        with self._flights.join(key) as flight:
            acquired = flight.lock.acquire(timeout=self.lock_timeout)
            if acquired and flight.done:
                flight.lock.release()
                acquired = False
                if flight.data is not None:
                    payload = envelope.load(self._get_backend, flight.data)
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
                data = (
                    None
                    if payload is MISS
                    else envelope.dump(self._get_backend, envelope.wrap(payload))
                )
            except BaseException:
                flight.failed()
                raise
            flight.finish(data)
            if data is not None:
                self.store(key, payload, tier, name, checked=True)
            elif payload is not MISS:
                self._unserializable(tier, name, payload)
            return result

    # -- keys and invalidation -------------------------------------------------------------

    def key(self, tier: Tier, name: str, digest: str) -> str:
        """``<prefix><tier>:<name>:<digest>``."""
        return f"{self._heads[tier]}{name}:{digest}"

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

        :raises InvalidationUnsupported: A pattern was asked of a backend that cannot list
            its keys.
        """
        wanted_tier = None if tier is None else Tier(tier)
        try:
            if func is None:
                wanted = KeyFilter(self.prefix, wanted_tier, prefix)
            else:
                target = t.cast("CachedFunction[..., t.Any]", func)
                if args or kwargs:
                    return self.invalidate_call(target, args, kwargs)
                wanted = KeyFilter(self.prefix, target.cache_tier, target.cache_name, True)
            backend = self.backend
            return delete_keys(backend, find_keys(backend, wanted))
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

    def tier_stats(self) -> dict[Tier, TierStats]:
        """A copy of every tier's counts."""
        with self._lock:
            return {tier: TierStats(**vars(stats)) for tier, stats in self._stats.items()}

    def stats(self) -> dict[str, dict[str, t.Any]]:
        """Per tier: ``hits``, ``misses``, ``sets``, ``errors``, ``hit_rate``, ``backend_ms``."""
        with self._lock:
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
        self.backend.get(probe_key(self.prefix))
        elapsed = (perf_counter() - start) * 1000
        self._guard.succeeded()
        return round(elapsed, 3)

    def status(self) -> BackendStatus:
        """The backend's class, whether the breaker is open, and the last error summary."""
        return BackendStatus(self.backend_name, self.circuit_open, self.last_error)

    def backend_status(self) -> dict[str, t.Any]:
        """The backend's class, whether the breaker is open, and the last error summary."""
        return fields_of(self.status())
