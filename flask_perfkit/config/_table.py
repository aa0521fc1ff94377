"""One row per configuration key, from which the defaults, the validation and the resolved
sections all come.
"""

from __future__ import annotations

import dataclasses
import inspect
import operator
import typing as t
from collections.abc import Mapping

from ..errors import ConfigError
from . import _kinds as kinds
from ._engine_args import check_engine_arguments
from ._engine_args import check_engine_values
from ._names import nearest
from ._sections import BudgetAction
from ._sections import CacheConfig
from ._sections import ConfigKey
from ._sections import DatabaseConfig
from ._sections import HealthConfig
from ._sections import HistoryConfig
from ._sections import PaginationConfig
from ._sections import PerfKitConfig
from ._sections import PoolConfig
from ._sections import ProfilerConfig
from ._sections import ShowDetails


def _milliseconds_to_seconds(value: float) -> float:
    return value / 1000


@dataclasses.dataclass(frozen=True)
class Row:
    """One configuration key: where its value goes, what it may be and its default."""

    #: The ``app.config`` key.
    key: str
    #: The :class:`.PerfKitConfig` attribute of its section, or ``None`` for the top level.
    section: str | None
    #: The section's attribute.
    field: str
    #: Checks the value and converts it.
    kind: kinds.Kind
    #: The value written into ``app.config`` when the key is missing.
    default: t.Any
    #: Converts the checked value into the unit of the section's attribute, if it differs.
    unit: t.Callable[[t.Any], t.Any] | None = None


_K = ConfigKey
_ONE_OR_MORE = kinds.Whole(1, "of 1 or more")
_SECONDS_ONE_OR_MORE = kinds.Whole(1, "of seconds, 1 or more")
_MS = kinds.Milliseconds()
_TO_S = _milliseconds_to_seconds

