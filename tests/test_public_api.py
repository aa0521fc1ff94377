from __future__ import annotations

import datetime
import importlib
import inspect
import pkgutil
import re
import types
from pathlib import Path

import pytest
import sqlalchemy as sa

import flask_perfkit
from flask_perfkit import ConfigError
from flask_perfkit import PerfKitError
from flask_perfkit import UnencodableCursorValue
from flask_perfkit import UnknownBind
from flask_perfkit._cursor_values import value_reader
from flask_perfkit.checks import summarize_error
from flask_perfkit.cursors import _TAGS
from flask_perfkit.cursors import CursorCodec
from flask_perfkit.errors import MalformedValue
from flask_perfkit.errors import ProbeTimeout
from tests.conftest import AppFactory

API = Path(__file__).parent.parent / "docs" / "api.rst"

_DIRECTIVE = re.compile(
    r"^\.\. (?:auto(?:class|exception|function|decorator|data)|py:(?:class|type|data))::"
    r" (?:flask_perfkit\.)?(\w+)(?:\(.*)?$",
    re.MULTILINE,
)


def _documented() -> set[str]:
    """The names documented in api.rst before its first ``currentmodule`` of a submodule."""
    text = API.read_text()
    top_level = text.split(".. currentmodule:: flask_perfkit.")[0]
    rest = text.split(".. currentmodule:: flask_perfkit\n")[1:]
    names = set(_DIRECTIVE.findall(top_level))
    for part in rest:
        names.update(_DIRECTIVE.findall(part))
    names.update(re.findall(r":mod:`~?flask_perfkit\.(\w+)`", text))
    return names


def _modules() -> list[types.ModuleType]:
    found = [flask_perfkit]
    for info in pkgutil.walk_packages(flask_perfkit.__path__, "flask_perfkit."):
        found.append(importlib.import_module(info.name))
    return found


def test_every_exported_name_is_importable_and_documented() -> None:
    documented = _documented()
    missing = [name for name in flask_perfkit.__all__ if name not in documented]
    assert missing == []
    for name in flask_perfkit.__all__:
        assert getattr(flask_perfkit, name) is not None


def test_every_exception_class_is_a_perfkit_error() -> None:
    classes = {
        obj
        for module in _modules()
        for obj in vars(module).values()
        if inspect.isclass(obj)
        and issubclass(obj, BaseException)
        and obj.__module__.startswith("flask_perfkit")
    }
    assert len(classes) > 20
    strays = [
        cls.__qualname__
        for cls in classes
        if not issubclass(cls, PerfKitError) and not issubclass(cls, Warning)
    ]
    assert strays == []


def test_every_public_exception_class_is_exported() -> None:
    errors = importlib.import_module("flask_perfkit.errors")
    internal = {"MalformedValue", "ProbeTimeout"}
    public = {
        name
        for name, obj in vars(errors).items()
        if inspect.isclass(obj)
        and issubclass(obj, BaseException)
        and obj.__module__ == errors.__name__
        and name not in internal
    }
    assert public - set(flask_perfkit.__all__) == set()


def test_pool_status_of_an_unknown_bind(make_app: AppFactory) -> None:
    app, _, perfkit = make_app("sqlite://")
    with app.app_context(), pytest.raises(KeyError) as info:
        perfkit.pool_status("reports")
    assert isinstance(info.value, UnknownBind) and isinstance(info.value, PerfKitError)
    assert info.value.bind == "reports"
    assert str(info.value) == "PerfKit watches no engine with the bind name 'reports'."


def test_query_budget_with_an_unknown_action(make_app: AppFactory) -> None:
    app, _, perfkit = make_app("sqlite://")
    with app.app_context(), pytest.raises(ValueError) as info:
        perfkit.query_budget(1, action="warn")
    assert isinstance(info.value, ConfigError)
    assert "'raise' or 'log'" in str(info.value)


@pytest.mark.parametrize("value", [object(), [1, 2]])
def test_a_cursor_value_with_no_cursor_form(value: object) -> None:
    codec = CursorCodec(["secret"])
    with pytest.raises(TypeError) as info:
        codec.encode([value], False, "print")
    assert isinstance(info.value, UnencodableCursorValue)
    assert isinstance(info.value, PerfKitError)


@pytest.mark.parametrize("value", [None, "text", datetime.date(2026, 1, 1)])
def test_a_cursor_value_that_does_not_fit_its_column(value: object) -> None:
    read = value_reader(sa.DateTime(), "postgresql", nullable=False)
    with pytest.raises(ValueError) as info:
        read(value)
    assert isinstance(info.value, MalformedValue) and isinstance(info.value, PerfKitError)


@pytest.mark.parametrize("item", ["x", ["zz", "1"], ["i", 1]])
def test_a_tagged_cursor_value_that_is_not_ours(item: object) -> None:
    with pytest.raises(ValueError) as info:
        _TAGS.decode(item)
    assert isinstance(info.value, MalformedValue) and isinstance(info.value, PerfKitError)


def test_an_abandoned_probe_is_a_timeout() -> None:
    error = ProbeTimeout("The probe ran out of time and was abandoned.")
    assert isinstance(error, TimeoutError) and isinstance(error, PerfKitError)
    assert summarize_error(error) == "timeout"
