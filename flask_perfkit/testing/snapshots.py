"""The query-count records of ``--perfkit-record``: ``.perfkit-queries.json`` at the rootdir.

The file maps each test's node id to its statement count and its count per normalized
statement. It holds no time, no literal and no bound value, and its keys are sorted, so it is
the same on every run and machine where the tests run the same statements, and a change
shows as a small diff.
"""

from __future__ import annotations

import json
import os
import pathlib
import typing as t

FILENAME = ".perfkit-queries.json"
VERSION = 1


class Record(t.TypedDict):
    """One test's record."""

    count: int
    patterns: dict[str, int]


def load(path: pathlib.Path) -> dict[str, Record]:
    """The records in ``path``, or none when there is no such file.

    :raises ValueError: The file is not a records file of this version.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    data = json.loads(text)
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise ValueError(f"{path} is not a query-count records file of version {VERSION}.")
    tests: dict[str, Record] = data["tests"]
    return tests


def dump(path: pathlib.Path, records: t.Mapping[str, Record]) -> None:
    """Write ``records`` to ``path``, sorted, replacing the file in one step."""
    data = {"version": VERSION, "tests": {k: records[k] for k in sorted(records)}}
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def added(old: Record, new: t.Mapping[str, int]) -> list[tuple[str, int, int]]:
    """The patterns that ran more often than recorded: ``(pattern, recorded, now)``, the
    largest growth first."""
    before = old["patterns"]
    grown = [(text, before.get(text, 0), n) for text, n in new.items() if n > before.get(text, 0)]
    return sorted(grown, key=lambda item: (item[1] - item[2], item[0]))
