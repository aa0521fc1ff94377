"""Opaque, signed pagination cursors.

A cursor holds the boundary row's ordering values (type-tagged, so a datetime comes back a
datetime), the walking direction and a fingerprint of the query's ordering. It is compact
JSON, URL-safe, and signed with an HMAC keyed by the app's ``SECRET_KEY``. Keys in
``SECRET_KEY_FALLBACKS`` are accepted, so keys can be rotated. Anything that is not a cursor
this app made for this ordering is rejected with :exc:`~flask_perfkit.errors.InvalidCursor`,
and nothing from a cursor is ever evaluated: decoding is JSON and a fixed set of type tags.

A cursor that is validly signed can still carry values that do not fit its ordering columns
(after a key leaked, or a key was rotated while the column types changed): each decoded value
is checked against its column's type by :func:`value_check` before it reaches the database.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import enum
import hashlib
import hmac
import json
import math
import typing as t
import uuid

import sqlalchemy as sa

from .errors import InvalidCursor

#: Cursors longer than this are rejected before they are decoded, and never served: a row
#: whose ordering values make a longer one gets none. It fits a request line of 8 KiB.
MAX_CURSOR_LENGTH = 4096
_SALT = b"flask-perfkit.cursor"
#: Made once: ``json.dumps`` with options builds a new encoder on every call.
_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def _encode_value(value: t.Any) -> list[t.Any]:
    if value is None:
        return ["n"]
    if isinstance(value, bool):
        return ["b", value]
    if isinstance(value, int):
        return ["i", str(int(value))]
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
    if isinstance(value, datetime.timedelta):
        return ["td", str(value // _MICROSECOND)]
    if isinstance(value, uuid.UUID):
        return ["u", str(value)]
    if isinstance(value, bytes):
        return ["by", base64.b64encode(value).decode()]
    if isinstance(value, enum.Enum):
        return ["e", value.name]
    raise TypeError(f"A value of type {type(value).__name__!r} cannot be put in a cursor.")


class EnumName(str):
    """The name of an enum member, as a cursor holds it."""

    __slots__ = ()


#: Read the text of each tag; every tag but ``b`` holds a string.
_DECODERS: dict[str, t.Callable[[str], t.Any]] = {
    "i": lambda v: int(v) if len(v) <= 40 else _bad(),
    "f": float,
    "d": decimal.Decimal,
    "s": str,
    "dt": datetime.datetime.fromisoformat,
    "da": datetime.date.fromisoformat,
    "t": datetime.time.fromisoformat,
    "td": lambda v: datetime.timedelta(microseconds=int(v)) if len(v) <= 40 else _bad(),
    "u": uuid.UUID,
    "by": lambda v: base64.b64decode(v, validate=True),
    "e": EnumName,
}


def _bad() -> t.NoReturn:
    raise ValueError("bad value")


def _decode_value(item: t.Any) -> t.Any:
    if not isinstance(item, list) or not item or not isinstance(item[0], str):
        _bad()
    if item[0] == "n" and len(item) == 1:
        return None
    if len(item) != 2:
        _bad()
    tag, value = item
    if tag == "b" and isinstance(value, bool):
        return value
    if tag not in _DECODERS or not isinstance(value, str):
        _bad()
    return _DECODERS[tag](value)


def usable_key(key: t.Any) -> t.TypeGuard[str | bytes]:
    """Whether ``key`` can sign cursors: a string or bytes with content. An empty key is one
    anyone has."""
    return isinstance(key, (str, bytes)) and bool(key)


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
        """A cursor for the row with these ordering values (which :meth:`decode` refuses when
        it is longer than :data:`MAX_CURSOR_LENGTH`)."""
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


ValueCheck = t.Callable[[t.Any], bool]
ValueReader = t.Callable[[t.Any], t.Any]
_MICROSECOND = datetime.timedelta(microseconds=1)
#: Where databases without an interval type store one: a timestamp this long after it.
_EPOCH = datetime.datetime(1970, 1, 1)
#: Bits of the integer types, where the database checks the range of a bound value.
_INT_BITS = ((sa.SmallInteger, 16), (sa.BigInteger, 64), (sa.Integer, 32))
#: Databases that store NaN and infinities in floating point and numeric columns.
_NON_FINITE = frozenset({"postgresql"})


def value_reader(
    column_type: sa.types.TypeEngine[t.Any], dialect: str, nullable: bool
) -> ValueReader:
    """What a decoded cursor value is bound as for a column of ``column_type``.

    The reader raises :exc:`ValueError` for a value that does not fit the column.

    Whatever the type, a value must be one the database can take as a bound parameter: no
    NaN or infinity (outside PostgreSQL's numeric types), no NUL or lone surrogate in a
    string, no integer past 64 bits. Then the value must be of the column's Python type:
    ``int`` in the range of an integer column, a number within a double's range for a
    floating point column, a ``datetime`` for a timestamp (never a ``date``, a ``time`` or a
    string), a ``date`` for a date, a ``timedelta`` the column can store for an interval, a
    string no longer than a sized string column, one of the values of an enum (turned back
    into its member), and so on.
    Types PerfKit does not know take any value that passes the first test.

    :param column_type: The type of the ordering expression.
    :param dialect: The database's dialect name, such as ``"postgresql"``.
    :param nullable: Whether the expression can be NULL, so ``None`` is a valid value.
    """
    if isinstance(column_type, sa.sql.sqltypes._AbstractInterval):
        return _interval_reader(column_type, dialect, nullable)
    impl = column_type
    while isinstance(impl, sa.types.TypeDecorator):
        impl = impl.impl_instance
    affinity = impl._type_affinity
    kinds: tuple[type, ...] | None = None
    extra: ValueCheck | None = None
    convert: ValueReader | None = None
    non_finite = False
    if isinstance(impl, sa.Enum):
        convert = _enum_reader(impl)
    elif affinity is not None and issubclass(affinity, sa.Integer):
        low, high = _int_range(impl, dialect)
        kinds = (int,)
        extra = lambda v: low <= v <= high  # noqa: E731
    elif affinity is not None and issubclass(affinity, (sa.Numeric, sa.Float)):
        kinds = (int, float, decimal.Decimal)
        non_finite = dialect in _NON_FINITE
        if isinstance(impl, sa.Float):
            extra = _fits_double
    elif affinity is not None and issubclass(affinity, sa.String):
        kinds = (str,)
        length = getattr(impl, "length", None)
        if length:
            extra = lambda v: len(v) <= length  # noqa: E731
    elif affinity is sa.DateTime:
        kinds = (datetime.datetime,)
    elif affinity is sa.Date:
        kinds = (datetime.date,)
        extra = lambda v: not isinstance(v, datetime.datetime)  # noqa: E731
    elif affinity is sa.Time:
        kinds = (datetime.time,)
    elif affinity is sa.Boolean:
        kinds = (bool,)
    elif affinity is sa.Uuid:
        if getattr(impl, "as_uuid", True):
            kinds = (uuid.UUID,)
        else:
            kinds = (str,)
            extra = _is_uuid
    elif affinity is not None and issubclass(affinity, sa.types._Binary):
        kinds = (bytes,)

    def read(value: t.Any) -> t.Any:
        if value is None:
            if nullable:
                return None
            _bad()
        if not _bindable(value, non_finite) or (isinstance(value, EnumName) and convert is None):
            _bad()
        if kinds is not None and (
            not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)
        ):
            _bad()
        if extra is not None and not extra(value):
            _bad()
        return value if convert is None else convert(value)

    return read


def _interval_reader(
    column_type: sa.types.TypeEngine[t.Any], dialect: str, nullable: bool
) -> ValueReader:
    # PostgreSQL's interval holds every timedelta. Elsewhere SQLAlchemy stores an interval as
    # the timestamp that long after _EPOCH, which must be within years 1 to 9999.
    emulated = dialect != "postgresql" or not getattr(column_type, "native", True)

    def read(value: t.Any) -> t.Any:
        if value is None:
            if nullable:
                return None
            _bad()
        if not isinstance(value, datetime.timedelta):
            _bad()
        if emulated:
            try:
                _EPOCH + value
            except OverflowError:
                _bad()
        return value

    return read


def _fits_double(value: t.Any) -> bool:
    """Whether a number is within the range of a double precision float (NaN and
    infinities are checked before)."""
    if isinstance(value, float) or (isinstance(value, decimal.Decimal) and not value.is_finite()):
        return True
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def _enum_reader(impl: sa.Enum) -> ValueReader:
    enum_class = impl.enum_class
    if enum_class is None:
        allowed = frozenset(impl.enums)

        def label(value: t.Any) -> t.Any:
            if isinstance(value, EnumName) or value not in allowed:
                _bad()
            return str(value)

        return label

    def member(value: t.Any) -> t.Any:
        if isinstance(value, EnumName):
            found = enum_class.__members__.get(value)
        else:
            # Members of int and str enums are stored in cursors by their value.
            try:
                found = enum_class(value)
            except (ValueError, TypeError):
                found = None
        if found is None:
            _bad()
        return found

    return member


def _int_range(impl: sa.types.TypeEngine[t.Any], dialect: str) -> tuple[int, int]:
    # PostgreSQL casts the parameter to the column's type, so its range is the type's; other
    # databases take any 64-bit value.
    bits = 64
    if dialect == "postgresql":
        bits = next(size for kind, size in _INT_BITS if isinstance(impl, kind))
    if getattr(impl, "unsigned", False):
        return 0, 2**bits - 1
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def _bindable(value: t.Any, non_finite: bool) -> bool:
    if isinstance(value, str):
        return "\x00" not in value and _encodable(value)
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -(2**63) <= value < 2**64
    if isinstance(value, float):
        return non_finite or math.isfinite(value)
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            return non_finite and not value.is_snan()
        return len(value.as_tuple().digits) <= 1000 and -1000 <= value.adjusted() <= 1000
    return True


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