#: Every configuration key, by area.
ROWS: tuple[Row, ...] = (
    Row(_K.ENABLED, None, "enabled", kinds.Flag(), True),
    Row(_K.POOL_SIZE, "pool", "size", kinds.Whole(0, "of 0 or more (0 means no limit)"), 20),
    Row(
        _K.POOL_MAX_OVERFLOW,
        "pool",
        "max_overflow",
        kinds.Whole(-1, "of 0 or more (-1 means no limit)"),
        40,
    ),
    Row(_K.POOL_RECYCLE, "pool", "recycle", kinds.Whole(-1, "of seconds (-1 means never)"), 3600),
    Row(_K.POOL_PRE_PING, "pool", "pre_ping", kinds.Flag(), True),
    Row(_K.POOL_TIMEOUT, "pool", "timeout", kinds.Seconds(), 30),
    Row(_K.POOL_OPTIONS, "pool", "options", kinds.engine_arguments, {}),
    Row(_K.SLOW_QUERY_MS, "profiler", "slow_query", _MS, 100, _TO_S),
    Row(_K.VERY_SLOW_QUERY_MS, "profiler", "very_slow_query", _MS, 500, _TO_S),
    Row(_K.SLOW_QUERY_BUFFER, "profiler", "slow_query_buffer", _ONE_OR_MORE, 100),
    Row(_K.MAX_PATTERNS, "profiler", "max_patterns", _ONE_OR_MORE, 1000),
    Row(_K.NORMALIZE_CACHE_SIZE, "profiler", "normalize_cache_size", _ONE_OR_MORE, 4096),
    Row(_K.MAX_N_PLUS_ONE_SUSPECTS, "profiler", "max_n_plus_one_suspects", _ONE_OR_MORE, 200),
    Row(
        _K.N_PLUS_ONE_THRESHOLD,
        "profiler",
        "n_plus_one_threshold",
        kinds.Whole(2, "of 2 or more"),
        5,
    ),
    Row(
        _K.QUERY_BUDGET_ACTION,
        "profiler",
        "query_budget_action",
        kinds.Choice(BudgetAction),
        BudgetAction.RAISE.value,
    ),
    Row(_K.CACHE_SHORT_TIMEOUT, "cache", "short_timeout", _SECONDS_ONE_OR_MORE, 300),
    Row(_K.CACHE_MEDIUM_TIMEOUT, "cache", "medium_timeout", _SECONDS_ONE_OR_MORE, 600),
    Row(_K.CACHE_LONG_TIMEOUT, "cache", "long_timeout", _SECONDS_ONE_OR_MORE, 3600),
    Row(_K.CACHE_KEY_PREFIX, "cache", "key_prefix", kinds.key_prefix, "perfkit:"),
    Row(_K.CACHE_LOCK_TIMEOUT, "cache", "lock_timeout", kinds.Seconds(), 10.0),
    Row(_K.CACHE_BREAKER_FAILURES, "cache", "breaker_failures", _ONE_OR_MORE, 3),
    Row(
        _K.CACHE_BREAKER_SECONDS,
        "cache",
        "breaker_seconds",
        kinds.Seconds(allow_zero=True),
        5.0,
    ),
    Row(_K.CACHE_SOCKET_TIMEOUT, "cache", "socket_timeout", kinds.Seconds(), 0.25),
    Row(_K.PAGE_SIZE, "pagination", "page_size", _ONE_OR_MORE, 20),
    Row(_K.MAX_PAGE_SIZE, "pagination", "max_page_size", _ONE_OR_MORE, 100),
    Row(_K.MAX_OFFSET, "pagination", "max_offset", kinds.Whole(0, "of rows, 0 or more"), 10000),
    Row(_K.MAX_PAGE_PLANS, "pagination", "max_page_plans", _ONE_OR_MORE, 256),
    Row(_K.HEALTH_URL_PREFIX, "health", "url_prefix", kinds.url_prefix, "/health"),
    Row(_K.HEALTH_TIMEOUT, "health", "timeout", kinds.Seconds(maximum=60), 0.8),
    Row(_K.HEALTH_CHECK_TTL, "health", "check_ttl", kinds.Seconds(allow_zero=True), 1.0),
    Row(_K.HEALTH_CHECKS, "health", "checks", kinds.check_overrides, {}),
    Row(
        _K.HEALTH_SHOW_DETAILS,
        "health",
        "show_details",
        kinds.Choice(ShowDetails),
        ShowDetails.WHEN_AUTHORIZED.value,
    ),
    Row(_K.ADMIN_TOKEN, "health", "admin_token", kinds.admin_token, None),
    Row(_K.DB_CONNECT_TIMEOUT, "database", "connect_timeout", kinds.OptionalSeconds(), 5.0),
    Row(_K.DB_STATEMENT_TIMEOUT, "database", "statement_timeout", kinds.OptionalSeconds(), None),
    Row(
        _K.DB_BREAKER_FAILURES,
        "database",
        "breaker_failures",
        kinds.Whole(0, "of 0 or more (0 turns the breaker off)"),
        5,
    ),
    Row(_K.DB_BREAKER_SECONDS, "database", "breaker_seconds", kinds.Seconds(), 5.0),
    Row(_K.HISTORY_ENABLED, "history", "enabled", kinds.Flag(), True),
    Row(_K.HISTORY_RESOLUTION, "history", "resolution", _SECONDS_ONE_OR_MORE, 10),
    Row(_K.HISTORY_RETENTION, "history", "retention", _SECONDS_ONE_OR_MORE, 3600),
    Row(_K.HISTORY_COARSE_RESOLUTION, "history", "coarse_resolution", _SECONDS_ONE_OR_MORE, 60),
    Row(_K.HISTORY_COARSE_RETENTION, "history", "coarse_retention", _SECONDS_ONE_OR_MORE, 86400),
)

#: The class of each section of :class:`.PerfKitConfig`, by attribute.
SECTIONS: Mapping[str, type] = {
    "pool": PoolConfig,
    "database": DatabaseConfig,
    "profiler": ProfilerConfig,
    "cache": CacheConfig,
    "pagination": PaginationConfig,
    "health": HealthConfig,
    "history": HistoryConfig,
}

#: Every key and its default, applied with ``app.config.setdefault``.
DEFAULTS: Mapping[str, t.Any] = {row.key: row.default for row in ROWS}


def _checker(kind: kinds.Kind) -> kinds.Kind:
    """``kind`` in the form quickest to call: a function as it is, an object's bound
    ``__call__`` (calling the object looks the method up on each call)."""
    return kind if inspect.isfunction(kind) else kind.__call__


