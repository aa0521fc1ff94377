"""Opaque, signed pagination cursors.

A cursor holds the boundary row's ordering values (type-tagged, so a datetime comes back a
datetime), the walking direction and a fingerprint of the query's ordering. It is compact
JSON, URL-safe, and signed by itsdangerous with the app's ``SECRET_KEY``. Keys in
``SECRET_KEY_FALLBACKS`` are accepted, so keys can be rotated. Anything that is not a cursor
this app made for this ordering is rejected with :exc:`~flask_perfkit.errors.InvalidCursor`,
and nothing from a cursor is ever evaluated: decoding is JSON and a fixed set of type tags.

A cursor that is validly signed can still carry values that do not fit its ordering columns
(after a key leaked, or a key was rotated while the column types changed): each decoded value
is checked against its column's type by :func:`value_reader` before it reaches the database.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import enum
import functools
import hashlib
import hmac
import json
import typing as t
import uuid

from itsdangerous import BadData
from itsdangerous import HMACAlgorithm
from itsdangerous import Signer
from itsdangerous import base64_decode
from itsdangerous import base64_encode
from itsdangerous.encoding import want_bytes

from ._cursor_values import EnumName
from ._cursor_values import value_reader
from ._tagged import Tag
from ._tagged import TagTable
from ._tagged import as_text
from ._tagged import iso
from ._tagged import text
from .errors import InvalidCursor
from .errors import MalformedValue
from .errors import UnencodableCursorValue

__all__ = [
    "MAX_CURSOR_LENGTH",
    "SALT",
    "CursorCodec",
    "EnumName",
    "codec",
    "fingerprint",
    "signer",
    "usable_key",
    "value_reader",
]

#: Cursors longer than this are rejected before they are decoded, and never served: a row
#: whose ordering values make a longer one gets none. It fits a request line of 8 KiB.
MAX_CURSOR_LENGTH = 4096
#: Set apart from every other value the app signs, so a cursor never passes for a session
#: cookie, and the other way round.
SALT = "flask-perfkit.cursor"
_MICROSECOND = datetime.timedelta(microseconds=1)


def _bad() -> t.NoReturn:
    raise MalformedValue("bad value")


def _short_int(payload: str) -> int:
    return int(payload) if len(payload) <= 40 else _bad()


def _bool(payload: t.Any) -> bool:
    return payload if isinstance(payload, bool) else _bad()


#: The tags of cursor values. Members of int and str enums are stored by their value.
_TAGS = TagTable(
    [
        Tag(bool, "b", lambda v, _: v, _bool),
        Tag(int, "i", lambda v, _: str(int(v)), text(_short_int)),
        Tag(float, "f", lambda v, _: repr(v), text(float)),
        Tag(decimal.Decimal, "d", as_text, text(decimal.Decimal)),
        # The text itself: the str() of a str-mixin enum's member is its name.
        Tag(str, "s", lambda v, _: str.__str__(v), text(str)),
        Tag(datetime.datetime, "dt", iso, text(datetime.datetime.fromisoformat)),
        Tag(datetime.date, "da", iso, text(datetime.date.fromisoformat)),
        Tag(datetime.time, "t", iso, text(datetime.time.fromisoformat)),
        Tag(
            datetime.timedelta,
            "td",
            lambda v, _: str(v // _MICROSECOND),
            text(lambda v: datetime.timedelta(microseconds=_short_int(v))),
        ),
        Tag(uuid.UUID, "u", as_text, text(uuid.UUID)),
        Tag(
            bytes,
            "by",
            lambda v, _: base64.b64encode(v).decode(),
            text(lambda v: base64.b64decode(v, validate=True)),
        ),
        Tag(enum.Enum, "e", lambda v, _: v.name, text(EnumName)),
    ]
)


def _no_nesting(value: t.Any) -> t.NoReturn:
    raise UnencodableCursorValue("Cursor values are not nested.")


#: How ``None`` is written in a cursor.
_NULL = ["n"]


def _encode_value(value: t.Any) -> list[t.Any]:
    if value is None:
        return ["n"]
    tagged = _TAGS.encode(value, _no_nesting)
    if tagged is None:
        raise UnencodableCursorValue(
            f"A value of type {type(value).__name__!r} cannot be put in a cursor."
        )
    return tagged


def usable_key(key: t.Any) -> t.TypeGuard[str | bytes]:
    """Whether ``key`` can sign cursors: a string or bytes with content. An empty key is one
    anyone has."""
    return isinstance(key, (str, bytes)) and bool(key)


def fingerprint(ordering: t.Sequence[str]) -> str:
    """A short digest of the query's ordering, so a cursor only fits the query it came from."""
    return hashlib.blake2b("|".join(ordering).encode(), digest_size=6).hexdigest()


#: Made once: ``json.dumps`` with options builds a new encoder on every call. Non-ASCII text
#: is kept as it is, so cursors stay short.
_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
#: Reads the JSON text of a payload (``json.loads`` of bytes first guesses their encoding).
_JSON_DECODE = json.JSONDecoder().decode


