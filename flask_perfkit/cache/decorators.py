"""The tier decorators: ``@cache_short``, ``@cache_medium``, ``@cache_long`` and ``@cached``.

A decorated function looks its calls up in the current app's tiered cache, keyed on its
arguments; on a view, responses are cached as a shared HTTP cache would (:mod:`.http`).
Outside an app context, or in an app without PerfKit, it runs uncached.
"""

from __future__ import annotations

import dataclasses
import functools
import typing as t

from flask import current_app
from flask import has_request_context
from flask import request

from ..cache_keys import ArgumentKey
from ..cache_keys import function_name
from ..errors import NotInitializedError
from . import http
from .current import current_cache
from .keys import view_part
from .on_commit import register_invalidation
from .tiers import FAILED
from .tiers import MISS
from .tiers import Tier

if t.TYPE_CHECKING:
    from .tiered import TieredCache

P = t.ParamSpec("P")
R = t.TypeVar("R")


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


@dataclasses.dataclass(frozen=True)
class CacheOptions:
    """The arguments of :func:`cached`."""

    tier: Tier
    key_prefix: str | None = None
    unless: t.Callable[[], bool] | None = None
    vary_on: t.Callable[[], t.Any] | None = None
    invalidate_on: tuple[type, ...] = ()
    shared: bool = False


class _CachedCall(t.Generic[P, R]):
    """How calls of one decorated function are answered.

    :param func: The function.
    :param options: The decorator's arguments.
    """

    def __init__(self, func: t.Callable[P, R], options: CacheOptions) -> None:
        self.func = func
        self.tier = options.tier
        self.name = options.key_prefix or function_name(func)
        self.unless = options.unless
        self.vary_on = options.vary_on
        self.shared = options.shared
        self.arguments = ArgumentKey(func)
        #: The decorated function; a view when Flask routes to it.
        self.wrapper: t.Callable[..., t.Any] = func

    def compute(
        self, cache: TieredCache, key: str, args: tuple[t.Any, ...], kwargs: dict[str, t.Any]
    ) -> R:
        """Answer a miss: run the function once for the concurrent misses of ``key``."""
        produce = functools.partial(self._produce, args, kwargs)
        return cache.compute_once(key, self.tier, produce, _same, self.name)

    def is_view(self) -> bool:
        """Whether Flask routes the current request to the decorated function."""
        return current_app.view_functions.get(request.endpoint or "") is self.wrapper

    def key(
        self, cache: TieredCache, args: tuple[t.Any, ...], kwargs: dict[str, t.Any], view: bool
    ) -> str:
        """The key of one call; a view's also holds its URL."""
        extra = view_part() if view else None
        if self.vary_on is not None:
            extra = [extra, self.vary_on()]
        return cache.key(self.tier, self.name, self.arguments.digest(args, kwargs, extra))

    def _produce(self, args: tuple[t.Any, ...], kwargs: dict[str, t.Any]) -> tuple[R, t.Any]:
        result = self.func(*args, **kwargs)
        return result, result

    def serve_view(
        self, cache: TieredCache, args: tuple[t.Any, ...], kwargs: dict[str, t.Any]
    ) -> R:
        """Answer a request to the view, from the cache as a shared HTTP cache would."""
        if http.bypasses_cache(self.shared):
            cache.count(self.tier, hit=None)
            return self.func(*args, **kwargs)
        read_before = http.session_accessed()
        key = self.key(cache, args, kwargs, True)
        # The session was first read by vary_on, so the key holds what it read.
        keyed = not read_before and http.session_accessed()
        view = functools.partial(self.func, *args, **kwargs)
        return t.cast(R, http.serve(cache, self.tier, key, self.name, view, keyed))

    def make_cache_key(self, *args: P.args, **kwargs: P.kwargs) -> str:
        """The key these arguments are cached under in the current app.

        :raises NotInitializedError: There is no app context, or its app has no PerfKit.
        """
        cache = current_cache()
        if cache is None:
            raise NotInitializedError("Cache keys need an app context with PerfKit registered.")
        return self.key(cache, args, kwargs, has_request_context() and self.is_view())

    def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> int:
        """Drop the entry of these arguments, or every entry of the function without any."""
        cache = current_cache()
        if cache is None:
            return 0
        target = t.cast(CachedFunction[..., t.Any], self.wrapper)
        if args or kwargs:
            return cache.invalidate_call(target, args, kwargs)
        return cache.invalidate(target)

    def cache_timeout(self) -> int:
        """The tier's time to live in the current app, in seconds; 0 without one."""
        cache = current_cache()
        return 0 if cache is None else cache.timeouts[self.tier]


def _same(value: t.Any) -> t.Any:
    return value


def decorate(func: t.Callable[P, R], options: CacheOptions) -> CachedFunction[P, R]:
    """``func`` cached as ``options`` say."""
    call = _CachedCall(func, options)
    tier, name, unless, vary_on = call.tier, call.name, call.unless, call.vary_on
    digest = call.arguments.digest

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        cache = current_cache()
        if cache is None or (unless is not None and unless()):
            return func(*args, **kwargs)
        if has_request_context() and call.is_view():
            return call.serve_view(cache, args, kwargs)
        # The key of call.key(cache, args, kwargs, False), built here on every call's path.
        extra = None if vary_on is None else [None, vary_on()]
        key = cache.key(tier, name, digest(args, kwargs, extra))
        value = cache.lookup(key, tier)
        if value is FAILED:
            return func(*args, **kwargs)
        if value is not MISS:
            return value  # type: ignore[no-any-return]
        return call.compute(cache, key, args, kwargs)

    call.wrapper = wrapper
    result = t.cast(t.Any, wrapper)
    result.uncached = func
    result.invalidate = call.invalidate
    result.make_cache_key = call.make_cache_key
    result.cache_tier = call.tier
    result.cache_name = call.name
    result.cache_timeout = call.cache_timeout
    for model in options.invalidate_on:
        register_invalidation(model, result)
    return t.cast(CachedFunction[P, R], result)


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
    :raises UnknownTier: ``tier`` is not a tier.
    """
    options = CacheOptions(Tier(tier), key_prefix, unless, vary_on, tuple(invalidate_on), shared)

    def decorator(func: t.Callable[P, R]) -> CachedFunction[P, R]:
        return decorate(func, options)

    return decorator


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
