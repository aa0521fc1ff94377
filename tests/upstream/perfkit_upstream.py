"""A pytest plugin that sets PerfKit up on every app an upstream test suite initialises.

``PERFKIT_UPSTREAM_ORDER`` says when: ``before`` the app's own ``Cache`` or ``SQLAlchemy``
initialises on it, ``after`` it, or ``none`` (the plain run the others are compared with).
PerfKit is given the ``SQLAlchemy`` (``PerfKit(app, db=db)``), as an app would. It is not
given the ``Cache``: PerfKit then builds a cache backend of its own beside the app's, the
set-up where it could step on the app's cache (its config, ``app.extensions["cache"]``, the
``{% cache %}`` tag). The number of apps PerfKit was set up on is written to
``PERFKIT_UPSTREAM_REPORT``.
"""

from __future__ import annotations

import functools
import os
import typing as t

import pytest
from flask import Flask
from flask_caching import Cache
from flask_sqlalchemy import SQLAlchemy

from flask_perfkit import PerfKit

ORDER = os.environ.get("PERFKIT_UPSTREAM_ORDER", "none")
_apps = 0


def _set_up(app: Flask, extension: t.Any) -> None:
    global _apps
    # PerfKit's own backend is built by a Cache too, on a stand-in that is not an app.
    if not isinstance(app, Flask) or "perfkit" in app.extensions:
        return
    if isinstance(extension, SQLAlchemy):
        PerfKit().init_app(app, db=extension)
    else:
        PerfKit().init_app(app)
    _apps += 1


def _wrap(cls: type[t.Any]) -> None:
    original = cls.init_app

    @functools.wraps(original)
    def init_app(self: t.Any, app: Flask, *args: t.Any, **kwargs: t.Any) -> t.Any:
        if ORDER == "before":
            _set_up(app, self)
        result = original(self, app, *args, **kwargs)
        if ORDER == "after":
            _set_up(app, self)
        return result

    cls.init_app = init_app


def pytest_configure(config: pytest.Config) -> None:
    if ORDER not in {"before", "after", "none"}:
        raise pytest.UsageError(f"PERFKIT_UPSTREAM_ORDER must be before, after or none: {ORDER!r}")
    if ORDER != "none":
        _wrap(Cache)
        _wrap(SQLAlchemy)


def pytest_unconfigure(config: pytest.Config) -> None:
    report = os.environ.get("PERFKIT_UPSTREAM_REPORT")
    if report:
        with open(report, "w") as file:
            file.write(str(_apps))
