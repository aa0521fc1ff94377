"""The envelope values are stored in, and the serializer that decides what can be stored.

A value is stored as ``("pk1", value)``, so a cached ``None`` is a hit, and a value someone
else wrote under the key (or a corrupt one) is a miss.
"""

from __future__ import annotations

import pickle
import typing as t

from .tiers import MISS

ENVELOPE = "pk1"
_ENVELOPE_TYPES = (tuple, list)

Envelope = tuple[str, t.Any]


def wrap(value: t.Any) -> Envelope:
    """``value`` in an envelope."""
    return (ENVELOPE, value)


def unwrap(raw: t.Any) -> t.Any:
    """The value in a stored envelope, or :data:`MISS` for anything else."""
    # A JSON serializer gives the envelope back as a list.
    if type(raw) in _ENVELOPE_TYPES and len(raw) == 2 and raw[0] == ENVELOPE:
        return raw[1]
    return MISS


def _codec(backend: t.Any) -> tuple[t.Callable[[t.Any], t.Any], t.Callable[[t.Any], t.Any]]:
    # The backend's serializer decides what can be stored; pickle for backends without one.
    serializer: t.Any = getattr(backend, "serializer", None)
    if callable(getattr(serializer, "dumps", None)) and callable(
        getattr(serializer, "loads", None)
    ):
        return serializer.dumps, serializer.loads
    return pickle.dumps, pickle.loads


def dump(backend: t.Callable[[], t.Any], envelope: Envelope) -> t.Any:
    """The envelope as the backend's serializer writes it, or ``None`` if it cannot.

    :param backend: Returns the backend; when it raises, ``b""`` is returned, and storing
        reports the failure.
    """
    try:
        dumps = _codec(backend())[0]
    except Exception:
        return b""
    try:
        return dumps(envelope)  # some serializers log and return None instead of raising
    except Exception:
        return None


def load(backend: t.Callable[[], t.Any], data: t.Any) -> t.Any:
    """The payload of a serialized envelope, a fresh copy, or :data:`MISS`.

    :param backend: Returns the backend whose serializer wrote ``data``.
    """
    try:
        return unwrap(_codec(backend())[1](data))
    except Exception:
        return MISS
