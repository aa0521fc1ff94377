"""Decorated functions used by the cache tests, importable by a second process."""

from __future__ import annotations

import threading
import time
import typing as t

from flask_perfkit import cache_long
from flask_perfkit import cache_medium
from flask_perfkit import cache_short

calls: list[tuple[str, tuple[t.Any, ...]]] = []
_lock = threading.Lock()


def _called(name: str, *args: t.Any) -> None:
    with _lock:
        calls.append((name, args))


@cache_short
def square(a: int, b: int | None = 0) -> int:
    _called("square", a, b)
    return a * a + (b or 0)


@cache_medium(key_prefix="nothing")
def nothing(a: int) -> None:
    _called("nothing", a)
    return None


@cache_long()
def slow_double(a: int, delay: float = 0.2) -> int:
    _called("slow_double", a)
    time.sleep(delay)
    return a * 2


def count(name: str) -> int:
    with _lock:
        return sum(1 for called, _ in calls if called == name)
