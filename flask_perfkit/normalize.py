"""Turn SQL statements into patterns: literals and placeholders become ``?``.

One pass of one regular expression tokenizes the statement: comments are dropped, string
literals (standard, ``E''``, ``N''``, ``X''``, ``B''``, with doubled or backslash-escaped
quotes), dollar-quoted strings, numbers, hex numbers, booleans and every driver's placeholder
style (``?``, ``%s``, ``%(name)s``, ``:name``, ``$1``) become ``?``, quoted identifiers are
kept, and white space is collapsed. Then ``IN (?, ?, ...)`` lists, ``ANY (ARRAY[...])`` and
multi-row ``VALUES`` lists fold to one form whatever their length.

The result never holds a literal from the statement, so it is safe to store and serve.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re

#: Patterns longer than this are cut, and end with ``"..."``.
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
_OPERATION = re.compile(r"^\W*(\w+)")


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


def query_id(pattern: str) -> str:
    """A stable id of a pattern: the same text gives the same id in every process."""
    return hashlib.blake2b(pattern.encode(), digest_size=8).hexdigest()


def operation(pattern: str) -> str:
    """The statement's first keyword, upper-cased: ``SELECT``, ``INSERT``, ``WITH``..."""
    match = _OPERATION.match(pattern)
    return match.group(1).upper() if match else "OTHER"


@dataclasses.dataclass(frozen=True, slots=True)
class Pattern:
    """A normalized statement.

    :param text: The normalized statement.
    :param query_id: Its stable id.
    :param operation: Its first keyword, such as ``"SELECT"``.
    """

    text: str
    query_id: str
    operation: str

    @property
    def is_select(self) -> bool:
        """Whether the statement reads rows (``SELECT``, or a ``WITH`` query)."""
        return self.operation in {"SELECT", "WITH"}


class PatternCache:
    """Normalizes statements once: a repeated statement costs one dict lookup.

    :param limit: The most statements kept; when full, the cache starts again empty.
    """

    def __init__(self, limit: int = 4096) -> None:
        self.limit = limit
        self._cache: dict[str, Pattern] = {}

    def get(self, statement: str) -> Pattern:
        """The :class:`Pattern` of ``statement``."""
        found = self._cache.get(statement)
        if found is not None:
            return found
        text = normalize(statement)
        pattern = Pattern(text, query_id(text), operation(text))
        if len(statement) <= 20_000:
            if len(self._cache) >= self.limit:
                self._cache.clear()
            self._cache[statement] = pattern
        return pattern