#: Stands for a dict default, which no value is: each app gets a copy it may change.
_NEVER = object()
#: Each key, the check of its value, its default and the default's checked value, in table
#: order. A value that is its key's default object was checked once, here; any other value,
#: and every dict, is checked on each app.
_KINDS: tuple[tuple[str, kinds.Kind, t.Any, t.Any], ...] = tuple(
    (
        row.key,
        _checker(row.kind),
        _NEVER if isinstance(row.default, dict) else row.default,
        row.kind(row.key, row.default),
    )
    for row in ROWS
)
#: The keys whose checked value is converted into another unit, and how.
_UNITS: tuple[tuple[str, t.Callable[[t.Any], t.Any]], ...] = tuple(
    (row.key, row.unit) for row in ROWS if row.unit is not None
)


#: Reads the values of one section's keys from the checked values, in its fields' order.
_Reader = t.Callable[[Mapping[str, t.Any]], tuple[t.Any, ...]]


def _section_values(section: str, cls: type) -> _Reader:
    """Reads the checked values of the rows of ``section`` as a tuple, in the order of the
    fields of ``cls``."""
    by_field = {row.field: row.key for row in ROWS if row.section == section}
    keys = [by_field[field.name] for field in dataclasses.fields(cls)]
    if len(keys) < 2:
        raise TypeError(f"The section {section!r} needs two keys or more.")
    return operator.itemgetter(*keys)


#: Each section's attribute, class, and the reader of its values.
_LAYOUT: tuple[tuple[str, type, _Reader], ...] = tuple(
    (name, cls, _section_values(name, cls)) for name, cls in SECTIONS.items()
)
#: The keys of the top-level attributes of :class:`.PerfKitConfig`, by attribute.
_TOP: tuple[tuple[str, str], ...] = tuple(
    (row.field, row.key) for row in ROWS if row.section is None
)


#: Every key, its default, and whether the default is a dict that each app gets a copy of.
_DEFAULT_ITEMS: tuple[tuple[str, t.Any, bool], ...] = tuple(
    (key, value, isinstance(value, dict)) for key, value in DEFAULTS.items()
)


def apply_defaults(config: t.MutableMapping[str, t.Any]) -> None:
    """Write every missing key's default into ``config``, so effective values are visible."""
    for key, value, copied in _DEFAULT_ITEMS:
        config.setdefault(key, dict(value) if copied else value)


def resolve(config: Mapping[str, t.Any]) -> PerfKitConfig:
    """Validate the ``PERFKIT_*`` keys of ``config`` and freeze them.

    :param config: The app's config, with defaults already applied.
    :raises ConfigError: A value is of the wrong type or out of range. The message names the
        key, shows the value and says what is allowed.
    """
    checked = {
        key: done if (value := config[key]) is default else kind(key, value)
        for key, kind, default, done in _KINDS
    }
    for check in _CROSS_CHECKS:
        check(config, checked)
    for key, unit in _UNITS:
        checked[key] = unit(checked[key])
    sections = {name: cls(*values(checked)) for name, cls, values in _LAYOUT}
    return PerfKitConfig(**{field: checked[key] for field, key in _TOP}, **sections)


def _check_engine_options(config: Mapping[str, t.Any], checked: Mapping[str, t.Any]) -> None:
    """Fail on ``PERFKIT_POOL_OPTIONS`` that no engine of the app would take."""
    options = checked[_K.POOL_OPTIONS]
    if options:
        check_engine_arguments(config, options)
        check_engine_values(options)


def _check_slow_order(config: Mapping[str, t.Any], checked: Mapping[str, t.Any]) -> None:
    """Fail when the very slow threshold is below the slow one."""
    slow_ms, very_slow_ms = checked[_K.SLOW_QUERY_MS], checked[_K.VERY_SLOW_QUERY_MS]
    if very_slow_ms < slow_ms:
        raise ConfigError(
            f"{_K.VERY_SLOW_QUERY_MS} must be at least {_K.SLOW_QUERY_MS}"
            f" ({slow_ms!r}), got {very_slow_ms!r}."
        )


