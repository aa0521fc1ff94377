"""Opaque, signed pagination cursors.

A cursor holds the boundary row's ordering values (type-tagged, so a datetime comes back a
datetime), the walking direction and a fingerprint of the query's ordering. It is compact
JSON, URL-safe, and signed with an HMAC keyed by the app's ``SECRET_KEY``. Keys in
``SECRET_KEY_FALLBACKS`` are accepted, so keys can be rotated. Anything that is not a cursor
this app made for this ordering is rejected with :exc:`~flask_perfkit.errors.InvalidCursor`,
and nothing from a cursor is ever evaluated: decoding is JSON and a fixed set of type tags.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import hashlib
import hmac
import json
import typing as t
import uuid

from .errors import InvalidCursor

#: Cursors longer than this are rejected before they are decoded.
MAX_CURSOR_LENGTH = 1024
_SALT = b"flask-perfkit.cursor"
#: Made once: ``json.dumps`` with options builds a new encoder on every call.
_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def _encode_value(value: t.Any) -> list[t.Any]:
    if value is None:
        return ["n"]
    if isinstance(value, bool):
        return ["b", value]
    if isinstance(value, int):
        return ["i", str(value)]
    if isinstance(value, float):
        return ["f", repr(value)]
    if isinstance(value, decimal.Decimal):
        return ["d", str(value)]
    if isinstance(value, str):
        return ["s", value]
    if isinstance(value, datetime.datetime):
        return ["dt", value.isoformat()]
    if isinstance(value, datetime.date):
        return ["da", value.isoformat()]
    if isinstance(value, datetime.time):
        return ["t", value.isoformat()]
    if isinstance(value, uuid.UUID):
        return ["u", str(value)]
    if isinstance(value, bytes):
        return ["by", base64.b64encode(value).decode()]
    raise TypeError(f"A value of type {type(value).__name__!r} cannot be put in a cursor.")


_DECODERS: dict[str, t.Callable[[t.Any], t.Any]] = {
    "b": lambda v: v if isinstance(v, bool) else _bad(),
    "i": lambda v: int(v) if isinstance(v, str) and len(v) <= 40 else _bad(),
    "f": lambda v: float(v),
    "d": lambda v: decimal.Decimal(v),
    "s": lambda v: v if isinstance(v, str) else _bad(),
    "dt": lambda v: datetime.datetime.fromisoformat(v),
    "da": lambda v: datetime.date.fromisoformat(v),
    "t": lambda v: datetime.time.fromisoformat(v),
    "u": lambda v: uuid.UUID(v),
    "by": lambda v: base64.b64decode(v, validate=True),
}


def _bad() -> t.NoReturn:
    raise ValueError("bad value")


def _decode_value(item: t.Any) -> t.Any:
    if not isinstance(item, list) or not item or not isinstance(item[0], str):
        _bad()
    if item[0] == "n" and len(item) == 1:
        return None
    if len(item) != 2 or item[0] not in _DECODERS:
        _bad()
    return _DECODERS[item[0]](item[1])


def _bytes(key: str | bytes) -> bytes:
    return key.encode() if isinstance(key, str) else key


def fingerprint(ordering: t.Sequence[str]) -> str:
    """A short digest of the query's ordering, so a cursor only fits the query it came from."""
    return hashlib.blake2b("|".join(ordering).encode(), digest_size=6).hexdigest()


class CursorCodec:
    """Signs and reads cursors with the app's secret keys.

    A cursor is ``<payload>.<signature>``: the payload is URL-safe base64 of compact JSON, the
    signature a URL-safe HMAC-SHA256 of the payload. Its key is derived from the secret with a
    salt of its own, so a cursor can never pass for a session cookie or any other value the
    app signs, and the other way round.

    :param secret_keys: ``SECRET_KEY`` and any fallbacks, newest last.
    """

    def __init__(self, secret_keys: t.Sequence[str | bytes]) -> None:
        self.secret_keys = tuple(secret_keys)
        derived = [hmac.digest(_bytes(k), _SALT, "sha256") for k in secret_keys]
        #: The signing key first, then the fallbacks from the newest.
        self._keys = derived[::-1]

    def encode(self, values: t.Sequence[t.Any], backward: bool, print_: str) -> str:
        """A cursor for the row with these ordering values."""
        payload = ["p" if backward else "n", print_, *map(_encode_value, values)]
        data = _b64encode(_JSON.encode(payload).encode())
        signature = _b64encode(hmac.digest(self._keys[0], data, "sha256"))
        return f"{data.decode('ascii')}.{signature.decode('ascii')}"

    def decode(self, cursor: str, print_: str, arity: int) -> tuple[list[t.Any], bool]:
        """The ordering values and direction (``True`` for backward) of a cursor.

        :raises InvalidCursor: The cursor is too long, unsigned, tampered with, made by another
            app or for another ordering, or malformed.
        """
        if len(cursor) > MAX_CURSOR_LENGTH or not cursor.isascii():
            raise InvalidCursor()
        data, _, signature = cursor.encode("ascii").rpartition(b".")
        if not any(
            hmac.compare_digest(_b64encode(hmac.digest(key, data, "sha256")), signature)
            for key in self._keys
        ):
            raise InvalidCursor()
        try:
            payload = json.loads(base64.urlsafe_b64decode(data + b"=" * (-len(data) % 4)))
        except ValueError:
            raise InvalidCursor() from None
        if (
            not isinstance(payload, list)
            or len(payload) != arity + 2
            or payload[0] not in ("n", "p")
            or payload[1] != print_
        ):
            raise InvalidCursor()
        try:
            values = [_decode_value(item) for item in payload[2:]]
        except (ValueError, TypeError, ArithmeticError, OverflowError):
            raise InvalidCursor() from None
        return values, payload[0] == "p"


def _b64encode(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")
