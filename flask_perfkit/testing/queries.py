"""The ``perfkit_queries`` recorder: the statements of a block, and assertions on them."""

from __future__ import annotations

import dataclasses
import types
import typing as t

from ..normalize import Pattern
from .errors import QueryCountError
from .hub import HUB

#: Patterns listed in a message, the most executed first.
LISTED = 10


@dataclasses.dataclass(frozen=True)
class QueryPattern:
    """One normalized statement a block ran, as production's profiler names it.

    :param query_id: The pattern's stable id, the ``query_id`` of ``/health/profiling``.
    :param query: The normalized statement: no literal and no bound value.
    :param count: How many times it ran.
    :param total_ms: Their total time, in milliseconds.
    """

    query_id: str
    query: str
    count: int
    total_ms: float


def listing(patterns: t.Iterable[QueryPattern]) -> str:
    """The patterns as lines of a message, ``count x query``, the first :data:`LISTED`."""
    lines = [f"  {p.count:>4} x {p.query}" for p in list(patterns)[:LISTED]]
    return "\n".join(lines)


class RecordedQueries:
    """The statements run inside a ``with perfkit_queries() as q:`` block.

    Its numbers grow while the block runs and stay as they are once it ends; ``count`` is
    the number of statements.

    :param bind: Only statements of this bind are counted (``"default"`` for
        Flask-SQLAlchemy's default bind); ``None`` counts every engine.
    """

    def __init__(self, bind: str | None = None) -> None:
        self.bind = bind
        #: How many statements ran.
        self.count = 0
        self._seconds = 0.0
        self._counts: dict[str, list[float]] = {}
        self._patterns: dict[str, Pattern] = {}
        self._recording = False

    def add(self, pattern: Pattern, seconds: float, bind: str | None) -> None:
        """Count one statement; see :class:`~flask_perfkit.testing.hub.Sink`.

        :meta private:
        """
        if self.bind is not None and bind != self.bind:
            return
        self.count += 1
        self._seconds += seconds
        seen = self._counts.get(pattern.query_id)
        if seen is None:
            seen = self._counts[pattern.query_id] = [0, 0.0]
            self._patterns[pattern.query_id] = pattern
        seen[0] += 1
        seen[1] += seconds

    @property
    def total_ms(self) -> float:
        """The time the statements took, in milliseconds."""
        return round(self._seconds * 1000, 3)

    @property
    def patterns(self) -> list[QueryPattern]:
        """Each pattern that ran, the most executed first (in order of first run among
        equals), with the same ``query_id`` as production's profiler gives it."""
        found = [
            QueryPattern(query_id, self._patterns[query_id].text, int(n), round(s * 1000, 3))
            for query_id, (n, s) in self._counts.items()
        ]
        return sorted(found, key=lambda p: -p.count)

    def assert_count(self, expected: int) -> None:
        """Fail unless exactly ``expected`` statements ran.

        :raises QueryCountError: Another number ran; the message lists the patterns.
        """
        _check_number("assert_count", expected)
        if self.count != expected:
            self._fail(f"Expected {expected} {_queries(expected)}")

    def assert_max(self, limit: int) -> None:
        """Fail if more than ``limit`` statements ran.

        :raises QueryCountError: More ran; the message lists the patterns.
        """
        _check_number("assert_max", limit)
        if self.count > limit:
            self._fail(f"Expected at most {limit} {_queries(limit)}")

    def _fail(self, expected: str) -> t.NoReturn:
        where = "" if self.bind is None else f" on the bind {self.bind!r}"
        message = f"{expected}{where}, but {self.count} ran:\n{listing(self.patterns)}"
        raise QueryCountError(message, self.count)

    def __enter__(self) -> RecordedQueries:
        if self._recording:
            raise RuntimeError(
                "This recorder is recording already: a block inside it needs a recorder of"
                " its own, perfkit_queries()."
            )
        self._recording = True
        HUB.add(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        self._recording = False
        HUB.remove(self)

    def __repr__(self) -> str:
        return f"<RecordedQueries count={self.count} patterns={len(self._counts)}>"


def _queries(n: int) -> str:
    return "query" if n == 1 else "queries"


def _check_number(method: str, n: object) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise TypeError(f"{method}() takes a whole number of statements of 0 or more, not {n!r}.")


class QueryRecorder:
    """What the ``perfkit_queries`` fixture gives: call it to record a block.

    .. code-block:: python

        def test_posts(client, perfkit_queries):
            with perfkit_queries() as q:
                client.get("/posts")
            q.assert_max(3)
    """

    def __init__(self) -> None:
        #: The bind names asked for, checked when the test ends.
        self.binds: set[str] = set()

    def __call__(self, bind: str | None = None) -> RecordedQueries:
        """A recorder of the statements run inside a ``with`` block.

        :param bind: Count only the statements of this bind (``"default"`` for
            Flask-SQLAlchemy's default bind); by default every engine's. A name that no
            app of the test has fails the test when it ends.
        """
        if bind is not None:
            self.binds.add(bind)
        return RecordedQueries(bind)


# Documented and shown as names of the package, where they are imported from.
for _public in (QueryPattern, QueryRecorder, RecordedQueries):
    _public.__module__ = "flask_perfkit.testing"
