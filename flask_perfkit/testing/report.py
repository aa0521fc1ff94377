"""What the plugin says: the messages of failures and warnings, and the terminal summary."""

from __future__ import annotations

import typing as t

from .snapshots import Record
from .snapshots import added

if t.TYPE_CHECKING:
    import pytest

    from .recording import Finding

#: Lines in each list of the terminal summary.
TOP = 5
#: Characters of a pattern shown in the terminal summary.
WIDTH = 100


class Result(t.TypedDict):
    """What a watched test ran, as kept for the summary and the records file."""

    count: int
    seconds: float
    patterns: dict[str, int]
    #: Whether the test passed, and may be recorded.
    passed: bool


def n_plus_one(findings: t.Sequence[Finding]) -> str:
    """The message of N+1 findings: each pattern once, with its worst count, its request,
    the user's line and the fix."""
    worst: dict[str, Finding] = {}
    for finding in findings:
        old = worst.get(finding.suspect.query_id)
        if old is None or finding.suspect.count > old.suspect.count:
            worst[finding.suspect.query_id] = finding
    parts = []
    for finding in worst.values():
        suspect = finding.suspect
        site = f"\n  issued from {finding.site}" if finding.site else ""
        parts.append(
            f"N+1 queries: {suspect.count} executions of one SELECT in {finding.unit}"
            f"\n  {suspect.query}{site}\n  {suspect.hint}"
            f"\n  (query id {suspect.query_id}; @pytest.mark.allow_n_plus_one accepts it)"
        )
    return "\n".join(parts)


def max_queries(limit: int, count: int, bind: str | None, patterns: dict[str, int]) -> str:
    """The message of a ``max_queries`` marker that was exceeded."""
    where = "" if bind is None else f" on the bind {bind!r}"
    return f"{_ran(count)}{where} where @pytest.mark.max_queries allows {limit}:\n" + (
        _lines(sorted(patterns.items(), key=lambda item: -item[1]))
    )


def unknown_binds(unknown: t.Sequence[str], known: t.Collection[str]) -> str:
    """The message of bind names a test asked for that none of its apps has."""
    asked = ", ".join(repr(name) for name in unknown)
    names = "bind" if len(unknown) == 1 else "binds"
    seen = ", ".join(repr(name) for name in sorted(known)) or "none"
    return (
        f"No engine of the apps this test used has the {names} {asked}"
        f" (asked by perfkit_queries(bind=...) or @pytest.mark.max_queries(n, bind=...));"
        f" the binds known are: {seen}."
    )


def _ran(count: int) -> str:
    return f"{count} query ran" if count == 1 else f"{count} queries ran"


def growth(old: Record, new: Result) -> str:
    """The message of a test that ran more statements than its record."""
    lines = [
        f"  +{now - before:<3} {text}  ({before} -> {now})"
        for text, before, now in added(old, new["patterns"])
    ]
    recorded = f"{old['count']} is" if old["count"] == 1 else f"{old['count']} are"
    return (
        f"{_ran(new['count'])} where {recorded} recorded; added:\n"
        + "\n".join(lines)
        + "\n  (run with --perfkit-record to accept the new count)"
    )


def _lines(items: t.Iterable[tuple[str, int]]) -> str:
    return "\n".join(f"  {n:>4} x {text}" for text, n in list(items)[:10])


def _cut(text: str) -> str:
    return text if len(text) <= WIDTH else text[: WIDTH - 3] + "..."


def summary(
    reporter: pytest.TerminalReporter,
    results: t.Mapping[str, Result],
    shrunk: t.Sequence[tuple[str, int, int]],
    quiet: bool,
) -> None:
    """Write the plugin's section of the terminal summary."""
    if results and not quiet:
        reporter.write_sep("=", "perfkit: SQL queries")
        total = sum(r["count"] for r in results.values())
        seconds = sum(r["seconds"] for r in results.values())
        tests = "test" if len(results) == 1 else "tests"
        queries = "query" if total == 1 else "queries"
        reporter.write_line(
            f"{total} {queries} in {len(results)} watched {tests}, {seconds * 1000:.1f} ms of SQL"
        )
        ranked = sorted(results.items(), key=lambda item: (-item[1]["count"], item[0]))
        reporter.write_line("most queries:")
        for nodeid, result in ranked[:TOP]:
            reporter.write_line(f"  {result['count']:>6}  {nodeid}")
        repeated: dict[str, list[int]] = {}
        for result in results.values():
            for text, n in result["patterns"].items():
                seen = repeated.setdefault(text, [0, 0])
                seen[0] += n
                seen[1] += 1
        if repeated:
            reporter.write_line("most repeated patterns:")
            top = sorted(repeated.items(), key=lambda item: (-item[1][0], item[0]))[:TOP]
            for text, (n, in_tests) in top:
                where = "test" if in_tests == 1 else "tests"
                reporter.write_line(f"  {n:>6}  {_cut(text)}  ({in_tests} {where})")
    if shrunk:
        reporter.write_sep("=", "perfkit: fewer queries than recorded")
        for nodeid, before, now in shrunk:
            reporter.write_line(f"  {nodeid}: {before} -> {now}")
        reporter.write_line("  (run with --perfkit-record to record the new counts)")
