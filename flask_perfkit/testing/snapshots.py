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

    The whole file is checked: a file that is not JSON, not UTF-8, or not shaped as this
    version writes it is refused, never read in part, and so never rewritten without its
    records. A byte order mark at its start is allowed.

    :raises ValueError: The file cannot be used; the message names it and what is wrong.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ValueError(f"The query-count records file {path} cannot be read: {error}") from None
    problem = _problem(data)
    if problem is not None:
        raise ValueError(
            f"The query-count records file {path} is not usable: {problem}. Fix it, or delete"
            " it and run pytest --perfkit-record to write it again."
        )
    tests: dict[str, Record] = data["tests"]
    return tests


def _whole(value: object, least: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def _problem(data: object) -> str | None:
    """What is wrong with the parsed file, or ``None``."""
    if not isinstance(data, dict) or set(data) != {"version", "tests"}:
        return 'it must be an object with the keys "version" and "tests" only'
    if data["version"] != VERSION or isinstance(data["version"], bool):
        return f'"version" is {data["version"]!r}, where this flask-perfkit reads {VERSION}'
    tests = data["tests"]
    if not isinstance(tests, dict):
        return '"tests" must be an object of records by test node id'
    for nodeid, record in tests.items():
        problem = _record_problem(record)
        if problem is not None:
            return f"the record of {nodeid!r} {problem}"
    return None


def _record_problem(record: object) -> str | None:
    if not isinstance(record, dict) or set(record) != {"count", "patterns"}:
        return 'must be an object with the keys "count" and "patterns" only'
    if not _whole(record["count"], 0):
        return f"has the count {record['count']!r}, not a whole number of 0 or more"
    patterns = record["patterns"]
    if not isinstance(patterns, dict):
        return '"patterns" must be an object of counts by statement'
    for text, count in patterns.items():
        if not _whole(count, 1):
            return f"has the count {count!r} for {text!r}, not a whole number of 1 or more"
    return None


def dump(path: pathlib.Path, records: t.Mapping[str, Record]) -> None:
    """Write ``records`` to ``path``, sorted, replacing the file in one step."""
    data = {"version": VERSION, "tests": {k: records[k] for k in sorted(records)}}
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def stale(root: pathlib.Path, records: t.Mapping[str, Record]) -> list[str]:
    """The node ids of records whose test file is no longer under ``root``."""
    return [nodeid for nodeid in records if not (root / nodeid.partition("::")[0]).is_file()]


def added(old: Record, new: t.Mapping[str, int]) -> list[tuple[str, int, int]]:
    """The patterns that ran more often than recorded: ``(pattern, recorded, now)``, the
    largest growth first."""
    before = old["patterns"]
    grown = [(text, before.get(text, 0), n) for text, n in new.items() if n > before.get(text, 0)]
    return sorted(grown, key=lambda item: (item[1] - item[2], item[0]))
