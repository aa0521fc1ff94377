"""The plugin's state for one pytest run, and the hooks that judge each watched test.

This module is imported when pytest starts: it imports Flask, SQLAlchemy and the recorder
only once a watched test runs.
"""

from __future__ import annotations

import pathlib
import typing as t
import warnings

import pytest

from . import markers
from . import report
from . import snapshots
from .report import Result

if t.TYPE_CHECKING:
    from .explain import Explainer
    from .queries import QueryRecorder
    from .recording import Finding
    from .recording import TestRecording

#: The fixture that makes a test watched.
FIXTURE = "perfkit_queries"
#: The markers that make a test watched.
MARKERS = (markers.BUDGET, markers.ALLOW)
#: The key of the workers' results in pytest-xdist's ``workeroutput``.
OUTPUT = "perfkit_results"


class Settings(t.NamedTuple):
    """The plugin's options for one run."""

    n_plus_one: str
    threshold: int
    record: bool
    explain: bool
    min_rows: int


class PerfKitSession:
    """What the plugin keeps during one run.

    :param config: The run's configuration.
    :param settings: The plugin's options.
    """

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self.path = pathlib.Path(config.rootpath) / snapshots.FILENAME
        try:
            self.records = snapshots.load(self.path)
        except ValueError as error:
            raise pytest.UsageError(str(error)) from None
        #: What each watched test ran, by node id.
        self.results: dict[str, Result] = {}
        self.explainer: Explainer | None = None

    def watched(self, item: pytest.Item) -> bool:
        """Whether the plugin records and judges ``item``."""
        settings = self.settings
        return (
            settings.record
            or settings.explain
            or item.nodeid in self.records
            or FIXTURE in getattr(item, "fixturenames", ())
            or any(item.get_closest_marker(name) is not None for name in MARKERS)
        )

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        """Refuse the test, before its fixtures and body run, when a marker of the plugin
        has arguments it cannot use."""
        found = markers.problem(item)
        if found is not None:
            pytest.fail(found, pytrace=False)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> t.Generator[None, object, object]:
        if not self.watched(item):
            return (yield)
        from .hub import HUB
        from .recording import TestRecording

        if self.settings.explain and self.explainer is None:
            from .explain import Explainer

            self.explainer = Explainer(self.settings.min_rows)
        recording = TestRecording(item.name, self.settings.threshold)
        HUB.inspector = self.explainer
        recording.start()
        try:
            outcome = yield
        except BaseException:
            self.keep(item, recording, passed=False)
            raise
        finally:
            recording.stop()
            HUB.inspector = None
        self.judge(item, recording)
        return outcome

    def keep(self, item: pytest.Item, recording: TestRecording, *, passed: bool) -> None:
        self.results[item.nodeid] = Result(
            count=recording.count,
            seconds=recording.seconds,
            patterns=recording.by_text(),
            passed=passed,
        )

    def judge(self, item: pytest.Item, recording: TestRecording) -> None:
        """Fail or warn about what ``item`` ran, and keep it for the summary."""
        from .errors import NPlusOneWarning
        from .errors import SeqScanWarning

        self.keep(item, recording, passed=False)
        result = self.results[item.nodeid]
        if self.explainer is not None:
            for scan in self.explainer.take():
                _warn(item, SeqScanWarning(str(scan)))
        problems = []
        findings = self.unexpected(item, recording.findings)
        if findings and self.settings.n_plus_one == "fail":
            problems.append(report.n_plus_one(findings))
        elif findings and self.settings.n_plus_one == "warn":
            _warn(item, NPlusOneWarning(report.n_plus_one(findings)))
        problems.extend(self.unknown_binds(item, recording))
        for bind, limit in markers.budgets(item).items():
            count = recording.count if bind is None else recording.binds.get(bind, 0)
            if count > limit:
                patterns = recording.by_text(bind)
                problems.append(report.max_queries(limit, count, bind, patterns))
        old = self.records.get(item.nodeid)
        if old is not None and not self.settings.record and result["count"] > old["count"]:
            problems.append(report.growth(old, result))
        if problems:
            pytest.fail("\n\n".join(problems), pytrace=False)
        result["passed"] = True

    @staticmethod
    def unexpected(item: pytest.Item, findings: list[Finding]) -> list[Finding]:
        """The findings no ``allow_n_plus_one`` marker of ``item`` accepts."""
        accepted = markers.allowed(item)
        if accepted is None:
            return findings
        if not accepted:
            return []
        return [
            f
            for f in findings
            if not any(
                a == f.suspect.query_id.lower() or a in f.suspect.query.lower() for a in accepted
            )
        ]

    @staticmethod
    def unknown_binds(item: pytest.Item, recording: TestRecording) -> list[str]:
        """The message about bind names the test asked for that none of its apps has."""
        asked = {bind for bind in markers.budgets(item) if bind is not None}
        funcargs: dict[str, t.Any] = getattr(item, "funcargs", {})
        recorder: QueryRecorder | None = funcargs.get(FIXTURE)
        if recorder is not None:
            asked.update(recorder.binds)
        known = recording.known_binds()
        unknown = sorted(asked - known)
        return [report.unknown_binds(unknown, known)] if unknown else []

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: t.Any, error: object) -> None:
        """Take in a pytest-xdist worker's results; a worker that crashed sent none."""
        output = getattr(node, "workeroutput", None)
        if isinstance(output, dict):
            self.results.update(output.get(OUTPUT) or {})

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        workeroutput = getattr(self.config, "workeroutput", None)
        if workeroutput is not None:
            workeroutput[OUTPUT] = self.results
            return
        if self.settings.record:
            records = dict(self.records)
            for nodeid in snapshots.stale(pathlib.Path(self.config.rootpath), records):
                del records[nodeid]
            for nodeid, result in self.results.items():
                if result["passed"]:
                    records[nodeid] = snapshots.Record(
                        count=result["count"], patterns=result["patterns"]
                    )
            snapshots.dump(self.path, records)

    def shrunk(self) -> list[tuple[str, int, int]]:
        """The tests that ran fewer statements than recorded: node id, recorded, now."""
        if self.settings.record:
            return []
        found = []
        for nodeid, result in sorted(self.results.items()):
            old = self.records.get(nodeid)
            if old is not None and result["passed"] and result["count"] < old["count"]:
                found.append((nodeid, old["count"], result["count"]))
        return found

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if hasattr(self.config, "workerinput"):
            return
        quiet = self.config.get_verbosity() < 0
        report.summary(terminalreporter, self.results, self.shrunk(), quiet)
        if self.settings.record and not quiet:
            terminalreporter.write_line(f"perfkit: query counts recorded in {self.path}")


def _warn(item: pytest.Item, warning: Warning) -> None:
    """Warn about ``item``, at the test's own line."""
    lineno = item.location[1]
    warnings.warn_explicit(warning, type(warning), str(item.path), (lineno or 0) + 1)
