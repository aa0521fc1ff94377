"""Whether a value read from a signed cursor fits the column it is bound against.

The values of a validly signed cursor are still checked, each against the type of its
ordering column, before they reach the database: a key may have leaked, or the column types
may have changed while a key was rotated.
"""

from __future__ import annotations

import datetime
import decimal
import math
import typing as t
import uuid

import sqlalchemy as sa

from . import _compat
from .errors import MalformedValue


class EnumName(str):
    """The name of an enum member, as a cursor holds it."""

    __slots__ = ()


def _bad() -> t.NoReturn:
    raise MalformedValue("bad value")


ValueCheck = t.Callable[[t.Any], bool]
ValueReader = t.Callable[[t.Any], t.Any]
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

    The reader raises :exc:`.MalformedValue`, a :exc:`ValueError`, for a value that does not
    fit the column.

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
    if _compat.is_interval(column_type):
        return _interval_reader(column_type, dialect, nullable)
    impl = column_type
    while isinstance(impl, sa.types.TypeDecorator):
        impl = impl.impl_instance
    affinity = _compat.type_affinity(impl)
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
    elif _compat.is_binary(affinity):
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