def signer(secret_keys: t.Sequence[str | bytes]) -> Signer:
    """The itsdangerous signer of cursors.

    It signs with HMAC-SHA256 under a key derived from the secret with :data:`SALT`. The last
    key signs; every key verifies, so keys can be rotated.

    :param secret_keys: ``SECRET_KEY_FALLBACKS`` and then ``SECRET_KEY``, newest last.
    """
    return _Signer([key.encode() if isinstance(key, str) else key for key in secret_keys])


class _HMACSHA256(HMACAlgorithm):
    """HMAC-SHA256, the same signature as :class:`~itsdangerous.HMACAlgorithm` with
    SHA-256, made from a copy of an HMAC that has taken in the key already (the key's
    padding is hashed once per key rather than once per signature)."""

    def __init__(self) -> None:
        super().__init__(hashlib.sha256)
        self._keyed: dict[bytes, hmac.HMAC] = {}

    def get_signature(self, key: bytes, value: bytes) -> bytes:
        keyed = self._keyed.get(key)
        if keyed is None:
            keyed = self._keyed[key] = hmac.new(key, digestmod=hashlib.sha256)
        mac = keyed.copy()
        mac.update(value)
        return mac.digest()


class _Signer(Signer):
    """A :class:`~itsdangerous.Signer` that derives each key once, when it is made, rather
    than on every signature."""

    def __init__(self, secret_keys: list[bytes]) -> None:
        super().__init__(
            secret_keys,
            salt=SALT,
            key_derivation="hmac",
            digest_method=hashlib.sha256,
            algorithm=_HMACSHA256(),
        )
        #: The derived keys, newest first: the first signs, and each one verifies.
        self.derived = [Signer.derive_key(self, key) for key in reversed(self.secret_keys)]

    def get_signature(self, value: str | bytes) -> bytes:
        return base64_encode(self.algorithm.get_signature(self.derived[0], want_bytes(value)))

    def verify_signature(self, value: str | bytes, sig: str | bytes) -> bool:
        try:
            signature = base64_decode(sig)
        except BadData:
            return False
        value = want_bytes(value)
        verify = self.algorithm.verify_signature
        return any(verify(key, value, signature) for key in self.derived)


@functools.lru_cache(maxsize=8)
def codec(secret_keys: tuple[str | bytes, ...]) -> CursorCodec:
    """The codec of ``secret_keys``, made once for each set of keys.

    Making a codec derives its keys: doing that for every page adds about 10 µs of CPU to
    the ``pagination`` benchmark's deep cursor page (measured with the page's CPU time, as
    the benchmark's wall times vary more than that on a shared machine).

    :param secret_keys: ``SECRET_KEY_FALLBACKS`` and then ``SECRET_KEY``, newest last.
    """
    return CursorCodec(secret_keys)


class CursorCodec:
    """Signs and reads cursors with the app's secret keys.

    A cursor is ``<payload>.<signature>`` made by :func:`signer`, where the payload is
    URL-safe base64 of the compact JSON ``[direction, fingerprint, *values]``: the direction
    ``"n"`` (next) or ``"p"`` (previous), the fingerprint of the ordering, and the
    type-tagged ordering values of the boundary row.

    :param secret_keys: ``SECRET_KEY_FALLBACKS`` and then ``SECRET_KEY``, newest last.
    """

    def __init__(self, secret_keys: t.Sequence[str | bytes]) -> None:
        self.secret_keys = tuple(secret_keys)
        self.signer = signer(secret_keys)

    def encode(self, values: t.Sequence[t.Any], backward: bool, print_: str) -> str:
        """A cursor for the row with these ordering values (which :meth:`decode` refuses when
        it is longer than :data:`MAX_CURSOR_LENGTH`).

        :raises UnencodableCursorValue: A value of a type that has no tag.
        """
        payload = ["p" if backward else "n", print_, *map(_encode_value, values)]
        data = base64.urlsafe_b64encode(_JSON.encode(payload).encode()).rstrip(b"=")
        return self.signer.sign(data).decode("ascii")

    def decode(self, cursor: str, print_: str, arity: int) -> tuple[list[t.Any], bool]:
        """The ordering values and direction (``True`` for backward) of a cursor.

        :raises InvalidCursor: The cursor is too long, unsigned, tampered with, made by another
            app or for another ordering, or malformed.
        """
        if len(cursor) > MAX_CURSOR_LENGTH or not cursor.isascii():
            raise InvalidCursor()
        try:
            data = self.signer.unsign(cursor)
            payload = _JSON_DECODE(
                base64.urlsafe_b64decode(data + b"=" * (-len(data) % 4)).decode()
            )
        except (BadData, ValueError):
            raise InvalidCursor() from None
        if (
            not isinstance(payload, list)
            or len(payload) != arity + 2
            or payload[0] not in ("n", "p")
            or payload[1] != print_
        ):
            raise InvalidCursor()
        try:
            values = [None if item == _NULL else _TAGS.decode(item) for item in payload[2:]]
        except (ValueError, TypeError, ArithmeticError, OverflowError):
            raise InvalidCursor() from None
        return values, payload[0] == "p"
