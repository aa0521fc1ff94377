"""The statements of one test, and its N+1 queries found by the production detector.

A test's statements are split into *units*, as production splits them into requests: each
request a Flask app serves during the test (seen through Flask's ``request_started`` and
``request_tearing_down`` signals, so also for apps that never registered PerfKit) is one
unit, and the statements run outside requests form one more per app whose context they run
in (an app context, a CLI command), and one for those outside any app. When a unit ends,
its SELECT counts go to :class:`~flask_perfkit.profiler.n_plus_one.SuspectTable`, the
detector of the profiler, with the threshold of the app (its
``PERFKIT_N_PLUS_ONE_THRESHOLD`` when it registered PerfKit) or of the
``perfkit_n_plus_one_threshold`` ini option.
"""

from __future__ import annotations

import contextvars
import dataclasses
import re
import time
import typing as t

import flask
from flask import Flask
from flask import current_app
from flask import has_app_context

from .._state import find_state
from ..normalize import Pattern
from ..profiler.n_plus_one import NPlusOneSuspect
from ..profiler.n_plus_one import SuspectTable
from ..profiler.patterns import PatternEntry
from .hub import HUB
from .site import Site
from .site import user_site

#: Statements that read the database's catalog rather than the app's tables.
_CATALOG = re.compile(
    r"\b(?:pg_catalog|information_schema|sqlite_master|sqlite_temp_master|sqlite_schema)\.",
    re.IGNORECASE,
)


@dataclasses.dataclass(frozen=True)
class Finding:
    """An N+1 query of a test.

    :param suspect: What the production detector made of it.
    :param unit: The request (``"GET /posts"``) or ``"the test body"``.
    :param site: The user's line that issued it, when one was found.
    """

    suspect: NPlusOneSuspect
    unit: str
    site: Site | None


class Unit:
    """The SELECT counts of one request, or of the statements outside requests.

    :param endpoint: The endpoint the detector is told about.
    :param label: How messages name the unit.
    :param threshold: Executions of one pattern that make an N+1.
    :param parent: The unit that was current when this one began.
    """

    __slots__ = ("counts", "endpoint", "label", "parent", "patterns", "sites", "threshold")

    def __init__(self, endpoint: str, label: str, threshold: int, parent: Unit | None) -> None:
        self.endpoint = endpoint
        self.label = label
        self.threshold = threshold
        self.parent = parent
        #: Executions and seconds per SELECT pattern, as the profiler's collector counts them.
        self.counts: dict[str, list[float]] = {}
        self.patterns: dict[str, Pattern] = {}
        self.sites: dict[str, Site | None] = {}


