"""The listeners the pytest plugin puts on every SQLAlchemy engine while it records.

While at least one sink records (a watched test, a ``perfkit_queries`` block), a
``before_cursor_execute`` and ``after_cursor_execute`` pair listens on the
:class:`sqlalchemy.engine.Engine` class, so every engine of the process is seen, those
PerfKit watches and those of an app that never registered PerfKit, whenever they were made.
Each statement is normalized once, with the production normalizer, and handed to every sink.
When the last sink stops, the listeners are removed.
"""

from __future__ import annotations

import threading
import typing as t
import weakref

import sqlalchemy as sa
from flask import current_app
from flask import has_app_context
from sqlalchemy import event

from .._compat import mark_statement_start
from .._compat import statement_duration
from ..normalize import Pattern
from ..normalize import PatternCache
from ..normalize import dialect_of

if t.TYPE_CHECKING:
    from flask_sqlalchemy import SQLAlchemy

#: Normalizes every statement the sinks see; the same patterns and query ids as production.
PATTERNS = PatternCache(4096)


class Sink(t.Protocol):
    """Something that records statements."""

    def add(self, pattern: Pattern, seconds: float, bind: str | None) -> None:
        """Record one statement of ``pattern`` that took ``seconds`` on the bind ``bind``."""


#: Called with the connection, cursor, statement, parameters and pattern of each SELECT,
#: while the statement's results are still on the cursor; set by ``--perfkit-explain``.
Inspector = t.Callable[[sa.Connection, t.Any, str, t.Any, Pattern], None]


class _Hub:
    """The sinks recording now, and the engines' bind names."""

    def __init__(self) -> None:
        self.sinks: tuple[Sink, ...] = ()
        self.inspector: Inspector | None = None
        self.lock = threading.Lock()
        #: Bind names found so far, by engine.
        self.binds: weakref.WeakKeyDictionary[sa.Engine, str] = weakref.WeakKeyDictionary()
        #: Engines PerfKit watches, with a function that names their bind.
        self.namers: weakref.WeakKeyDictionary[sa.Engine, t.Callable[[], str | None]] = (
            weakref.WeakKeyDictionary()
        )

    def add(self, sink: Sink) -> None:
        """Hand every statement to ``sink`` from now on."""
        with self.lock:
            if not self.sinks:
                event.listen(sa.Engine, "before_cursor_execute", mark_statement_start)
                event.listen(sa.Engine, "after_cursor_execute", self.after_cursor_execute)
            self.sinks = (*self.sinks, sink)

    def remove(self, sink: Sink) -> None:
        """Stop handing statements to ``sink``; the last one removes the listeners."""
        with self.lock:
            if sink not in self.sinks:
                return
            self.sinks = tuple(s for s in self.sinks if s is not sink)
            if not self.sinks:
                event.remove(sa.Engine, "before_cursor_execute", mark_statement_start)
                event.remove(sa.Engine, "after_cursor_execute", self.after_cursor_execute)

    def after_cursor_execute(
        self,
        conn: sa.Connection,
        cursor: t.Any,
        statement: str,
        parameters: t.Any,
        context: t.Any,
        executemany: bool,
    ) -> None:
        """Hand the statement to every sink; the ``after_cursor_execute`` listener."""
        seconds = statement_duration(context)
        sinks = self.sinks
        if seconds is None or not sinks:
            return
        engine = conn.engine
        pattern = PATTERNS.get(statement, dialect_of(engine.dialect.name))
        bind = self.bind_of(engine)
        for sink in sinks:
            sink.add(pattern, seconds, bind)
        inspector = self.inspector
        if inspector is not None and pattern.is_select and not executemany:
            inspector(conn, cursor, statement, parameters, pattern)

    def bind_of(self, engine: sa.Engine) -> str | None:
        """The bind name of ``engine``: PerfKit's name for it, else its Flask-SQLAlchemy bind
        key in the current app (``"default"`` for the default bind), else ``None``."""
        found = self.binds.get(engine)
        if found is not None:
            return found
        namer = self.namers.get(engine)
        if namer is not None:
            found = namer()
        if found is None and has_app_context():
            db: SQLAlchemy | None = current_app.extensions.get("sqlalchemy")
            if db is not None:
                found = next((k or "default" for k, e in db.engines.items() if e is engine), None)
        if found is not None:
            self.binds[engine] = found
        return found

    def name_engine(self, engine: sa.Engine, namer: t.Callable[[], str | None]) -> None:
        """Name the bind of ``engine`` with ``namer``, called when its first statement runs."""
        self.namers[engine] = namer
        self.binds.pop(engine, None)

    def forget_engine(self, engine: sa.Engine) -> None:
        """Forget the bind name of ``engine``."""
        self.namers.pop(engine, None)
        self.binds.pop(engine, None)


#: The one hub of the process.
HUB = _Hub()
