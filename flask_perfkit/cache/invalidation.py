"""Dropping entries by pattern: listing a backend's keys, and deleting them in batches.

Redis and Valkey are walked with ``SCAN MATCH`` on PerfKit's prefix and cleaned with
``UNLINK``; SimpleCache by its own keys. Other backends cannot list their keys.
"""

from __future__ import annotations

import typing as t

from .._compat import redis_key_prefix
from .._compat import redis_scan_client
from .._compat import simple_cache_store
from ..errors import InvalidationUnsupported
from .keys import KeyFilter
from .keys import glob_escape

#: Keys asked for per ``SCAN`` step.
SCAN_COUNT = 1000
#: Keys deleted per ``UNLINK``.
BATCH = 500


def find_keys(backend: t.Any, wanted: KeyFilter) -> list[str]:
    """The keys of ``backend`` that ``wanted`` matches, without the backend's own prefix.

    :raises InvalidationUnsupported: The backend cannot list its keys.
    """
    client = redis_scan_client(backend)
    if client is not None:
        outer = redis_key_prefix(backend)
        pattern = f"{glob_escape(outer)}{wanted.glob()}"
        found = []
        for raw in client.scan_iter(match=pattern, count=SCAN_COUNT):
            name = raw.decode() if isinstance(raw, bytes) else raw
            found.append(name[len(outer) :])
        return [key for key in found if wanted.matches(key)]
    store = simple_cache_store(backend)
    if store is not None:
        return [key for key in list(store) if isinstance(key, str) and wanted.matches(key)]
    raise InvalidationUnsupported(
        f"Invalidating by pattern needs a Redis, Valkey or SimpleCache backend, not"
        f" {type(backend).__name__}; invalidate single calls with func.invalidate(*args)."
    )


def delete_keys(backend: t.Any, keys: list[str]) -> int:
    """Delete ``keys`` from ``backend``, with ``UNLINK`` where it has it; return how many
    were there."""
    unlink = getattr(backend, "unlink", None)
    deleted = 0
    for start in range(0, len(keys), BATCH):
        batch = keys[start : start + BATCH]
        if unlink is not None:
            deleted += int(unlink(*batch) or 0)
        else:
            deleted += sum(bool(backend.delete(key)) for key in batch)
    return deleted