class TestRecording:
    """Every statement one test runs, grouped by pattern, and its N+1 queries.

    :param name: The test's name, the endpoint of the statements outside requests.
    :param threshold: The N+1 threshold of apps that did not register PerfKit.
    """

    __test__ = False

    def __init__(self, name: str, threshold: int) -> None:
        self.threshold = threshold
        self.count = 0
        self.seconds = 0.0
        #: Executions and seconds per pattern, in the order first seen.
        self.totals: dict[str, list[float]] = {}
        self.patterns: dict[str, Pattern] = {}
        #: Statements per bind name.
        self.binds: dict[str | None, int] = {}
        #: Executions per pattern, by bind name.
        self.bind_totals: dict[str | None, dict[str, int]] = {}
        self.findings: list[Finding] = []
        self.name = name
        #: The units of the statements outside requests, by the app whose context they ran
        #: in (``None``: outside any app).
        self.outers: dict[Flask | None, Unit] = {}
        #: The apps that pushed a context or served a request during the test.
        self.apps: dict[Flask, None] = {}
        self.current: contextvars.ContextVar[Unit | None] = contextvars.ContextVar(
            f"perfkit_unit_{id(self):x}", default=None
        )

    def start(self) -> None:
        """Record from now on."""
        flask.request_started.connect(self.request_started)
        flask.request_tearing_down.connect(self.request_tearing_down)
        flask.appcontext_pushed.connect(self.appcontext_pushed)
        if has_app_context():
            self.apps[_current_app()] = None
        HUB.add(self)

    def stop(self) -> None:
        """Stop recording, and judge the statements outside requests."""
        HUB.remove(self)
        flask.request_started.disconnect(self.request_started)
        flask.request_tearing_down.disconnect(self.request_tearing_down)
        flask.appcontext_pushed.disconnect(self.appcontext_pushed)
        for unit in self.outers.values():
            self.finish(unit)

    def add(self, pattern: Pattern, seconds: float, bind: str | None) -> None:
        """Record one statement; see :class:`~flask_perfkit.testing.hub.Sink`."""
        self.count += 1
        self.seconds += seconds
        query_id = pattern.query_id
        total = self.totals.get(query_id)
        if total is None:
            total = self.totals[query_id] = [0, 0.0]
            self.patterns[query_id] = pattern
        total[0] += 1
        total[1] += seconds
        self.binds[bind] = self.binds.get(bind, 0) + 1
        on_bind = self.bind_totals.setdefault(bind, {})
        on_bind[query_id] = on_bind.get(query_id, 0) + 1
        if not pattern.is_select:
            return
        unit = self.current.get() or self.outer()
        seen = unit.counts.get(query_id)
        if seen is None:
            seen = unit.counts[query_id] = [0, 0.0]
            unit.patterns[query_id] = pattern
        seen[0] += 1
        seen[1] += seconds
        if seen[0] == unit.threshold:
            unit.sites[query_id] = user_site()

    def outer(self) -> Unit:
        """The unit of a statement run outside requests, in the current app's context."""
        app = _current_app() if has_app_context() else None
        unit = self.outers.get(app)
        if unit is None:
            threshold = self.threshold if app is None else self.threshold_of(app)
            unit = self.outers[app] = Unit(self.name, "the test body", threshold, None)
            if app is not None:
                self.apps[app] = None
        return unit

    def threshold_of(self, app: Flask) -> int:
        """The app's ``PERFKIT_N_PLUS_ONE_THRESHOLD`` when it registered PerfKit, else the
        ini option's."""
        state = find_state(app)
        return self.threshold if state is None else state.config.profiler.n_plus_one_threshold

    def appcontext_pushed(self, sender: Flask, **extra: t.Any) -> None:
        """Note the app; connected to ``flask.appcontext_pushed``."""
        self.apps[sender] = None

    def request_started(self, sender: Flask, **extra: t.Any) -> None:
        """Begin a unit for the request; connected to ``flask.request_started``."""
        request = flask.request
        self.apps[sender] = None
        threshold = self.threshold_of(sender)
        label = f"{request.method} {request.path}"
        parent = self.current.get()
        self.current.set(Unit(request.endpoint or label, label, threshold, parent))

    def request_tearing_down(self, sender: Flask, **extra: t.Any) -> None:
        """End the request's unit; connected to ``flask.request_tearing_down``."""
        unit = self.current.get()
        if unit is not None:
            self.current.set(unit.parent)
            self.finish(unit)

    def finish(self, unit: Unit) -> None:
        """Run the production detector over a unit that ended. Statements that read the
        database's catalog (SQLAlchemy's ``create_all``, ``drop_all`` and reflection, one per
        table) are left out: they are no N+1 of the app's."""
        over = {
            q: seen
            for q, seen in unit.counts.items()
            if seen[0] >= unit.threshold and not _CATALOG.search(unit.patterns[q].text)
        }
        if not over:
            return
        now = time.time()
        table = SuspectTable(unit.threshold, len(over) + 1)
        entries = {q: PatternEntry(unit.patterns[q], now) for q in over}
        for suspect, _ in table.detect(unit.endpoint, over, entries, now):
            site = unit.sites.get(suspect.query_id)
            self.findings.append(Finding(suspect, unit.label, site))

    def by_text(self, bind: str | None = None) -> dict[str, int]:
        """Executions per normalized statement, of the bind ``bind`` if given."""
        if bind is None:
            counts = {query_id: int(total[0]) for query_id, total in self.totals.items()}
        else:
            counts = self.bind_totals.get(bind, {})
        found: dict[str, int] = {}
        for query_id, count in counts.items():
            text = self.patterns[query_id].text
            found[text] = found.get(text, 0) + count
        return found

    def known_binds(self) -> set[str]:
        """The bind names of the statements of the test and of the apps it used: their
        Flask-SQLAlchemy binds and the engines PerfKit watches for them."""
        known = {bind for bind in self.binds if bind is not None}
        for app in self.apps:
            if "sqlalchemy" in app.extensions:
                known.add("default")
                known.update(str(key) for key in app.config.get("SQLALCHEMY_BINDS") or ())
            state = find_state(app)
            if state is not None:
                known.update(state.database.monitors)
        return known


def _current_app() -> Flask:
    return t.cast(Flask, current_app._get_current_object())  # type: ignore[attr-defined]
