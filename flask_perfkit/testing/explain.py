"""``--perfkit-explain``: sequential scans of large tables, from PostgreSQL's plans.

Each SELECT pattern is explained once per run, the first time it runs on PostgreSQL through
psycopg or psycopg2, on the same connection and inside the same transaction as the
statement, with the same parameters, so the plan sees the test's own rows. ``EXPLAIN``
plans the statement without running it; ``ANALYZE`` is never used. Inside a transaction it
runs under a savepoint that is released, or rolled back to on error, so the test's
transaction is left as it was.

Only a statement that is one plain ``SELECT``, ``WITH``, ``INSERT``, ``UPDATE`` or ``DELETE``
is explained (see :func:`explainable`): a string of several statements would have the ones
after the first run again, so anything holding a ``;`` other than a final one is skipped, as
is anything else (DDL, ``CALL``, ``DO``, ``COPY``, ``SET``...), which is never sent.
"""

from __future__ import annotations

import dataclasses
import re
import threading
import typing as t

import sqlalchemy as sa

from ..normalize import Pattern
from ..normalize import normalize

DRIVERS = frozenset({"psycopg", "psycopg2"})
#: Schemas of the server's own catalogs, read by reflection: never reported.
SYSTEM = frozenset({"pg_catalog", "information_schema"})
_SAVEPOINT = "perfkit_explain"
#: The statements ``EXPLAIN`` is given, by first keyword.
EXPLAINABLE = frozenset({"SELECT", "WITH", "INSERT", "UPDATE", "DELETE"})
#: Whitespace, comments and opening parentheses before a statement's first keyword.
_LEADING = re.compile(r"(?:\s+|--[^\n]*|/\*(?:[^*/]|\*(?!/)|/(?!\*))*\*/|\()*")
_KEYWORD = re.compile(r"[A-Za-z]+")


def explainable(statement: str) -> bool:
    """Whether ``statement`` is one statement that ``EXPLAIN`` plans without running any:
    a ``SELECT``, ``WITH``, ``INSERT``, ``UPDATE`` or ``DELETE``, with no ``;`` but a final
    one (even one inside a literal or a comment: such a statement is skipped, not parsed)."""
    body = statement.rstrip()
    if body.endswith(";"):
        body = body[:-1]
    if ";" in body or "\x00" in body:
        return False
    start = _LEADING.match(body)
    keyword = _KEYWORD.match(body, start.end() if start else 0)
    return keyword is not None and keyword.group().upper() in EXPLAINABLE


@dataclasses.dataclass(frozen=True)
class SeqScan:
    """A sequential scan with a filter, on a table holding more than the least rows.

    :param table: The table, with its schema.
    :param filter: The scan's filter, normalized: no literal and no bound value.
    :param query: The normalized statement.
    :param rows: The least rows the table holds (counted up to one past the threshold).
    """

    table: str
    filter: str
    query: str
    rows: int

    def __str__(self) -> str:
        return (
            f"Sequential scan on {self.table} (more than {self.rows - 1} rows) with the filter"
            f" {self.filter}, for: {self.query}. An index on the filtered columns would serve"
            " it."
        )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def seq_scans(plan: t.Any) -> t.Iterator[tuple[str, str, str]]:
    """``(schema, table, filter)`` of every sequential scan with a filter in a JSON plan."""
    stack = [node["Plan"] for node in plan] if isinstance(plan, list) else [plan]
    while stack:
        node = stack.pop()
        schema = node.get("Schema", "public")
        if node.get("Node Type") == "Seq Scan" and node.get("Filter") and schema not in SYSTEM:
            yield schema, node["Relation Name"], node["Filter"]
        stack.extend(node.get("Plans", ()))


class Explainer:
    """Explains each new SELECT pattern on PostgreSQL once, and keeps what it found.

    :param min_rows: Tables with at most this many rows are not reported.
    """

    def __init__(self, min_rows: int) -> None:
        self.min_rows = min_rows
        self.seen: set[str] = set()
        self.found: list[SeqScan] = []
        self.lock = threading.Lock()

    def __call__(
        self,
        conn: sa.Connection,
        cursor: t.Any,
        statement: str,
        parameters: t.Any,
        pattern: Pattern,
    ) -> None:
        """Explain ``statement`` if its pattern is new; an inspector of the hub."""
        if conn.dialect.name != "postgresql" or conn.dialect.driver not in DRIVERS:
            return
        if not explainable(statement):
            return
        with self.lock:
            if pattern.query_id in self.seen:
                return
            self.seen.add(pattern.query_id)
        dbapi = cursor.connection
        savepoint = not getattr(dbapi, "autocommit", False)
        explain = dbapi.cursor()
        try:
            if savepoint:
                explain.execute(f"SAVEPOINT {_SAVEPOINT}")
            try:
                self._explain(explain, statement, parameters, pattern)
            except Exception:
                if savepoint:
                    explain.execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
            if savepoint:
                explain.execute(f"RELEASE SAVEPOINT {_SAVEPOINT}")
        finally:
            explain.close()

    def _explain(self, cursor: t.Any, statement: str, parameters: t.Any, pattern: Pattern) -> None:
        cursor.execute("EXPLAIN (VERBOSE, FORMAT JSON) " + statement, parameters)
        plan = cursor.fetchone()[0]
        for schema, table, condition in seq_scans(plan):
            name = f"{_quote(schema)}.{_quote(table)}"
            limit = self.min_rows + 1
            cursor.execute(f"SELECT count(*) FROM (SELECT 1 FROM {name} LIMIT {limit}) AS counted")
            rows = int(cursor.fetchone()[0])
            if rows > self.min_rows:
                shown = normalize(condition, "postgresql")
                self.found.append(SeqScan(f"{schema}.{table}", shown, pattern.text, rows))

    def take(self) -> list[SeqScan]:
        """What was found since the last call."""
        with self.lock:
            found, self.found = self.found, []
        return found
