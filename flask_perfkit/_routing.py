"""Registering the health blueprint cheaply on every app.

Werkzeug parses each rule and compiles two URL builder functions for it when the rule is added
to an app's URL map, which is most of what mounting a blueprint with many routes costs. The
rules PerfKit adds are the same on every app with the same prefix, so the result is computed
once per process and copied onto the rules of later apps. Only rules without variables and
defaults are shared this way: what Werkzeug computes for them depends on nothing but the rule
text and the map's slash and host settings. A builder takes its rule as first argument, so it
is bound to each copy.
"""

from __future__ import annotations

import types
import typing as t

from flask import Blueprint
from flask import Flask
from werkzeug.routing import Rule

_MAX_SHARED = 512
_BIND, _COPY, _SHARE = "bind", "copy", "share"
_compiled: dict[tuple[t.Any, ...], list[tuple[str, t.Any, str]]] = {}
_rule_classes: dict[type[Rule], type[Rule]] = {}


class _SharedCompile(Rule):
    """A rule that reuses what an earlier rule of the same text compiled."""

    def compile(self) -> None:
        assert self.map is not None, "rule not bound"
        if "<" in self.rule or self.defaults:
            super().compile()
            return
        key = (
            self.rule,
            self.map.host_matching,
            self.host if self.map.host_matching else self.subdomain,
            self.merge_slashes,
        )
        made = _compiled.get(key)
        if made is None:
            before = dict(vars(self))
            super().compile()
            made = []
            for name, value in vars(self).items():
                if name in before and before[name] is value:
                    continue
                if isinstance(value, types.MethodType) and value.__self__ is self:
                    made.append((name, value.__func__, _BIND))
                elif isinstance(value, list | dict | set):
                    made.append((name, value, _COPY))
                else:
                    made.append((name, value, _SHARE))
            if len(_compiled) < _MAX_SHARED:
                _compiled[key] = made
            return
        for name, value, how in made:
            if how is _BIND:
                value = value.__get__(self)
            elif how is _COPY:
                value = value.copy()
            setattr(self, name, value)


def _rule_class(base: type[Rule]) -> type[Rule]:
    """The app's own rule class, sharing compiled rules."""
    cls = _rule_classes.get(base)
    if cls is None:
        if issubclass(base, _SharedCompile):
            cls = base
        else:
            cls = type(f"PerfKit{base.__name__}", (_SharedCompile, base), {})
        _rule_classes[base] = cls
    return cls


def register_blueprint(app: Flask, blueprint: Blueprint, **options: t.Any) -> None:
    """Register ``blueprint`` on ``app``, sharing compiled rules between apps.

    The app's ``url_rule_class`` is extended only while the blueprint's own rules are added;
    its value, and every rule of the app itself, are left as they were.
    """
    own = vars(app)
    previous: type[Rule] | None = own.get("url_rule_class")
    app.url_rule_class = _rule_class(app.url_rule_class)
    try:
        app.register_blueprint(blueprint, **options)
    finally:
        if previous is not None:
            app.url_rule_class = previous
        else:
            del app.url_rule_class
