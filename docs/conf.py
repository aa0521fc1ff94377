from __future__ import annotations

import inspect
import sys
import typing as t

from docutils import nodes
from marshmallow import Schema
from sphinx.addnodes import pending_xref
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.ext import intersphinx

import flask_perfkit

project = "flask-perfkit"
copyright = "flask-perfkit contributors"
version = release = flask_perfkit.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "pallets_sphinx_themes",
]
autodoc_typehints = "description"
autodoc_member_order = "bysource"
autodoc_preserve_defaults = True
default_role = "code"
nitpicky = True
# Type variables (``P``, ``R``, ``F``: one capital letter) have no documentation to link to.
nitpick_ignore_regex = [(r"py:(class|obj)", r"(typing\.)?~?([\w.]+\.)?[A-Z]")]
# marshmallow 4.4 annotates ``Schema.fields`` with a bare ``Field``, which autodoc shows for
# every schema's ``fields`` attribute and cannot resolve.
nitpick_ignore = [("py:class", "Field")]

# The docs build without network, so each inventory is read from docs/_inventories (see the
# README there); the links still point to each project's own documentation.
intersphinx_mapping = {
    "python": ("https://docs.python.org/3/", "_inventories/python.inv"),
    "flask": ("https://flask.palletsprojects.com/en/stable/", "_inventories/flask.inv"),
    "werkzeug": ("https://werkzeug.palletsprojects.com/en/stable/", "_inventories/werkzeug.inv"),
    "sqlalchemy": ("https://docs.sqlalchemy.org/en/21/", "_inventories/sqlalchemy.inv"),
    "flask_sqlalchemy": (
        "https://flask-sqlalchemy.palletsprojects.com/en/stable/",
        "_inventories/flask-sqlalchemy.inv",
    ),
    "flask_caching": (
        "https://flask-caching.readthedocs.io/en/latest/",
        "_inventories/flask-caching.inv",
    ),
    "marshmallow": (
        "https://marshmallow.readthedocs.io/en/stable/",
        "_inventories/marshmallow.inv",
    ),
}

html_theme = "flask"
html_title = f"flask-perfkit {version}"
html_context = {"project_links": []}
html_static_path: list[str] = []
exclude_patterns = ["_build", "_inventories"]

#: Packages whose modules' import names are used to read a type hint that autodoc could not
#: evaluate.
_HINT_MODULES = ("flask_perfkit",)


def _hint_targets(target: str) -> list[str]:
    """Return the full names that ``target``, a type hint as written in the source, stands for.

    Autodoc leaves a hint as written when it cannot evaluate it, for example the parameters
    of a class under ``from __future__ import annotations``, so a reference reads ``t.Any``,
    ``sa.Engine`` or ``Flask``. The first part is looked up in the modules of the packages
    in ``_HINT_MODULES``; an import alias of a module gives its real name, and a class or a
    function gives the module it is defined in. A type alias gives nothing, so that it is
    reported until it is documented.

    :param target: The dotted name of the reference.
    """
    head, _, rest = target.partition(".")
    modules = [
        module
        for name, module in sorted(sys.modules.items())
        if module is not None and name.partition(".")[0] in _HINT_MODULES
    ]
    for module in modules:
        value: t.Any = vars(module).get(head)
        if value is None:
            continue
        found = []
        if isinstance(value, type(sys)):
            found.append(f"{value.__name__}.{rest}" if rest else value.__name__)
        for part in rest.split(".") if rest else ():
            value = getattr(value, part, None)
        if inspect.isclass(value) or inspect.isroutine(value):
            found.append(f"{value.__module__}.{value.__qualname__}")
        return found
    return []


def _resolve_hint(
    app: Sphinx, env: BuildEnvironment, node: pending_xref, contnode: nodes.TextElement
) -> nodes.Element | None:
    """Resolve a Python reference that autodoc wrote with the source's import names.

    Connected to ``missing-reference``; each full name from ``_hint_targets`` is tried
    in these docs, then in the intersphinx inventories.
    """
    if node.get("refdomain") != "py":
        return None
    domain = env.get_domain("py")
    for target in _hint_targets(node["reftarget"]):
        candidate = node.deepcopy()
        candidate["reftarget"] = target
        candidate["reftype"] = "obj"
        found = domain.resolve_xref(
            env, node["refdoc"], app.builder, "obj", target, candidate, contnode
        ) or intersphinx.missing_reference(app, env, candidate, contnode)
        if found is not None:
            return found
    return None


def _schema_signature(
    app: Sphinx,
    what: str,
    name: str,
    obj: t.Any,
    options: t.Any,
    signature: str | None,
    return_annotation: str | None,
) -> tuple[str, None] | None:
    """Show a schema of ``flask_perfkit.schemas`` without a signature or parameters.

    Connected to ``autodoc-process-signature``. The schemas take the constructor of
    :class:`marshmallow.Schema` unchanged (``only``, ``exclude``, ``many``, ...), which
    marshmallow documents, with hints (``types.StrSequenceOrSet``) that marshmallow's
    documentation does not; each schema's page names its base class instead of repeating them.
    """
    if what != "class" or not (inspect.isclass(obj) and issubclass(obj, Schema)):
        return None
    if not obj.__module__.startswith("flask_perfkit."):
        return None
    annotations = getattr(app.env.current_document, "autodoc_annotations", {})
    annotations.pop(name, None)
    return "", None


def setup(app: Sphinx) -> None:
    app.connect("missing-reference", _resolve_hint, priority=600)
    app.connect("autodoc-process-signature", _schema_signature)
