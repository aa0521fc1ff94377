"""The line of the user's own code that issued a statement.

Walking the stack costs far more than recording a statement, so it is done once per pattern
and request, when the pattern reaches the N+1 threshold: the statement that crosses it is run
by the same line as the ones before it.
"""

from __future__ import annotations

import dataclasses
import inspect
import linecache
import os
import sysconfig
import types
import typing as t

#: Packages whose frames are never the user's code, wherever they are installed.
LIBRARIES = (
    "sqlalchemy",
    "flask",
    "flask_sqlalchemy",
    "flask_perfkit",
    "werkzeug",
    "jinja2",
    "blinker",
    "click",
    "_pytest",
    "pytest",
    "pluggy",
    "pytest_flask",
    "xdist",
)


@dataclasses.dataclass(frozen=True)
class Site:
    """Where a statement was issued.

    :param filename: The file, relative to the current directory when it is below it.
    :param lineno: The line number.
    :param function: The function, or the template, that holds the line.
    :param line: The line's text, stripped.
    """

    filename: str
    lineno: int
    function: str
    line: str

    def __str__(self) -> str:
        where = f"{self.filename}:{self.lineno} in {self.function}"
        return f"{where}: {self.line}" if self.line else where


def _library_dirs() -> tuple[str, ...]:
    dirs = set()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            dirs.add(os.path.realpath(path))
    for name in LIBRARIES:
        spec = _find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            dirs.update(os.path.realpath(p) for p in spec.submodule_search_locations)
    return tuple(sorted(d + os.sep for d in dirs))


def _find_spec(name: str) -> t.Any:
    import importlib.util

    try:
        return importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None


_LIBRARY_DIRS: tuple[str, ...] | None = None
#: Whether each code file is a library's, by file name.
_IS_LIBRARY: dict[str, bool] = {}


def _is_library(filename: str) -> bool:
    global _LIBRARY_DIRS
    known = _IS_LIBRARY.get(filename)
    if known is not None:
        return known
    if _LIBRARY_DIRS is None:
        _LIBRARY_DIRS = _library_dirs()
    if filename.startswith("<") and not filename.startswith("<template"):
        found = True
    else:
        real = os.path.realpath(filename)
        found = any(real.startswith(d) for d in _LIBRARY_DIRS)
    _IS_LIBRARY[filename] = found
    return found


def user_site() -> Site | None:
    """The innermost frame of the caller's stack that is neither a library's nor the
    standard library's: the user's line, or a line of a Jinja template."""
    frame = inspect.currentframe()
    template_line = None
    while frame is not None:
        template = frame.f_globals.get("__jinja_template__")
        if template is not None and not (template.filename or "<").startswith("<"):
            return _template_site(template, frame)
        if template is not None and template_line is None:
            # A template made from a string has no file: name the line that rendered it.
            template_line = template.get_corresponding_lineno(frame.f_lineno)
        elif template is None and not _is_library(frame.f_code.co_filename):
            site = _site(frame)
            if template_line is not None:
                held = f"{site.function} (line {template_line} of the template string it renders)"
                site = dataclasses.replace(site, function=held)
            return site
        frame = frame.f_back
    return None


def _relative(filename: str) -> str:
    try:
        relative = os.path.relpath(filename)
    except ValueError:
        return filename
    return filename if relative.startswith("..") else relative


#: Code objects named after their kind rather than by the user.
_ANONYMOUS = frozenset({"<listcomp>", "<dictcomp>", "<setcomp>", "<genexpr>", "<lambda>"})


def _site(frame: types.FrameType) -> Site:
    filename = frame.f_code.co_filename
    line = linecache.getline(filename, frame.f_lineno).strip()
    # A comprehension is a function of its own before Python 3.12: name the one holding it.
    holder: types.FrameType | None = frame
    while holder is not None and holder.f_code.co_name in _ANONYMOUS:
        holder = holder.f_back
    function = (holder or frame).f_code.co_name
    return Site(_relative(filename), frame.f_lineno, function, line)


def _template_site(template: t.Any, frame: types.FrameType) -> Site:
    lineno = template.get_corresponding_lineno(frame.f_lineno)
    filename = template.filename
    line = linecache.getline(filename, lineno).strip()
    return Site(_relative(filename), lineno, f"template {template.name!r}", line)
