"""The ``PERFKIT_*`` configuration keys, their defaults and their validation."""

from __future__ import annotations

import dataclasses
import difflib
import enum
import functools
import inspect
import math
import typing as t
from collections.abc import Iterable
from collections.abc import Mapping

from .errors import ConfigError


class ConfigKey:
    """The name of every configuration key, spelled once."""

    ENABLED = "PERFKIT_ENABLED"
    POOL_SIZE = "PERFKIT_POOL_SIZE"
    POOL_MAX_OVERFLOW = "PERFKIT_POOL_MAX_OVERFLOW"
    POOL_RECYCLE = "PERFKIT_POOL_RECYCLE"
    POOL_PRE_PING = "PERFKIT_POOL_PRE_PING"
    POOL_TIMEOUT = "PERFKIT_POOL_TIMEOUT"
    POOL_OPTIONS = "PERFKIT_POOL_OPTIONS"
    SLOW_QUERY_MS = "PERFKIT_SLOW_QUERY_MS"
    VERY_SLOW_QUERY_MS = "PERFKIT_VERY_SLOW_QUERY_MS"
    SLOW_QUERY_BUFFER = "PERFKIT_SLOW_QUERY_BUFFER"
    MAX_PATTERNS = "PERFKIT_MAX_PATTERNS"
    NORMALIZE_CACHE_SIZE = "PERFKIT_NORMALIZE_CACHE_SIZE"
    MAX_N_PLUS_ONE_SUSPECTS = "PERFKIT_MAX_N_PLUS_ONE_SUSPECTS"
    N_PLUS_ONE_THRESHOLD = "PERFKIT_N_PLUS_ONE_THRESHOLD"
    QUERY_BUDGET_ACTION = "PERFKIT_QUERY_BUDGET_ACTION"
    CACHE_SHORT_TIMEOUT = "PERFKIT_CACHE_SHORT_TIMEOUT"
    CACHE_MEDIUM_TIMEOUT = "PERFKIT_CACHE_MEDIUM_TIMEOUT"
    CACHE_LONG_TIMEOUT = "PERFKIT_CACHE_LONG_TIMEOUT"
    CACHE_KEY_PREFIX = "PERFKIT_CACHE_KEY_PREFIX"
    CACHE_LOCK_TIMEOUT = "PERFKIT_CACHE_LOCK_TIMEOUT"
    CACHE_BREAKER_FAILURES = "PERFKIT_CACHE_BREAKER_FAILURES"
    CACHE_BREAKER_SECONDS = "PERFKIT_CACHE_BREAKER_SECONDS"
    CACHE_SOCKET_TIMEOUT = "PERFKIT_CACHE_SOCKET_TIMEOUT"
    PAGE_SIZE = "PERFKIT_PAGE_SIZE"
    MAX_PAGE_SIZE = "PERFKIT_MAX_PAGE_SIZE"
    MAX_OFFSET = "PERFKIT_MAX_OFFSET"
    MAX_PAGE_PLANS = "PERFKIT_MAX_PAGE_PLANS"
    HEALTH_URL_PREFIX = "PERFKIT_HEALTH_URL_PREFIX"
    HEALTH_TIMEOUT = "PERFKIT_HEALTH_TIMEOUT"
    HEALTH_CHECK_TTL = "PERFKIT_HEALTH_CHECK_TTL"
    HEALTH_CHECKS = "PERFKIT_HEALTH_CHECKS"
    HEALTH_SHOW_DETAILS = "PERFKIT_HEALTH_SHOW_DETAILS"
    ADMIN_TOKEN = "PERFKIT_ADMIN_TOKEN"
    DB_CONNECT_TIMEOUT = "PERFKIT_DB_CONNECT_TIMEOUT"
    DB_STATEMENT_TIMEOUT = "PERFKIT_DB_STATEMENT_TIMEOUT"
    DB_BREAKER_FAILURES = "PERFKIT_DB_BREAKER_FAILURES"
    DB_BREAKER_SECONDS = "PERFKIT_DB_BREAKER_SECONDS"


