"""A statement's pattern: its scanned text with lists folded, or its withheld form."""

from __future__ import annotations

import dataclasses
import hashlib
import re

from ._dialects import GENERIC
from ._dialects import rules_for
from ._lexer import NUMBER
from ._lexer import PARAM
from ._lexer import WORD_CHAR
from ._scanner import Unsure
from ._scanner import scan

#: Patterns longer than this are cut, and end with ``"..."``.
MAX_PATTERN_LENGTH = 2000
#: The longest rest, after :data:`MAX_TOKENS` tokens, that is read in one pass; a longer one
#: is not read, and the pattern ends with ``"..."``.
MAX_TAIL_LENGTH = 256 * 1024
#: The note that stands for a statement that could not be normalized safely.
WITHHELD_NOTE = "/* withheld: not normalized safely */"

_OPERATIONS = frozenset(
    {
        "SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "REPLACE", "MERGE", "UPSERT", "VALUES",
        "CREATE", "ALTER", "DROP", "TRUNCATE", "GRANT", "REVOKE", "SET", "SHOW", "CALL", "DO",
        "EXPLAIN", "ANALYZE", "BEGIN", "START", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE",
        "PRAGMA", "COPY", "LOCK", "DECLARE", "FETCH", "PREPARE", "EXECUTE", "USE", "VACUUM",
    }
)  # fmt: skip
_LEADING_WORD = re.compile(r"(?:[ \t\n\r\f\v(]++|--[^\n]*+|/\*.*?\*/)*+([A-Za-z]+)", re.DOTALL)
# A placeholder, with the cast PostgreSQL drivers may add: ?::INTEGER, ?::VARCHAR(20)[].
_ITEM = r"\?(?:\s*::\s*[A-Za-z_][\w ]*?(?:\(\s*[\d?]+(?:\s*,\s*[\d?]+)*\s*\))?(?:\[\])*)?"
# A list ends with its bracket, or where a cut statement ends.
_IN_CLAUSE = re.compile(rf"\bIN\s*\(\s*{_ITEM}(?:\s*,\s*{_ITEM})*\s*(?:\)|,?\s*\Z)", re.IGNORECASE)
_ARRAY = re.compile(rf"\bARRAY\s*\[\s*{_ITEM}(?:\s*,\s*{_ITEM})*\s*(?:\]|,?\s*\Z)", re.IGNORECASE)
_VALUES = re.compile(
    r"\bVALUES\s*\([^()]*\)(?:\s*,\s*\([^()]*\))*(?:\s*,\s*(?:\([^()]*)?\Z)?",
    re.IGNORECASE,
)
_OPERATION = re.compile(r"^\W*(\w+)")
_TAIL_VALUES = re.compile(
    f"(?<![{WORD_CHAR}.])(?:{NUMBER}|(?:TRUE|FALSE)(?![{WORD_CHAR}]))|{PARAM}",
    re.IGNORECASE,
)


def withheld(statement: str) -> str:
    """The pattern that stands for a statement that could not be normalized safely.

    It holds only the statement's leading keyword, when it is a known one, and a note.
    """
    match = _LEADING_WORD.match(statement)
    word = match.group(1).upper() if match else ""
    return f"{word if word in _OPERATIONS else 'OTHER'} {WITHHELD_NOTE}"


def normalize(statement: str, dialect: str = GENERIC) -> str:
    """The pattern of ``statement``: literals and placeholders as ``?``, lists folded.

    :param statement: The SQL text sent to the database.
    :param dialect: A SQLAlchemy dialect name, such as ``"postgresql"``; unknown names use
        the cautious ``"generic"`` rules.

    >>> normalize("SELECT * FROM t WHERE email = 'a@x' AND id IN (1, 2, 3)", "postgresql")
    'SELECT * FROM t WHERE email = ? AND id IN (...)'
    """
    rules = rules_for(dialect)
    try:
        text, backslash, rest = scan(statement, rules, rules.lexer)
        # Where a server setting decides what a backslash means, both readings must agree.
        if backslash and rules.other and scan(statement, rules, rules.other)[0] != text:
            return withheld(statement)
    except Unsure:
        return withheld(statement)
    cut = False
    if rest is not None:
        tail = statement[rest:]
        if len(tail) > MAX_TAIL_LENGTH or any(opener in tail for opener in rules.openers):
            cut = True
        else:
            # No string or comment can start in the rest: its literals are numbers and
            # placeholders, replaced in one pass (a large batch of bound parameters).
            space = " " if tail[:1].isspace() else ""
            text = text + space + " ".join(_TAIL_VALUES.sub("?", tail).split())
    text = _IN_CLAUSE.sub("IN (...)", text)
    text = _ARRAY.sub("ARRAY[...]", text)
    text = _VALUES.sub("VALUES (...)", text)
    text = text.strip()
    if cut:
        text += " ..."
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

    @property
    def withheld(self) -> bool:
        """Whether the statement could not be normalized safely (see :func:`withheld`)."""
        return self.text.endswith(WITHHELD_NOTE)


def make_pattern(statement: str, dialect: str = GENERIC) -> Pattern:
    """The :class:`Pattern` of ``statement``, computed without a cache."""
    text = normalize(statement, dialect)
    return Pattern(text, query_id(text), operation(text))
