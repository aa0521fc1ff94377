"""Read numeric request parameters strictly: one parser for every endpoint and ``paginate``.

A whole number is one to 18 ASCII digits and nothing else: no sign, no white space, no
separator, no exponent, no fraction, no non-ASCII digit (``'²'`` and ``'٣'`` pass
:meth:`str.isdigit` but are refused here). A number may add a fraction of ASCII digits after
one ``.``. A value given twice, empty, or out of range is refused too, with
:exc:`~flask_perfkit.errors.InvalidParameter`: HTTP 400 with a JSON body naming the parameter.
The value is checked before it is converted, so no input reaches :func:`int` or
:func:`float` that they could reject or take long over.
"""

from __future__ import annotations

import re

from flask import request

from .errors import InvalidParameter

_WHOLE = re.compile(r"[0-9]{1,18}")
_DECIMAL = re.compile(r"[0-9]{1,18}(?:\.[0-9]{1,18})?")


def single_arg(name: str, error: type[InvalidParameter] = InvalidParameter) -> str | None:
    """The one value of the request argument ``name``, or ``None`` when it is absent.

    :raises InvalidParameter: The argument is given more than once.
    """
    values = request.args.getlist(name)
    if not values:
        return None
    if len(values) > 1:
        raise error(f"{name!r} must be given at most once.", param=name)
    return values[0]


def parse_int(
    name: str,
    value: str | int,
    low: int,
    high: int | None = None,
    error: type[InvalidParameter] = InvalidParameter,
) -> int:
    """``value`` as a whole number from ``low`` to ``high``.

    :param name: The parameter's name, for the error.
    :param value: A request argument, or an int given by code. ``bool`` is refused.
    :param low: The smallest allowed value.
    :param high: The largest allowed value, if any.
    :param error: The :exc:`~flask_perfkit.errors.InvalidParameter` class to raise.
    :raises InvalidParameter: ``value`` is not a plain ASCII whole number in range.
    """
    number: int | None = None
    if isinstance(value, str):
        if _WHOLE.fullmatch(value):
            number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    if number is None or number < low or (high is not None and number > high):
        raise error(_range_text(name, "a whole number", low, high), param=name)
    return number


def parse_number(
    name: str,
    value: str,
    low: float,
    high: float,
    error: type[InvalidParameter] = InvalidParameter,
) -> float:
    """``value`` as a decimal number from ``low`` to ``high``, such as ``"50"`` or ``"12.5"``.

    :raises InvalidParameter: ``value`` is not a plain ASCII decimal number in range.
    """
    if _DECIMAL.fullmatch(value):
        number = float(value)
        if low <= number <= high:
            return number
    raise error(_range_text(name, "a number", low, high), param=name)


def int_arg(name: str, default: int, low: int, high: int | None = None) -> int:
    """The request argument ``name`` as a whole number, or ``default`` when it is absent.

    :raises InvalidParameter: It is given twice, or is not a plain whole number in range.
    """
    raw = single_arg(name)
    return default if raw is None else parse_int(name, raw, low, high)


def number_arg(name: str, default: float, low: float, high: float) -> float:
    """The request argument ``name`` as a decimal number, or ``default`` when it is absent.

    :raises InvalidParameter: It is given twice, or is not a plain decimal number in range.
    """
    raw = single_arg(name)
    return default if raw is None else parse_number(name, raw, low, high)


def _range_text(name: str, kind: str, low: float, high: float | None) -> str:
    if high is None:
        return f"{name!r} must be {kind} from {_text(low)}, in ASCII digits."
    return f"{name!r} must be {kind} from {_text(low)} to {_text(high)}, in ASCII digits."


def _text(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else str(bound)