class BudgetAction(enum.StrEnum):
    """What :meth:`.PerfKit.query_budget` does when a block runs too many statements."""

    RAISE = "raise"
    LOG = "log"


class ShowDetails(enum.StrEnum):
    """Who sees the details of health responses (``PERFKIT_HEALTH_SHOW_DETAILS``)."""

    ALWAYS = "always"
    WHEN_AUTHORIZED = "when_authorized"
    NEVER = "never"


#: Every key and its default, applied with ``app.config.setdefault``.
DEFAULTS: Mapping[str, t.Any] = {
    ConfigKey.ENABLED: True,
    ConfigKey.POOL_SIZE: 20,
    ConfigKey.POOL_MAX_OVERFLOW: 40,
    ConfigKey.POOL_RECYCLE: 3600,
    ConfigKey.POOL_PRE_PING: True,
    ConfigKey.POOL_TIMEOUT: 30,
    ConfigKey.POOL_OPTIONS: {},
    ConfigKey.SLOW_QUERY_MS: 100,
    ConfigKey.VERY_SLOW_QUERY_MS: 500,
    ConfigKey.SLOW_QUERY_BUFFER: 100,
    ConfigKey.MAX_PATTERNS: 1000,
    ConfigKey.NORMALIZE_CACHE_SIZE: 4096,
    ConfigKey.MAX_N_PLUS_ONE_SUSPECTS: 200,
    ConfigKey.N_PLUS_ONE_THRESHOLD: 5,
    ConfigKey.QUERY_BUDGET_ACTION: BudgetAction.RAISE.value,
    ConfigKey.CACHE_SHORT_TIMEOUT: 300,
    ConfigKey.CACHE_MEDIUM_TIMEOUT: 600,
    ConfigKey.CACHE_LONG_TIMEOUT: 3600,
    ConfigKey.CACHE_KEY_PREFIX: "perfkit:",
    ConfigKey.CACHE_LOCK_TIMEOUT: 10.0,
    ConfigKey.CACHE_BREAKER_FAILURES: 3,
    ConfigKey.CACHE_BREAKER_SECONDS: 5.0,
    ConfigKey.CACHE_SOCKET_TIMEOUT: 0.25,
    ConfigKey.PAGE_SIZE: 20,
    ConfigKey.MAX_PAGE_SIZE: 100,
    ConfigKey.MAX_OFFSET: 10000,
    ConfigKey.MAX_PAGE_PLANS: 256,
    ConfigKey.HEALTH_URL_PREFIX: "/health",
    ConfigKey.HEALTH_TIMEOUT: 0.8,
    ConfigKey.HEALTH_CHECK_TTL: 1.0,
    ConfigKey.HEALTH_CHECKS: {},
    ConfigKey.HEALTH_SHOW_DETAILS: ShowDetails.WHEN_AUTHORIZED.value,
    ConfigKey.ADMIN_TOKEN: None,
    ConfigKey.DB_CONNECT_TIMEOUT: 5.0,
    ConfigKey.DB_STATEMENT_TIMEOUT: None,
    ConfigKey.DB_BREAKER_FAILURES: 5,
    ConfigKey.DB_BREAKER_SECONDS: 5.0,
}


@dataclasses.dataclass(frozen=True)
class CheckOverride:
    """What ``PERFKIT_HEALTH_CHECKS`` changes about one health check; ``None`` keeps it."""

    critical: bool | None = None
    timeout: float | None = None
    readiness: bool | None = None