def _check_page_sizes(config: Mapping[str, t.Any], checked: Mapping[str, t.Any]) -> None:
    """Fail when the default page size is over the largest, naming the key the user set."""
    page_size, max_page_size = checked[_K.PAGE_SIZE], checked[_K.MAX_PAGE_SIZE]
    if page_size <= max_page_size:
        return
    both = f"{_K.PAGE_SIZE} ({page_size!r}) must be at most {_K.MAX_PAGE_SIZE} ({max_page_size!r})."
    page_default = page_size == DEFAULTS[_K.PAGE_SIZE]
    max_default = max_page_size == DEFAULTS[_K.MAX_PAGE_SIZE]
    if page_default and not max_default:
        message = (
            f"{both} {_K.PAGE_SIZE} is its default: raise {_K.MAX_PAGE_SIZE} to"
            f" {page_size} or more, or set {_K.PAGE_SIZE} to {max_page_size} or less."
        )
    elif max_default and not page_default:
        message = (
            f"{both} {_K.MAX_PAGE_SIZE} is its default: lower {_K.PAGE_SIZE} to"
            f" {max_page_size} or less, or raise {_K.MAX_PAGE_SIZE}."
        )
    else:
        message = f"{both} Lower {_K.PAGE_SIZE} or raise {_K.MAX_PAGE_SIZE}."
    raise ConfigError(message)


#: The most points either history keeps, which bounds its memory.
MAX_HISTORY_POINTS = 100_000


def _check_history(config: Mapping[str, t.Any], checked: Mapping[str, t.Any]) -> None:
    """Fail on histories whose points do not nest or would be too many to keep."""
    fine, coarse = checked[_K.HISTORY_RESOLUTION], checked[_K.HISTORY_COARSE_RESOLUTION]
    if coarse % fine:
        raise ConfigError(
            f"{_K.HISTORY_COARSE_RESOLUTION} ({coarse!r}) must be a multiple of"
            f" {_K.HISTORY_RESOLUTION} ({fine!r})."
        )
    for resolution, retention in (
        (_K.HISTORY_RESOLUTION, _K.HISTORY_RETENTION),
        (_K.HISTORY_COARSE_RESOLUTION, _K.HISTORY_COARSE_RETENTION),
    ):
        step, span = checked[resolution], checked[retention]
        if not step <= span <= step * MAX_HISTORY_POINTS:
            raise ConfigError(
                f"{retention} ({span!r}) must be from {resolution} ({step!r}) to"
                f" {MAX_HISTORY_POINTS} times it ({step * MAX_HISTORY_POINTS}), so the history"
                f" keeps from 1 to {MAX_HISTORY_POINTS} points."
            )


#: Checks of values that depend on each other, run once every row has been checked.
_CROSS_CHECKS: tuple[t.Callable[[Mapping[str, t.Any], Mapping[str, t.Any]], None], ...] = (
    _check_engine_options,
    _check_slow_order,
    _check_page_sizes,
    _check_history,
)


_PREFIX = "PERFKIT_"

#: Names that look like settings but are read elsewhere, and where.
_NOT_CONFIG = {
    "PERFKIT_URL": "PERFKIT_URL is read from the environment by the flask perfkit commands,"
    " not from app.config.",
}


def unknown_keys(config: Mapping[str, t.Any]) -> list[str]:
    """A sentence for each ``PERFKIT_*`` key in ``config`` that flask-perfkit does not read.

    Each names the nearest known key, when one is close. Keys are compared without regard to
    case, since ``app.config.from_mapping`` keeps lower-case keys that PerfKit never reads.
    """
    messages = []
    for key in config:
        if key in DEFAULTS or not isinstance(key, str) or not key.upper().startswith(_PREFIX):
            continue
        if key.upper() in _NOT_CONFIG:
            messages.append(_NOT_CONFIG[key.upper()])
            continue
        guess = nearest(key, DEFAULTS, prefix=_PREFIX)
        hint = f" Did you mean {guess}?" if guess else " See the configuration docs for the keys."
        messages.append(f"{key} is not a flask-perfkit setting and is ignored.{hint}")
    return messages
