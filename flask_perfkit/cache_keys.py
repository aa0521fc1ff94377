"""Stable cache keys from a function's arguments.

Arguments are bound to the signature with defaults applied, so ``f(1, b=2)`` and
``f(a=1, b=2)`` share a key while ``f(1)`` and ``f(1, None)`` do not (unless ``None`` is the
default). Each value is encoded canonically (type-tagged JSON, dict keys sorted) and the whole
is hashed with BLAKE2, so the key is the same in every process, whatever ``PYTHONHASHSEED``.
``repr()`` and ``hash()`` are never used: an object with no stable identity raises
:exc:`~flask_perfkit.errors.UnkeyableArgument` instead of being keyed by its address.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import functools
import hashlib
import inspect
import json
import typing as t
import uuid

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.exc import NoInspectionAvailable

from ._tagged import Recurse
from ._tagged import Tag
from ._tagged import TagTable
from ._tagged import as_text
from ._tagged import iso
from .errors import UnkeyableArgument

#: Argument types left out of keys: they say where to read, not what.
SKIPPED_TYPES: tuple[type, ...] = (
    orm.Session,
    orm.scoped_session,
    sa.Engine,
    sa.Connection,
)


def _encode(value: t.Any, name: str) -> t.Any:
    if isinstance(value, enum.Enum):
        return ["enum", _qualname(type(value)), _encode(value.value, name)]
    if value is None or isinstance(value, bool | str | int):
        return value
    tagged = _TAGS.encode(value, functools.partial(_encode, name=name))
    if tagged is not None:
        return tagged
    cache_key = getattr(value, "__cache_key__", None)
    if callable(cache_key):
        return ["obj", _qualname(type(value)), _encode(cache_key(), name)]
    try:
        instance_state = sa.inspect(value)
    except NoInspectionAvailable:
        instance_state = None
    identity = getattr(instance_state, "identity", None)
    if identity is not None:
        return ["orm", _qualname(type(value)), [_encode(v, name) for v in identity]]
    raise UnkeyableArgument(
        f"Cannot build a cache key from argument {name!r} of type {type(value).__name__!r}:"
        " it has no stable value. Pass an id instead, give the class a __cache_key__()"
        " method, or key the call with vary_on=."
    )


def _map(value: dict[t.Any, t.Any], recurse: Recurse) -> list[t.Any]:
    return sorted(([recurse(k), recurse(v)] for k, v in value.items()), key=json.dumps)


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _type_name(value: type, recurse: Recurse) -> str:
    # A class (``cls`` of a classmethod) is known by its name.
    return _qualname(value)


#: The tagged types of keys; ``None``, booleans, strings and ints are written as they are.
_TAGS = TagTable(
    [
        Tag(float, "float", lambda v, _: repr(v)),
        Tag((list, tuple), "seq", lambda v, recurse: [recurse(i) for i in v]),
        Tag(dict, "map", _map),
        Tag((set, frozenset), "set", lambda v, recurse: sorted(map(recurse, v), key=json.dumps)),
        Tag(bytes, "bytes", lambda v, _: v.hex()),
        Tag((datetime.datetime, datetime.date, datetime.time), None, iso),
        Tag((decimal.Decimal, uuid.UUID), None, as_text),
        Tag(type, "type", _type_name),
    ]
)


def function_name(func: t.Callable[..., t.Any]) -> str:
    """``module.qualname`` of a function, the middle part of its keys."""
    return f"{func.__module__}.{func.__qualname__}"


#: Argument types whose values alone (with the type) decide the digest; calls made only of
#: them remember their digest. Floats are left out: ``0.0 == -0.0`` but their keys differ.
_MEMO_TYPES = frozenset({int, str, bool, bytes, type(None)})
#: Digests remembered per function before the memo starts again.
MEMO_SIZE = 4096
#: Longer strings and bytes are not remembered, so the memo stays small.
_MEMO_MAX_LENGTH = 256
_SIZED = frozenset({str, bytes})


class ArgumentKey:
    """Builds the argument digest of calls to one function.

    The digests of calls whose arguments are all ints, strings, booleans, bytes or ``None``
    are remembered (up to :data:`MEMO_SIZE` per function), so a repeated call skips binding,
    encoding and hashing: it is most of what a cache hit costs besides the backend read.

    :param func: The function.
    """

    def __init__(self, func: t.Callable[..., t.Any]) -> None:
        self.signature = inspect.signature(func)
        self._memo: dict[tuple[t.Any, ...], str] = {}

    def digest(self, args: tuple[t.Any, ...], kwargs: dict[str, t.Any], extra: t.Any = None) -> str:
        """The digest of one call's arguments, and of ``extra`` (the view's URL, ``vary_on``).

        :raises UnkeyableArgument: An argument has no stable value.
        """
        if extra is not None:
            return self._digest(args, kwargs, extra)
        types = tuple(map(type, args))
        if kwargs:
            items = tuple(sorted(kwargs.items()))
            types += tuple(type(value) for _, value in items)
            memo_key: tuple[t.Any, ...] = (types, args, items)
        else:
            memo_key = (types, args)
        if not _MEMO_TYPES.issuperset(types):
            return self._digest(args, kwargs, None)
        if not _SIZED.isdisjoint(types) and any(
            type(value) in _SIZED and len(value) > _MEMO_MAX_LENGTH
            for value in (*args, *kwargs.values())
        ):
            return self._digest(args, kwargs, None)
        found = self._memo.get(memo_key)
        if found is None:
            found = self._digest(args, kwargs, None)
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()
            self._memo[memo_key] = found
        return found

    def _digest(self, args: tuple[t.Any, ...], kwargs: dict[str, t.Any], extra: t.Any) -> str:
        bound = self.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        parts = [
            [name, _encode(value, name)]
            for name, value in bound.arguments.items()
            if not isinstance(value, SKIPPED_TYPES)
        ]
        if extra is not None:
            parts.append(["~", _encode(extra, "vary_on")])
        text = json.dumps(parts, separators=(",", ":"), ensure_ascii=False)
        # Lone surrogates (from JSON bodies, say) are kept, so they are keyed like other text.
        return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
