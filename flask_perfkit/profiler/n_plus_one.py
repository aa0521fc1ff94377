"""N+1 detection: a SELECT pattern that one request runs again and again."""

from __future__ import annotations

import dataclasses
import heapq
import logging
import re
import typing as t

from flask import Flask

from ..normalize import Pattern
from ..signals import n_plus_one
from ._units import iso
from ._units import ms
from .patterns import PatternEntry

logger = logging.getLogger("flask_perfkit")


@dataclasses.dataclass(frozen=True)
class NPlusOneSuspect:
    """A SELECT pattern one request ran at least ``PERFKIT_N_PLUS_ONE_THRESHOLD`` times."""

    endpoint: str
    query: str
    query_id: str
    #: The most executions seen in one request.
    count: int
    #: Their total time in that request.
    total_ms: float
    #: How many requests ran it that often.
    requests: int
    first_seen: str
    last_seen: str
    hint: str


#: A comparison of a table-qualified column with a bound value, as in the WHERE clause of
#: SQLAlchemy's lazy loads: ``? = comment.post_id`` (a collection) or ``author.id = ?`` (an
#: object by primary key). A statement written by hand seldom qualifies its columns.
_COLUMN = r'(?:"[^"]+"|`[^`]+`|\w+)\.("[^"]+"|`[^`]+`|\w+)'
_BOUND = r"\?(?:::\w+)?"
_COMPARED = re.compile(rf"(?:{_BOUND}\s*=\s*{_COLUMN}|{_COLUMN}\s*=\s*{_BOUND})")


def hint(pattern: Pattern) -> str:
    """How to load what ``pattern`` loads row by row in one query instead.

    A pattern shaped as an ORM lazy load (a table-qualified key column compared with one
    bound value) gets the relationship loader that fits; any other pattern, a statement
    written by hand for one, is told to fetch its rows in one statement.
    """
    where = pattern.text.rpartition(" WHERE ")[2] if " WHERE " in pattern.text else ""
    for match in _COMPARED.finditer(where):
        column = (match.group(1) or match.group(2)).strip('"`').lower()
        if column == "id":
            return (
                "Each row loads a related object by primary key: add joinedload() or"
                " selectinload() for that relationship to the query."
            )
        if column.endswith("_id") or match.group().startswith("?"):
            return (
                "Each row loads a related collection: add selectinload() for that"
                " relationship to the query."
            )
    return (
        "The same statement runs once per row: fetch the rows in one statement instead"
        " (for example WHERE id IN (...)), or join them into the query that found the rows."
    )


class SuspectTable:
    """The N+1 suspects of one profiler, by endpoint and pattern.

    Not thread safe: the profiler calls :meth:`detect` under its lock.

    :param threshold: Executions of one SELECT pattern in one request that make a suspect.
    :param limit: The most suspects kept; past it the 5 % seen in the fewest requests go.
    """

    def __init__(self, threshold: int, limit: int) -> None:
        self.threshold = threshold
        self.limit = limit
        self.suspects: dict[tuple[str, str], NPlusOneSuspect] = {}
        #: Suspects evicted to stay within ``limit``.
        self.evictions = 0

    def detect(
        self,
        endpoint: str,
        counts: dict[str, list[float]],
        entries: t.Mapping[str, PatternEntry],
        now: float,
    ) -> list[tuple[NPlusOneSuspect, bool]]:
        """Record the suspects among one request's SELECT counts.

        :param endpoint: The request's endpoint.
        :param counts: Executions and seconds per pattern, from the request's collector.
        :param entries: The patterns still in the statistics, by query id; others are left
            out.
        :param now: The UNIX time the request ended.
        :return: Each suspect found, and whether it is new.
        """
        found = []
        for query_id, (count, seconds) in counts.items():
            entry = entries.get(query_id)
            if count < self.threshold or entry is None:
                continue
            pattern = entry.pattern
            key = (endpoint, query_id)
            old = self.suspects.get(key)
            if old is None and len(self.suspects) >= self.limit:
                self.evict()
            suspect = NPlusOneSuspect(
                endpoint=endpoint,
                query=pattern.text,
                query_id=query_id,
                count=max(int(count), old.count if old else 0),
                total_ms=ms(seconds),
                requests=(old.requests if old else 0) + 1,
                first_seen=old.first_seen if old else iso(now),
                last_seen=iso(now),
                hint=hint(pattern),
            )
            self.suspects[key] = suspect
            found.append((suspect, old is None))
        return found

    def evict(self) -> None:
        """Drop the 5 % seen in the fewest requests, the least recently seen among equals."""
        victims = heapq.nsmallest(
            max(1, len(self.suspects) // 20),
            self.suspects.items(),
            key=lambda item: (item[1].requests, item[1].last_seen),
        )
        for key, _ in victims:
            del self.suspects[key]
        self.evictions += len(victims)

    def ranked(self) -> list[NPlusOneSuspect]:
        """The suspects, most executions first."""
        return sorted(self.suspects.values(), key=lambda s: (-s.count, s.endpoint))


def announce(app: Flask | None, found: list[tuple[NPlusOneSuspect, bool]]) -> None:
    """Log each new suspect, and send :data:`~flask_perfkit.signals.n_plus_one` for each.

    :param app: The sender of the signal; none is sent once the app is gone.
    :param found: What :meth:`SuspectTable.detect` returned.
    """
    for suspect, first in found:
        if first:
            logger.warning(
                "Possible N+1 in %r: %d executions of %s. %s",
                suspect.endpoint,
                suspect.count,
                suspect.query,
                suspect.hint,
            )
        if app is not None:
            n_plus_one.send(app, suspect=suspect)
