"""The shape of the package: small modules, short functions, one place for private names."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import pytest

PACKAGE = pathlib.Path(__file__).parent.parent / "flask_perfkit"
MODULES = sorted(PACKAGE.rglob("*.py"))
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60

#: Private names of other libraries that may be used outside ``_compat.py``: documented
#: escape hatches of werkzeug's proxies and of named tuples.
ALLOWED_PRIVATE = {"_get_current_object", "_replace", "_asdict", "_fields", "_make"}


def _name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _tree(path: pathlib.Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node outside ``if TYPE_CHECKING:`` blocks."""
    found: list[ast.AST] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for branch in node.orelse:
                visit(branch)
            return
        found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _imports(path: pathlib.Path) -> set[str]:
    """The ``flask_perfkit`` modules ``path`` imports at run time."""
    module = _name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in _runtime_nodes(_tree(path)):
        if isinstance(node, ast.Import):
            names.update(
                alias.name for alias in node.names if alias.name.startswith("flask_perfkit")
            )
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            elif node.module and node.module.startswith("flask_perfkit"):
                target = node.module
            else:
                continue
            names.add(target)
            for alias in node.names:
                if f"{target}.{alias.name}" in {_name(m) for m in MODULES}:
                    names.add(f"{target}.{alias.name}")
    names.discard(module)
    return names


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_module_is_short(path: pathlib.Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{_name(path)} has {lines} lines"


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_functions_are_short(path: pathlib.Path) -> None:
    long = []
    for node in ast.walk(_tree(path)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        body = node.body
        if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:] or body
        length = (node.end_lineno or 0) - body[0].lineno + 1
        if length > MAX_FUNCTION_LINES:
            long.append(f"{node.name} ({length} lines)")
    assert not long, f"{_name(path)}: {', '.join(long)}"


def test_no_import_cycles() -> None:
    graph = {_name(path): _imports(path) for path in MODULES}
    # A package's __init__ re-exports its modules; importing it from one of them is a cycle
    # only through a module that imports the package back, which the walk below finds.
    cycles = []

    def walk(node: str, stack: list[str]) -> None:
        if node in stack:
            cycles.append(" -> ".join([*stack[stack.index(node) :], node]))
            return
        for target in sorted(graph.get(node, ())):
            if target == "flask_perfkit" or (node.startswith(target + ".")):
                continue
            walk(target, [*stack, node])

    for start in sorted(graph):
        walk(start, [])
    assert not cycles, "\n".join(sorted(set(cycles))[:20])


def test_nothing_imports_the_extension_at_run_time() -> None:
    offenders = [
        _name(path)
        for path in MODULES
        if path.name != "__init__.py" or path.parent != PACKAGE
        if "flask_perfkit.extension" in _imports(path) and _name(path) != "flask_perfkit.extension"
    ]
    assert not offenders


def test_importing_perfkit_and_serving_health_leave_marshmallow_unimported() -> None:
    # marshmallow is for apps that validate bodies with flask_perfkit.schemas.
    code = (
        "import sys\n"
        "from flask import Flask\n"
        "import flask_perfkit\n"
        "app = Flask('layout')\n"
        "app.config['PERFKIT_HEALTH_SHOW_DETAILS'] = 'always'\n"
        "flask_perfkit.PerfKit(app)\n"
        "assert app.test_client().get('/health/full').status_code == 200\n"
        "print('marshmallow' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_private_names_only_in_compat(path: pathlib.Path) -> None:
    if path.name == "_compat.py":
        return
    found = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Attribute):
            attr = node.attr
            owner = node.value
            if not attr.startswith("_") or attr.startswith("__") or attr in ALLOWED_PRIVATE:
                continue
            if isinstance(owner, ast.Name) and owner.id in {"self", "cls"}:
                continue
            if isinstance(owner, ast.Call) and ast.unparse(owner.func) == "super":
                continue
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif (
            isinstance(node, ast.ImportFrom)
            and not node.level
            and node.module
            and not node.module.startswith("flask_perfkit")
        ):
            found.extend(
                f"line {node.lineno}: from {node.module} import {alias.name}"
                for alias in node.names
                if alias.name.startswith("_") and not alias.name.startswith("__")
            )
    assert not found, f"{_name(path)}:\n" + "\n".join(found)
