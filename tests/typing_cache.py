"""Checked by mypy only: the tier decorators keep the decorated function's signature."""

from __future__ import annotations

import typing as t

from flask_perfkit import cache_long
from flask_perfkit import cache_medium
from flask_perfkit import cache_short
from flask_perfkit import cached


@cache_short
def bare(a: int, b: str = "x") -> list[int]:
    return [a]


@cache_medium(key_prefix="called")
def called(a: int) -> str:
    return str(a)


@cache_long()
def empty_call() -> None:
    return None


@cached("short", vary_on=lambda: 1)
def general(a: float) -> float:
    return a


def check() -> None:
    t.assert_type(bare(1), list[int])
    t.assert_type(bare(1, b="y"), list[int])
    t.assert_type(bare.uncached(2), list[int])
    t.assert_type(called(2), str)
    t.assert_type(empty_call(), None)
    t.assert_type(general(1.5), float)
    t.assert_type(bare.invalidate(1), int)
    t.assert_type(bare.make_cache_key(1), str)
    t.assert_type(bare.cache_timeout(), int)
    bare("no")  # type: ignore[arg-type]
    called()  # type: ignore[call-arg]
