"""How the tiers' keys are laid out: ``<prefix><tier>:<name>:<digest>``.

``prefix`` is ``PERFKIT_CACHE_KEY_PREFIX``; ``name`` is a decorator's ``key_prefix`` or the
function's ``module.qualname``; ``digest`` hashes the call's arguments
(:class:`~flask_perfkit.cache_keys.ArgumentKey`) and, for a view, its URL.
"""

from __future__ import annotations

import dataclasses
import re
import typing as t

from flask import request

from .tiers import Tier

_GLOB_SPECIAL = re.compile(r"[\\*?\[\]]")


def glob_escape(text: str) -> str:
    """``text`` with Redis ``MATCH`` pattern characters escaped, to match it literally."""
    return _GLOB_SPECIAL.sub(r"\\\g<0>", text)


def tier_heads(prefix: str) -> dict[Tier, str]:
    """The start of each tier's keys: ``<prefix><tier>:``.

    :param prefix: ``PERFKIT_CACHE_KEY_PREFIX``.
    """
    return {tier: f"{prefix}{tier.value}:" for tier in Tier}


def probe_key(prefix: str) -> str:
    """The key the health check reads."""
    return f"{prefix}health-probe"


@dataclasses.dataclass(frozen=True)
class KeyFilter:
    """Which of PerfKit's keys to drop.

    :param prefix: ``PERFKIT_CACHE_KEY_PREFIX``; keys without it are never matched.
    :param tier: Only this tier's keys; every tier's with ``None``.
    :param name: Only keys whose name starts with it; any name with ``None``.
    :param whole_name: ``name`` is the whole name of a function's keys, not its start.
    """

    prefix: str
    tier: Tier | None = None
    name: str | None = None
    whole_name: bool = False

    def glob(self) -> str:
        """A Redis ``MATCH`` pattern of every key that :meth:`matches`, and maybe more."""
        tier_part = self.tier.value if self.tier else "*"
        name_part = "*"
        if self.name is not None:
            name_part = f"{glob_escape(self.name)}{':' if self.whole_name else ''}*"
        return f"{glob_escape(self.prefix)}{tier_part}:{name_part}"

    def matches(self, key: str) -> bool:
        """Whether ``key`` is one to drop."""
        if not key.startswith(self.prefix):
            return False
        tier, _, rest = key[len(self.prefix) :].partition(":")
        if self.tier and tier != self.tier.value:
            return False
        if self.name is None:
            return True
        return rest.startswith(f"{self.name}:" if self.whole_name else self.name)


def view_part() -> list[t.Any]:
    """What a view's key holds of the current request, besides the view's arguments.

    The whole URL, as a shared cache keys on it: another host or scheme (a tenant's
    subdomain, a forged Host header) is another page. Arguments are sorted by name only, so
    the values of a repeated argument keep their order, as ``getlist`` gives them.
    """
    args = sorted(request.args.items(multi=True), key=_argument_name)
    return [request.scheme, request.host, request.script_root, request.path, args]


def _argument_name(item: tuple[str, str]) -> str:
    return item[0]
