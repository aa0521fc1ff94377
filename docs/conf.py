from __future__ import annotations

import flask_perfkit

project = "flask-perfkit"
copyright = "flask-perfkit contributors"
version = release = flask_perfkit.__version__

extensions = [
    "sphinx.ext.autodoc",
    "pallets_sphinx_themes",
]
autodoc_typehints = "description"
autodoc_member_order = "bysource"
autodoc_preserve_defaults = True
default_role = "code"
nitpicky = False

html_theme = "flask"
html_title = f"flask-perfkit {version}"
html_context = {"project_links": []}
html_static_path: list[str] = []
exclude_patterns = ["_build"]