@dataclasses.dataclass(frozen=True)
class PerfKitConfig:
    """The validated configuration of one app, resolved once in :meth:`.PerfKit.init_app`.

    Durations are float seconds here, whatever unit their key uses.
    """

    enabled: bool
    pool_size: int
    pool_max_overflow: int
    pool_recycle: int
    pool_pre_ping: bool
    pool_timeout: float
    pool_options: Mapping[str, t.Any]
    slow_query: float
    very_slow_query: float
    slow_query_buffer: int
    max_patterns: int
    normalize_cache_size: int
    max_n_plus_one_suspects: int
    n_plus_one_threshold: int
    query_budget_action: BudgetAction
    cache_short_timeout: int
    cache_medium_timeout: int
    cache_long_timeout: int
    cache_key_prefix: str
    cache_lock_timeout: float
    cache_breaker_failures: int
    cache_breaker_seconds: float
    cache_socket_timeout: float
    page_size: int
    max_page_size: int
    max_offset: int
    max_page_plans: int
    health_url_prefix: str | None
    health_timeout: float
    health_check_ttl: float
    health_checks: Mapping[str, CheckOverride]
    health_show_details: ShowDetails
    admin_token: str | None
    #: Seconds to open a database connection, or ``None`` to keep the driver's default.
    db_connect_timeout: float | None = None
    #: Seconds a statement may run, or ``None`` for no limit.
    db_statement_timeout: float | None = None
    #: Consecutive connection-level failures that open an engine's breaker; 0 turns it off.
    db_breaker_failures: int = 5
    #: Seconds the breaker stays open before one trial connection.
    db_breaker_seconds: float = 5.0

    def engine_options(self) -> dict[str, t.Any]:
        """The ``create_engine`` keyword arguments PerfKit wants for every engine.

        The named pool keys come first and ``PERFKIT_POOL_OPTIONS`` is laid over them.
        """
        return {
            "pool_size": self.pool_size,
            "max_overflow": self.pool_max_overflow,
            "pool_recycle": self.pool_recycle,
            "pool_pre_ping": self.pool_pre_ping,
            "pool_timeout": self.pool_timeout,
            **self.pool_options,
        }


def apply_defaults(config: t.MutableMapping[str, t.Any]) -> None:
    """Write every missing key's default into ``config``, so effective values are visible."""
    for key, value in DEFAULTS.items():
        config.setdefault(key, dict(value) if isinstance(value, dict) else value)


def _int(config: Mapping[str, t.Any], key: str, minimum: int, what: str) -> int:
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{key} must be a whole number {what}, got {value!r}.")
    return value


def _seconds(config: Mapping[str, t.Any], key: str, *, allow_zero: bool = False) -> float:
    value = config[key]
    ok = (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and math.isfinite(value)
        and (value > 0 or (allow_zero and value == 0))
    )
    if not ok:
        need = "0 or more" if allow_zero else "more than 0"
        raise ConfigError(f"{key} must be a number of seconds, {need}, got {value!r}.")
    return float(value)


def _number(config: Mapping[str, t.Any], key: str) -> float:
    value = config[key]
    ok = (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and math.isfinite(value)
        and value >= 0
    )
    if not ok:
        raise ConfigError(f"{key} must be a number of milliseconds, 0 or more, got {value!r}.")
    return float(value)


def _optional_seconds(config: Mapping[str, t.Any], key: str) -> float | None:
    value = config[key]
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise ConfigError(f"{key} must be a number of seconds more than 0, or None, got {value!r}.")
    return float(value)


def _bool(config: Mapping[str, t.Any], key: str) -> bool:
    value = config[key]
    if not isinstance(value, bool):
        raise ConfigError(f"{key} must be True or False, got {value!r}.")
    return value


