"""The plugin's markers: their arguments, checked before a test runs, and which one counts.

``max_queries(n, bind=None)`` takes one whole number of 0 or more, and a bind name; the
marker closest to the test (the function's, then its class's, then its module's) wins, for
each bind. ``allow_n_plus_one(*patterns)`` takes strings; its markers add up.
"""

from __future__ import annotations

import pytest

BUDGET = "max_queries"
ALLOW = "allow_n_plus_one"
_BUDGET_USAGE = (
    "use max_queries(n) or max_queries(n, bind='name'), with n a whole number of 0 or more"
)


def _shown(marker: pytest.Mark) -> str:
    if not marker.args and not marker.kwargs:
        return f"@pytest.mark.{marker.name}"
    args = [repr(arg) for arg in marker.args]
    args += [f"{key}={value!r}" for key, value in marker.kwargs.items()]
    return f"@pytest.mark.{marker.name}({', '.join(args)})"


def _budget_problem(marker: pytest.Mark) -> str | None:
    if len(marker.args) != 1 or set(marker.kwargs) - {"bind"}:
        return _BUDGET_USAGE
    limit = marker.args[0]
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        return _BUDGET_USAGE
    bind = marker.kwargs.get("bind")
    if bind is not None and (not isinstance(bind, str) or not bind):
        return "the bind must be a bind name, as bind='users'"
    return None


def _allow_problem(marker: pytest.Mark) -> str | None:
    if marker.kwargs or not all(isinstance(arg, str) and arg for arg in marker.args):
        return "use allow_n_plus_one() or allow_n_plus_one('part of a pattern', 'a query id')"
    return None


def problem(item: pytest.Item) -> str | None:
    """What is wrong with the arguments of the plugin's markers on ``item``, in one line."""
    for marker in item.iter_markers():
        if marker.name == BUDGET:
            found = _budget_problem(marker)
        elif marker.name == ALLOW:
            found = _allow_problem(marker)
        else:
            continue
        if found is not None:
            return f"{item.nodeid}: {_shown(marker)} is not usable: {found}."
    return None


def budgets(item: pytest.Item) -> dict[str | None, int]:
    """The query budget of ``item`` per bind (``None``: the whole test), each from the
    ``max_queries`` marker closest to the test."""
    found: dict[str | None, int] = {}
    for marker in item.iter_markers(BUDGET):
        found.setdefault(marker.kwargs.get("bind"), int(marker.args[0]))
    return found


def allowed(item: pytest.Item) -> list[str] | None:
    """The patterns and query ids the ``allow_n_plus_one`` markers of ``item`` accept, in
    lower case: ``None`` when it has none, ``[]`` when one accepts every N+1."""
    markers = list(item.iter_markers(ALLOW))
    if not markers:
        return None
    if any(not marker.args for marker in markers):
        return []
    return [str(arg).lower() for marker in markers for arg in marker.args]
