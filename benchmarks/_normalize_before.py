"""The normalizer of flask-perfkit before dialect-aware tokenizing, kept for comparison.

One regular expression for every dialect; it is what ``benchmarks.normalize`` calls
"before". Not used by the package.
"""

from __future__ import annotations

import re

MAX_PATTERN_LENGTH = 2000

_TOKENS = re.compile(
    r"""
    (?P<comment>--[^\n]*|/\*.*?(?:\*/|\Z))
    |(?P<string>(?<![\w$])[EeNnBbXxUu]?&?'(?:[^'\\]|''|\\.)*(?:'|\Z))
    |(?P<dollar>\$\$.*?(?:\$\$|\Z)|\$(?P<tag>[A-Za-z_][A-Za-z_0-9]*)\$.*?(?:\$(?P=tag)\$|\Z))
    |(?P<ident>"(?:[^"]|"")*"|`(?:[^`]|``)*`)
    |(?P<cast>::)
    |(?P<param>%\([^)]*\)s|%s|\?|(?<![\w:]):[A-Za-z_][A-Za-z_0-9]*|\$\d+)
    |(?P<number>(?<![\w$.])(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(?![\w$]))
    |(?P<keyword>(?<![\w$.])(?:TRUE|FALSE|NULL)(?![\w$]))
    |(?P<space>\s+)
    """,
    re.VERBOSE | re.DOTALL | re.IGNORECASE,
)
_NULL_TEST = re.compile(r"\bIS(\s+NOT)?\s*$", re.IGNORECASE)
# A placeholder, with the cast PostgreSQL drivers may add: ?::INTEGER, ?::VARCHAR(20)[].
_ITEM = r"\?(?:\s*::\s*[A-Za-z_][\w ]*?(?:\(\s*[\d?]+(?:\s*,\s*[\d?]+)*\s*\))?(?:\[\])*)?"
_IN_CLAUSE = re.compile(rf"\bIN\s*\(\s*{_ITEM}(?:\s*,\s*{_ITEM})*\s*\)", re.IGNORECASE)
_ARRAY = re.compile(rf"\bARRAY\s*\[\s*{_ITEM}(?:\s*,\s*{_ITEM})*\s*\]", re.IGNORECASE)
_VALUES = re.compile(
    r"\bVALUES\s*\([^()]*\)(?:\s*,\s*\([^()]*\))*",
    re.IGNORECASE,
)


def _replace(match: re.Match[str]) -> str:
    kind = match.lastgroup
    if kind in {"comment", "space"}:
        return " "
    if kind in {"ident", "cast"}:
        return match.group()
    if kind == "keyword":
        word = match.group()
        if word.upper() == "NULL" and _NULL_TEST.search(match.string, 0, match.start()):
            return word
        return "?"
    return "?"


def normalize(statement: str) -> str:
    """The pattern of ``statement``: literals and placeholders as ``?``, lists folded.

    >>> normalize("SELECT * FROM t WHERE email = 'a@x' AND id IN (1, 2, 3)")
    'SELECT * FROM t WHERE email = ? AND id IN (...)'
    """
    text = _TOKENS.sub(_replace, statement)
    text = _IN_CLAUSE.sub("IN (...)", text)
    text = _ARRAY.sub("ARRAY[...]", text)
    text = _VALUES.sub("VALUES (...)", text)
    text = " ".join(text.split())
    if len(text) > MAX_PATTERN_LENGTH:
        text = text[: MAX_PATTERN_LENGTH - 3] + "..."
    return text