def _check_overrides(config: Mapping[str, t.Any]) -> dict[str, CheckOverride]:
    key = ConfigKey.HEALTH_CHECKS
    value = config[key]
    example = '{"cache": {"critical": True, "timeout": 0.3}}'
    if not isinstance(value, Mapping):
        raise ConfigError(f"{key} must be a dict of check names to settings, such as {example}.")
    overrides = {}
    for name, settings in value.items():
        if not isinstance(name, str) or not isinstance(settings, Mapping):
            raise ConfigError(
                f"{key} must be a dict of check names to settings, such as {example};"
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
        if timeout is not None and (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not 0 < timeout < math.inf
        ):
            raise ConfigError(
                f"{key}[{name!r}]['timeout'] must be a positive number of seconds, got {timeout!r}."
            )
        overrides[name] = CheckOverride(
            critical=settings.get("critical"),
            timeout=None if timeout is None else float(timeout),
            readiness=settings.get("readiness"),
        )
    return overrides


def resolve(config: Mapping[str, t.Any]) -> PerfKitConfig:
    """Validate the ``PERFKIT_*`` keys of ``config`` and freeze them.

    :param config: The app's config, with defaults already applied.
    :raises ConfigError: A value is of the wrong type or out of range. The message names the
        key, shows the value and says what is allowed.
    """
    pool_options = config[ConfigKey.POOL_OPTIONS]
    if not isinstance(pool_options, Mapping) or not all(isinstance(k, str) for k in pool_options):
        raise ConfigError(
            f"{ConfigKey.POOL_OPTIONS} must be a dict of create_engine() keyword arguments,"
            f" got {pool_options!r}."
        )
    if pool_options:
        _check_engine_arguments(config, pool_options)
        _check_engine_values(pool_options)

    prefix = config[ConfigKey.HEALTH_URL_PREFIX]
    if prefix is not None and (not isinstance(prefix, str) or not prefix.startswith("/")):
        raise ConfigError(
            f"{ConfigKey.HEALTH_URL_PREFIX} must be a path starting with '/', or None to not"
            f" mount the health blueprint, got {prefix!r}."
        )

    show = config[ConfigKey.HEALTH_SHOW_DETAILS]
    try:
        show_details = ShowDetails(show)
    except ValueError:
        allowed = ", ".join(repr(s.value) for s in ShowDetails)
        raise ConfigError(
            f"{ConfigKey.HEALTH_SHOW_DETAILS} must be one of {allowed}, got {show!r}."
        ) from None

    token = config[ConfigKey.ADMIN_TOKEN]
    if token is not None and (not isinstance(token, str) or not token.strip()):
        raise ConfigError(
            f"{ConfigKey.ADMIN_TOKEN} must be a non-empty string, or None to leave admin"
            f" endpoints disabled, got {type(token).__name__}."
        )

    slow_ms = _number(config, ConfigKey.SLOW_QUERY_MS)
    very_slow_ms = _number(config, ConfigKey.VERY_SLOW_QUERY_MS)
    if very_slow_ms < slow_ms:
        raise ConfigError(
            f"{ConfigKey.VERY_SLOW_QUERY_MS} must be at least {ConfigKey.SLOW_QUERY_MS}"
            f" ({slow_ms!r}), got {very_slow_ms!r}."
        )
    action = config[ConfigKey.QUERY_BUDGET_ACTION]
    try:
        budget_action = BudgetAction(action)
    except ValueError:
        raise ConfigError(
            f"{ConfigKey.QUERY_BUDGET_ACTION} must be 'raise' or 'log', got {action!r}."
        ) from None

    key_prefix = config[ConfigKey.CACHE_KEY_PREFIX]
    if not isinstance(key_prefix, str) or not key_prefix or any(c in key_prefix for c in "*?[]"):
        raise ConfigError(
            f"{ConfigKey.CACHE_KEY_PREFIX} must be a non-empty string without * ? [ ], so"
            f" clearing the cache can never match keys that are not PerfKit's, got {key_prefix!r}."
        )

    max_page_size = _int(config, ConfigKey.MAX_PAGE_SIZE, 1, "of 1 or more")
    page_size = _int(config, ConfigKey.PAGE_SIZE, 1, "of 1 or more")
    if page_size > max_page_size:
        raise ConfigError(_page_size_conflict(config, page_size, max_page_size))

    health_timeout = _seconds(config, ConfigKey.HEALTH_TIMEOUT)
    if health_timeout > 60:
        raise ConfigError(
            f"{ConfigKey.HEALTH_TIMEOUT} must be at most 60 seconds, got {health_timeout!r}."
        )

    return PerfKitConfig(
        enabled=_bool(config, ConfigKey.ENABLED),
        pool_size=_int(config, ConfigKey.POOL_SIZE, 0, "of 0 or more (0 means no limit)"),
        pool_max_overflow=_int(
            config, ConfigKey.POOL_MAX_OVERFLOW, -1, "of 0 or more (-1 means no limit)"
        ),
        pool_recycle=_int(config, ConfigKey.POOL_RECYCLE, -1, "of seconds (-1 means never)"),
        pool_pre_ping=_bool(config, ConfigKey.POOL_PRE_PING),
        pool_timeout=_seconds(config, ConfigKey.POOL_TIMEOUT),
        pool_options=dict(pool_options),
        slow_query=slow_ms / 1000,
        very_slow_query=very_slow_ms / 1000,
        slow_query_buffer=_int(config, ConfigKey.SLOW_QUERY_BUFFER, 1, "of 1 or more"),
        max_patterns=_int(config, ConfigKey.MAX_PATTERNS, 1, "of 1 or more"),
        normalize_cache_size=_int(config, ConfigKey.NORMALIZE_CACHE_SIZE, 1, "of 1 or more"),
        max_n_plus_one_suspects=_int(config, ConfigKey.MAX_N_PLUS_ONE_SUSPECTS, 1, "of 1 or more"),
        n_plus_one_threshold=_int(config, ConfigKey.N_PLUS_ONE_THRESHOLD, 2, "of 2 or more"),
        query_budget_action=budget_action,
        cache_short_timeout=_int(config, ConfigKey.CACHE_SHORT_TIMEOUT, 1, "of seconds, 1 or more"),
        cache_medium_timeout=_int(
            config, ConfigKey.CACHE_MEDIUM_TIMEOUT, 1, "of seconds, 1 or more"
        ),
        cache_long_timeout=_int(config, ConfigKey.CACHE_LONG_TIMEOUT, 1, "of seconds, 1 or more"),
        cache_key_prefix=key_prefix,
        cache_lock_timeout=_seconds(config, ConfigKey.CACHE_LOCK_TIMEOUT),
        cache_breaker_failures=_int(config, ConfigKey.CACHE_BREAKER_FAILURES, 1, "of 1 or more"),
        cache_breaker_seconds=_seconds(config, ConfigKey.CACHE_BREAKER_SECONDS, allow_zero=True),
        cache_socket_timeout=_seconds(config, ConfigKey.CACHE_SOCKET_TIMEOUT),
        page_size=page_size,
        max_page_size=max_page_size,
        max_offset=_int(config, ConfigKey.MAX_OFFSET, 0, "of rows, 0 or more"),
        max_page_plans=_int(config, ConfigKey.MAX_PAGE_PLANS, 1, "of 1 or more"),
        health_url_prefix=prefix.rstrip("/") or "/" if prefix is not None else None,
        health_timeout=health_timeout,
        health_check_ttl=_seconds(config, ConfigKey.HEALTH_CHECK_TTL, allow_zero=True),
        health_checks=_check_overrides(config),
        health_show_details=show_details,
        admin_token=token,
        db_connect_timeout=_optional_seconds(config, ConfigKey.DB_CONNECT_TIMEOUT),
        db_statement_timeout=_optional_seconds(config, ConfigKey.DB_STATEMENT_TIMEOUT),
        db_breaker_failures=_int(
            config, ConfigKey.DB_BREAKER_FAILURES, 0, "of 0 or more (0 turns the breaker off)"
        ),
        db_breaker_seconds=_seconds(config, ConfigKey.DB_BREAKER_SECONDS),
    )


def _page_size_conflict(config: Mapping[str, t.Any], page_size: int, max_page_size: int) -> str:
    """Say which of the two page size keys to change: the one the user set."""
    both = (
        f"{ConfigKey.PAGE_SIZE} ({page_size!r}) must be at most {ConfigKey.MAX_PAGE_SIZE}"
        f" ({max_page_size!r})."
    )
    page_default = page_size == DEFAULTS[ConfigKey.PAGE_SIZE]
    max_default = max_page_size == DEFAULTS[ConfigKey.MAX_PAGE_SIZE]
    if page_default and not max_default:
        return (
            f"{both} {ConfigKey.PAGE_SIZE} is its default: raise {ConfigKey.MAX_PAGE_SIZE} to"
            f" {page_size} or more, or set {ConfigKey.PAGE_SIZE} to {max_page_size} or less."
        )
    if max_default and not page_default:
        return (
            f"{both} {ConfigKey.MAX_PAGE_SIZE} is its default: lower {ConfigKey.PAGE_SIZE} to"
            f" {max_page_size} or less, or raise {ConfigKey.MAX_PAGE_SIZE}."
        )
    return f"{both} Lower {ConfigKey.PAGE_SIZE} or raise {ConfigKey.MAX_PAGE_SIZE}."


# -- names: unknown keys and misspelled engine arguments -------------------------------------

_PREFIX = "PERFKIT_"

#: Names that look like settings but are read elsewhere, and where.
_NOT_CONFIG = {
    "PERFKIT_URL": "PERFKIT_URL is read from the environment by the flask perfkit commands,"
    " not from app.config.",
}


def nearest(name: str, known: Iterable[str], *, prefix: str = "") -> str | None:
    """The known name closest to ``name``, if one is close enough to be a misspelling.

    Case is ignored, and so is a shared ``prefix``, so that it does not make every name look
    alike.
    """

    def rest(text: str) -> str:
        text = text.upper()
        return text[len(prefix) :] if prefix and text.startswith(prefix) else text

    by_rest = {rest(k): k for k in known}
    wanted = rest(name)
    if wanted in by_rest:
        return by_rest[wanted]
    match = difflib.get_close_matches(wanted, by_rest, n=1, cutoff=0.6)
    return by_rest[match[0]] if match else None


def unknown_keys(config: Mapping[str, t.Any]) -> list[str]:
    """A sentence for each ``PERFKIT_*`` key in ``config`` that flask-perfkit does not read.

    Each names the nearest known key, when one is close. Keys are compared without regard to
    case, since ``app.config.from_mapping`` keeps lower-case keys that PerfKit never reads.
    """
    messages = []
    for key in config:
        if not isinstance(key, str) or not key.upper().startswith(_PREFIX) or key in DEFAULTS:
            continue
        if key.upper() in _NOT_CONFIG:
            messages.append(_NOT_CONFIG[key.upper()])
            continue
        guess = nearest(key, DEFAULTS, prefix=_PREFIX)
        hint = f" Did you mean {guess}?" if guess else " See the configuration docs for the keys."
        messages.append(f"{key} is not a flask-perfkit setting and is ignored.{hint}")
    return messages


@functools.cache
def _generic_engine_arguments() -> frozenset[str]:
    """``create_engine`` arguments that every dialect takes."""
    import sqlalchemy as sa
    from sqlalchemy import pool as sa_pool
    from sqlalchemy import util
    from sqlalchemy.engine import create

    names = {"module", "strategy", "empty_in_strategy", "future", "pool", "poolclass"}
    for overload in t.get_overloads(create.create_engine):
        names.update(inspect.signature(overload).parameters)
    names.update(util.get_cls_kwargs(sa.Engine))
    translate = getattr(create, "_pool_translate_kwargs", {})
    pools = (sa_pool.QueuePool, sa_pool.NullPool, sa_pool.StaticPool, sa_pool.SingletonThreadPool)
    for pool_class in pools:
        names.update(translate.get(k, k) for k in util.get_cls_kwargs(pool_class))
    names -= {"url", "kwargs", "dialect"}
    return frozenset(n for n in names if not n.startswith("_"))


def _engine_urls(config: Mapping[str, t.Any]) -> list[t.Any] | None:
    """The URLs of the app's engines, as given; None when one cannot be read."""
    urls = [config.get("SQLALCHEMY_DATABASE_URI")]
    binds = config.get("SQLALCHEMY_BINDS") or {}
    if not isinstance(binds, Mapping):
        return None
    for value in binds.values():
        urls.append(value.get("url") if isinstance(value, Mapping) else value)
    urls = [url for url in urls if url is not None]
    return urls or None


def _dialect_arguments(url: t.Any) -> set[str] | None:
    """The ``create_engine`` arguments of ``url``'s dialect and driver, or None if unknown."""
    import sqlalchemy as sa
    from sqlalchemy import util

    try:
        dialect = sa.make_url(url).get_dialect()
        names = set(util.get_cls_kwargs(dialect))
        names.update(util.get_func_kwargs(dialect.import_dbapi))
    except Exception:
        return None
    return names


def _check_engine_arguments(config: Mapping[str, t.Any], options: Mapping[str, t.Any]) -> None:
    """Fail on a ``PERFKIT_POOL_OPTIONS`` key that no engine of the app would take.

    Names every engine takes are always accepted, and dialect arguments for the dialects of
    ``SQLALCHEMY_DATABASE_URI`` and ``SQLALCHEMY_BINDS``. When those URLs are not known yet,
    only names that look like a misspelled common argument (``pool_sise``) fail.
    """
    generic = _generic_engine_arguments()
    unknown = [name for name in options if name not in generic]
    if not unknown or "plugins" in options:
        # Engine plugins may take arguments of their own.
        return
    urls = _engine_urls(config)
    dialect_names = [_dialect_arguments(url) for url in urls] if urls else []
    readable = bool(dialect_names) and all(names is not None for names in dialect_names)
    for name in unknown:
        if readable and all(name in names for names in dialect_names if names is not None):
            continue
        guess = nearest(name, generic)
        if not readable and guess is None and not name.startswith("pool_"):
            continue
        hint = f" Did you mean {guess!r}?" if guess else ""
        if readable:
            dialects = sorted({_drivername(url) for url in urls or ()})
            where = f"create_engine() argument for {', '.join(dialects)}"
        else:
            where = "create_engine() argument"
        raise ConfigError(f"{ConfigKey.POOL_OPTIONS} has {name!r}, which is not a {where}.{hint}")


def _drivername(url: t.Any) -> str:
    """The ``dialect+driver`` part of a URL, never its host, user or password."""
    import sqlalchemy as sa

    try:
        return str(sa.make_url(url).drivername)
    except Exception:
        return "this database"


def _check_engine_values(options: Mapping[str, t.Any]) -> None:
    """Fail on a ``PERFKIT_POOL_OPTIONS`` value of a pool argument that the engine or its
    pool would reject only later, at ``create_engine()`` or at the first checkout.

    Values of ``connect_args`` are never shown: they may hold a password.
    """
    from sqlalchemy import pool as sa_pool

    for name, value in options.items():
        key = f"{ConfigKey.POOL_OPTIONS}[{name!r}]"
        if name == "pool_size":
            _int({key: value}, key, 0, "of 0 or more (0 means no limit)")
        elif name == "max_overflow":
            _int({key: value}, key, -1, "of -1 or more (-1 means no limit)")
        elif name == "pool_recycle":
            if value != -1 and not (
                not isinstance(value, bool)
                and isinstance(value, int | float)
                and 0 <= value < math.inf
            ):
                raise ConfigError(
                    f"{key} must be a number of seconds, 0 or more, or -1 for never, got {value!r}."
                )
        elif name == "pool_timeout":
            _seconds({key: value}, key, allow_zero=True)
        elif name in ("pool_pre_ping", "pool_use_lifo"):
            _bool({key: value}, key)
        elif name == "connect_args" and not isinstance(value, Mapping):
            raise ConfigError(
                f"{key} must be a dict of keyword arguments for the driver's connect(),"
                f" got {type(value).__name__}."
            )
        elif name == "poolclass" and not (
            isinstance(value, type) and issubclass(value, sa_pool.Pool)
        ):
            raise ConfigError(
                f"{key} must be a pool class such as sqlalchemy.pool.NullPool, got {value!r}."
            )
