"""The scanner every dialect shares: it reads a statement's tokens by a dialect's rules and
keeps them with their literals replaced by ``?``.
"""

from __future__ import annotations

import re

from ..errors import PerfKitError
from ._lexer import Dialect
from ._lexer import skip_space
from ._settings import SETTING_STATEMENTS
from ._settings import Settings

#: Tokens read one by one from a statement. The rest of a longer statement is read in one
#: pass when no string or comment can start in it (a large batch of bound parameters);
#: otherwise it is not read, and the pattern ends with ``"..."``. It keeps the cost of a huge
#: statement bounded, and its pattern the same whatever the length of its literals.
MAX_TOKENS = 1000

_COMMENT_EDGES = re.compile(r"/\*|\*/")
# Words after which a double-quoted token ("dqs": SQLite's and unknown databases' "x", a
# string where no column has that name) can only be a name.
_NAME_AFTER = frozenset(
    {"FROM", "JOIN", "INTO", "UPDATE", "TABLE", "AS", "INDEX", "VIEW", "TRIGGER", "EXISTS"}
)
_VALUE_WORDS = frozenset({"TRUE", "FALSE", "NULL"})
_REPLACED = frozenset({"string", "qstring", "dollar", "param", "sparam", "number"})
_WORDLIKE = frozenset({"word", "ident", "dqs", "mword", "?"})


class Unsure(PerfKitError):
    """The statement cannot be tokenized with certainty."""


def scan(statement: str, dialect: Dialect, lexer: re.Pattern[str]) -> tuple[str, bool, int | None]:
    """The statement's tokens with literals replaced, joined by single spaces where needed.

    Returns the text, whether a ``qstring`` token held a backslash, and where the part left
    unread after :data:`MAX_TOKENS` tokens starts, if any.

    :param statement: The SQL text.
    :param dialect: The rules to read it by.
    :param lexer: ``dialect.lexer``, or ``dialect.other`` for the other reading of
        backslashes.
    :raises Unsure: Where a literal's end is unknown.
    """
    match = lexer.match
    out: list[str] = []
    last = ""  # the kind of the last token kept
    pos, end = 0, len(statement)
    gap = backslash = executable = False
    into = 0  # 1 after INTO, 2 after INTO name, 3 after INTO name "."
    names = 0  # the depth of brackets inside INSERT INTO name (...)
    count = 0
    settings: Settings | None = None  # made when a statement starts with one of them
    starts = True  # whether the next token starts a statement
    while pos < end:
        found = match(statement, pos)
        assert found is not None  # "op" matches any character, "end" the end
        kind = found.lastgroup or ""
        if kind == "end":
            break
        pos = found.end()
        gap = gap or found.start(1) >= 0
        token = found.group(kind)
        if kind == "comment":
            pos, executable, star = _comment(found, statement, dialect, pos, executable)
            if not star:
                gap = True
                continue
            kind, token, gap = "op", "*", found.start(1) >= 0
        elif kind == "bad" or kind == "unsure":
            raise Unsure
        count += 1
        if count > MAX_TOKENS:
            return "".join(out), backslash, found.start()
        if kind in _REPLACED:
            if kind == "qstring" and "\\" in token:
                backslash = True
            kind = token = "?"
        if settings is None:
            if starts and kind == "word" and token.upper() in SETTING_STATEMENTS:
                settings = Settings()
            starts = token == ";"
        if settings is not None and settings.step(kind, token, statement, pos):
            kind = token = "?"
        elif kind == "word":
            upper = token.upper()
            if upper in _VALUE_WORDS and _is_value(upper, out):
                kind = token = "?"
            elif upper == "INTO":
                into = 1
        elif kind == "dqs" and _is_string(statement, pos, out, names):
            kind = token = "?"
        if out and (gap or (last in _WORDLIKE and kind in _WORDLIKE)):
            out.append(" ")
        gap = False
        last = kind
        out.append(token)
        if names or into:
            into, names = _follow_insert(into, names, kind, token)
    if executable:
        raise Unsure
    return "".join(out), backslash, None


def _comment(
    found: re.Match[str], statement: str, dialect: Dialect, pos: int, executable: bool
) -> tuple[int, bool, bool]:
    """Where reading goes on after a comment token, whether an executable comment is open
    then, and whether the token was a ``*`` before the start of a comment or a ``/`` (the
    ``*`` is then a token, and reading goes on after it).

    :raises Unsure: Where an executable comment holds a comment.
    """
    if dialect.nested_comments:
        if found.group("block") is not None:
            pos = _nested_comment_end(statement, pos)
        return pos, executable, False
    if not dialect.executable_comments:
        return pos, executable, False
    if found.group("exec") is not None:
        if executable:
            raise Unsure
        return pos, True, False
    if found.group("endexec") is None:
        if executable:
            raise Unsure  # a comment inside an executable comment
        return pos, executable, False
    if executable:
        return pos, False, False
    return pos - 1, executable, True


def _nested_comment_end(statement: str, pos: int) -> int:
    depth = 1
    for edge in _COMMENT_EDGES.finditer(statement, pos):
        depth += 1 if edge.group() == "/*" else -1
        if depth == 0:
            return edge.end()
    return len(statement)


def _is_value(upper: str, out: list[str]) -> bool:
    """Whether ``TRUE``, ``FALSE`` or ``NULL`` is a value, not part of ``IS [NOT] NULL``.

    :param upper: The word, upper-cased.
    :param out: The tokens kept before it, and the single spaces between them.
    """
    if upper != "NULL" or not out:
        return True
    previous = out[-1].upper()
    if previous == "NOT":
        before = -3 if len(out) > 2 and out[-2] == " " else -2
        return not (len(out) >= -before and out[before].upper() == "IS")
    return previous != "IS"


def _is_string(statement: str, pos: int, out: list[str], names: int) -> bool:
    """Whether a double-quoted token ending at ``pos`` is a string: it is a name in an
    ``INSERT`` column list, after a ``.`` or a word of :data:`_NAME_AFTER`, or before a ``.``.
    """
    return not (
        names
        or (out and (out[-1] == "." or out[-1].upper() in _NAME_AFTER))
        or statement.startswith(".", skip_space(statement, pos))
    )


def _follow_insert(into: int, names: int, kind: str, token: str) -> tuple[int, int]:
    """Follows ``INSERT INTO name (column, ...)``, where a double-quoted token is a name.

    :param into: 1 after ``INTO``, 2 after ``INTO name``, 3 after ``INTO name .``, else 0.
    :param names: The depth of brackets inside the column list.
    :param kind: The kind of the token just kept.
    :param token: The token just kept.
    """
    if names:
        if token == "(":
            names += 1
        elif token == ")":
            names -= 1
    elif token == "(" and into == 2:
        names, into = 1, 0
    elif into in {1, 3} and kind in {"word", "ident", "dqs"} and token.upper() != "INTO":
        into = 2
    elif token == "." and into == 2:
        into = 3
    elif token.upper() != "INTO":
        into = 0
    return into, names
