"""The kinds of value a configuration key may hold: each checks one value and converts it.

A kind is called with the key's name and its value. It returns the value as the resolved
configuration holds it, or raises :exc:`.ConfigError` with a message that names the key, shows
the value and says what is allowed.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import typing as t
from collections.abc import Mapping

from ..errors import ConfigError
from ._sections import CheckOverride


class Kind(t.Protocol):
    """Checks the value of one key and returns it converted."""

    def __call__(self, key: str, value: t.Any) -> t.Any: ...


_NUMBER_TYPES = (int, float)


def _is_number(value: t.Any) -> bool:
    """Whether ``value`` is an int or float within a float's finite range, and not a bool."""
    if not isinstance(value, _NUMBER_TYPES) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


@dataclasses.dataclass(frozen=True)
class Whole:
    """A whole number of at least ``minimum``; ``what`` ends the error message."""

    minimum: int
    what: str

    def __call__(self, key: str, value: t.Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < self.minimum:
            raise ConfigError(f"{key} must be a whole number {self.what}, got {value!r}.")
        return value


@dataclasses.dataclass(frozen=True)
class Seconds:
    """A number of seconds, more than 0 (or 0 too), at most ``maximum`` if given."""

    allow_zero: bool = False
    maximum: float | None = None

    def __call__(self, key: str, value: t.Any) -> float:
        if not (_is_number(value) and (value > 0 or (self.allow_zero and value == 0))):
            need = "0 or more" if self.allow_zero else "more than 0"
            raise ConfigError(f"{key} must be a number of seconds, {need}, got {value!r}.")
        seconds = float(value)
        if self.maximum is not None and seconds > self.maximum:
            raise ConfigError(f"{key} must be at most {self.maximum:g} seconds, got {seconds!r}.")
        return seconds


@dataclasses.dataclass(frozen=True)
class OptionalSeconds:
    """A number of seconds more than 0, or ``None``."""

    def __call__(self, key: str, value: t.Any) -> float | None:
        if value is None:
            return None
        if not (_is_number(value) and value > 0):
            raise ConfigError(
                f"{key} must be a number of seconds more than 0, or None, got {value!r}."
            )
        return float(value)


@dataclasses.dataclass(frozen=True)
class Milliseconds:
    """A number of milliseconds, 0 or more, kept in milliseconds."""

    def __call__(self, key: str, value: t.Any) -> float:
        if not (_is_number(value) and value >= 0):
            raise ConfigError(f"{key} must be a number of milliseconds, 0 or more, got {value!r}.")
        return float(value)


@dataclasses.dataclass(frozen=True)
class Flag:
    """``True`` or ``False``."""

    def __call__(self, key: str, value: t.Any) -> bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be True or False, got {value!r}.")
        return value


@dataclasses.dataclass(frozen=True)
class Choice:
    """One of the values of a string enum, returned as its member."""

    values: type[enum.StrEnum]

    def __call__(self, key: str, value: t.Any) -> enum.StrEnum:
        try:
            return self.values(value)
        except ValueError:
            allowed = [repr(member.value) for member in self.values]
            listing = " or ".join(allowed) if len(allowed) == 2 else f"one of {', '.join(allowed)}"
            raise ConfigError(f"{key} must be {listing}, got {value!r}.") from None


def url_prefix(key: str, value: t.Any) -> str | None:
    """A path starting with ``/``, without a trailing ``/``, or ``None``."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.startswith("/"):
        raise ConfigError(
            f"{key} must be a path starting with '/', or None to not mount the health"
            f" blueprint, got {value!r}."
        )
    return value.rstrip("/") or "/"


def admin_token(key: str, value: t.Any) -> str | None:
    """A non-empty string, or ``None``. The message never shows the value."""
    if value is not None and (not isinstance(value, str) or not value.strip()):
        got = "a blank string" if isinstance(value, str) else type(value).__name__
        raise ConfigError(
            f"{key} must be a non-empty string, or None to leave admin endpoints disabled,"
            f" got {got}."
        )
    return value


def key_prefix(key: str, value: t.Any) -> str:
    """A non-empty string without the glob characters ``* ? [ ]``."""
    if not isinstance(value, str) or not value or any(c in value for c in "*?[]"):
        raise ConfigError(
            f"{key} must be a non-empty string without * ? [ ], so clearing the cache can"
            f" never match keys that are not PerfKit's, got {value!r}."
        )
    return value


def engine_arguments(key: str, value: t.Any) -> dict[str, t.Any]:
    """A dict of keyword arguments, checked further by :mod:`._engine_args`."""
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ConfigError(
            f"{key} must be a dict of create_engine() keyword arguments, got {value!r}."
        )
    return dict(value)


_CHECK_EXAMPLE = '{"cache": {"critical": True, "timeout": 0.3}}'


def check_overrides(key: str, value: t.Any) -> dict[str, CheckOverride]:
    """A dict of health check names to the settings that change them."""
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"{key} must be a dict of check names to settings, such as {_CHECK_EXAMPLE}."
        )
    return {name: _check_override(key, name, settings) for name, settings in value.items()}


def _check_override(key: str, name: t.Any, settings: t.Any) -> CheckOverride:
    """The :class:`.CheckOverride` of one entry of ``PERFKIT_HEALTH_CHECKS``."""
    if not isinstance(name, str) or not isinstance(settings, Mapping):
        raise ConfigError(
            f"{key} must be a dict of check names to settings, such as {_CHECK_EXAMPLE};"
            f" got {name!r}: {settings!r}."
        )
    unknown = set(settings) - {"critical", "timeout", "readiness"}
    if unknown:
        raise ConfigError(
            f"{key}[{name!r}] may set 'critical', 'timeout' and 'readiness', not"
            f" {', '.join(map(repr, sorted(unknown, key=str)))}."
        )
    for flag in ("critical", "readiness"):
        if flag in settings and not isinstance(settings[flag], bool):
            raise ConfigError(
                f"{key}[{name!r}][{flag!r}] must be True or False, got {settings[flag]!r}."
            )
    timeout = settings.get("timeout")
    if timeout is not None and not (_is_number(timeout) and timeout > 0):
        raise ConfigError(
            f"{key}[{name!r}]['timeout'] must be a positive number of seconds, got {timeout!r}."
        )
    return CheckOverride(
        critical=settings.get("critical"),
        timeout=None if timeout is None else float(timeout),
        readiness=settings.get("readiness"),
    )
