"""A capability defined outside the package reaches every surface through the registry alone,
as ``docs/design.rst`` shows."""

from __future__ import annotations

import typing as t

import pytest
from flask import Blueprint
from flask import Flask
from flask import Response
from marshmallow import Schema
from marshmallow import fields
from prometheus_client.parser import text_string_to_metric_families

import flask_perfkit.capabilities
from flask_perfkit._respond import answer
from flask_perfkit._state import get_state
from flask_perfkit.capabilities import CAPABILITIES
from flask_perfkit.capability import Capability
from flask_perfkit.capability import Component
from flask_perfkit.capability import MemoryUsage
from flask_perfkit.capability import Wiring
from flask_perfkit.checks import CheckResult
from flask_perfkit.checks import HealthCheck
from flask_perfkit.checks import Status
from flask_perfkit.schemas import FullHealthSchema
from tests.conftest import AppFactory


class ServerErrorsSchema(Schema):
    count = fields.Integer(required=True)


class ServerErrors(Capability):
    """Counts the responses with a 5xx status."""

    name = "server_errors"

    @classmethod
    def component_field(cls) -> fields.Field[t.Any]:
        return fields.Nested(ServerErrorsSchema, required=True)

    def __init__(self, state: t.Any) -> None:
        super().__init__(state)
        self.count = 0

    def init_app(self, app: Flask, wiring: Wiring) -> None:
        app.after_request(self.after_request)

    def after_request(self, response: Response) -> Response:
        if response.status_code >= 500:
            self.count += 1
        return response

    @staticmethod
    def add_views(bp: Blueprint) -> None:
        bp.add_url_rule("/server-errors", "server_errors", server_errors_view)

    def health_checks(self) -> list[HealthCheck]:
        return [HealthCheck("server_errors", self.check, critical=False, in_thread=False)]

    def check(self) -> CheckResult:
        return CheckResult(Status.WARN if self.count else Status.PASS, observed_value=self.count)

    def component(self) -> Component:
        return Component("server_errors", {"count": self.count})

    def metrics(self) -> t.Mapping[str, t.Any]:
        return {"server_errors": self.count}

    @classmethod
    def merge_metrics(
        cls, merged: dict[str, t.Any], part: t.Mapping[str, t.Any], alive: bool
    ) -> None:
        merged["server_errors"] = merged.get("server_errors", 0) + part.get("server_errors", 0)

    @classmethod
    def metric_families(cls, data: t.Mapping[str, t.Any]) -> t.Iterator[tuple[int, t.Any]]:
        from prometheus_client.core import CounterMetricFamily

        yield (
            80,
            CounterMetricFamily(
                "perfkit_server_errors", "Responses with a 5xx status.", data["server_errors"]
            ),
        )

    def memory(self) -> dict[str, MemoryUsage]:
        return {"server_errors": MemoryUsage(self.count, 10, 0)}

    def reset(self) -> None:
        self.count = 0


def server_errors_view() -> Response:
    capability = t.cast(ServerErrors, get_state().registry[ServerErrors.name])
    return answer(Status.PASS, lambda: {"count": capability.count})


@pytest.fixture
def app(make_app: AppFactory, monkeypatch: pytest.MonkeyPatch) -> Flask:
    monkeypatch.setattr(flask_perfkit.capabilities, "CAPABILITIES", (*CAPABILITIES, ServerErrors))
    app = make_app(PERFKIT_HEALTH_SHOW_DETAILS="always")[0]

    @app.get("/boom")
    def boom() -> tuple[str, int]:
        return "no", 503

    return app


def _family(text: str, name: str) -> list[tuple[str, float]]:
    for family in text_string_to_metric_families(text):
        if family.name == name:
            return [(sample.name, sample.value) for sample in family.samples]
    return []


def _metric_names(text: str) -> list[str]:
    return [family.name for family in text_string_to_metric_families(text)]


def test_check_block_endpoint_memory_and_reset(app: Flask) -> None:
    client = app.test_client()
    client.get("/boom")
    client.get("/boom")
    capability = t.cast(ServerErrors, get_state(app).registry["server_errors"])
    assert capability.count == 2

    body = client.get("/health/full").get_json()
    assert FullHealthSchema().validate(body) == {}
    assert list(body["components"]) == ["database", "cache", "profiling", "server_errors"]
    assert body["components"]["server_errors"] == {"count": 2}
    assert body["checks"]["server_errors"]["status"] == "warn"
    assert body["checks"]["server_errors"]["observedValue"] == 2

    view = client.get("/health/server-errors").get_json()
    assert view["count"] == 2
    assert get_state(app).memory()["server_errors"] == MemoryUsage(2, 10, 0)

    result = app.test_cli_runner().invoke(args=["perfkit", "reset"])
    assert result.exit_code == 0, result.output
    assert capability.count == 0
    assert capability.check().status is Status.PASS


def test_the_schema_refuses_the_block_without_the_capability(app: Flask) -> None:
    body = app.test_client().get("/health/full").get_json()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(flask_perfkit.capabilities, "CAPABILITIES", CAPABILITIES)
        errors: t.Any = FullHealthSchema().validate(body)
    assert errors == {"components": {"server_errors": ["Unknown field."]}}


@pytest.mark.parametrize("multiprocess", [False, True], ids=["single", "multiprocess"])
def test_metric_family(
    app: Flask, multiprocess: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: t.Any
) -> None:
    if multiprocess:
        monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    client = app.test_client()
    client.get("/boom")
    text = client.get("/health/metrics").get_data(as_text=True)
    assert _family(text, "perfkit_server_errors") == [("perfkit_server_errors_total", 1.0)]
    names = _metric_names(text)
    assert names.index("perfkit_db_breaker_rejected") < names.index("perfkit_server_errors")
    assert names.index("perfkit_server_errors") < names.index("perfkit_health_status")
    entries = next(
        family
        for family in text_string_to_metric_families(text)
        if family.name == "perfkit_memory_entries"
    )
    assert [s.value for s in entries.samples if s.labels["structure"] == "server_errors"] == [1.0]
