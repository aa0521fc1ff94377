"""The token rules every dialect shares, and the record of one dialect's rules.

Each dialect's tokenizer is one regular expression built by :func:`compile_lexer` from the
pieces here and the dialect's own string, name and comment forms.
"""

from __future__ import annotations

import dataclasses
import re
import typing as t

SPACE = r"[ \t\n\r\f\v]+"
WORD_START = "A-Za-z_\\x80-\\U0010ffff"
WORD_CHAR = "A-Za-z0-9_$\\x80-\\U0010ffff"
# A number, and any word characters glued to it (MySQL's 1e5x or 0x1g are names there, so
# they are replaced too: replacing more than a literal never leaks one).
NUMBER = (
    r"(?:0[xX][0-9A-Fa-f_]*|0[bBoO][0-9_]*"
    r"|\d[\d_]*(?:\.[\d_]*)?(?:[eE][+-]?\d+)?|\.\d[\d_]*(?:[eE][+-]?\d+)?)"
    f"[{WORD_CHAR}]*"
)
# Bounded, so a stray "%(" never scans the rest of the statement.
PARAM = r"%\([^)\n]{0,200}\)s|%s|\?\d*|:[A-Za-z_][A-Za-z0-9_]*|\$\d+"
DOLLAR = (
    r"\$\$.*?\$\$"
    f"|\\$(?P<tag>[{WORD_START}][A-Za-z0-9_\\x80-\\U0010ffff]*)\\$.*?\\$(?P=tag)\\$"
)


def quoted(quote: str, *, escapes: bool = False) -> str:
    """A quoted token: the quote doubled inside, and with ``escapes`` a backslash escaping the
    next character. Possessive, so a long or unterminated token costs one pass and no memory.

    :param quote: The character that opens and closes the token.
    :param escapes: Whether a backslash escapes the character after it.
    """
    if escapes:
        return rf"{quote}[^{quote}\\]*+(?:(?:{quote}{quote}|\\.)[^{quote}\\]*+)*+{quote}"
    return f"{quote}[^{quote}]*+(?:{quote}{quote}[^{quote}]*+)*+{quote}"


#: Single- and double-quoted tokens where a backslash is an ordinary character.
QUOTED = {quote: quoted(quote) for quote in "'\""}
#: Single- and double-quoted tokens where a backslash escapes the next character.
ESCAPED = {quote: quoted(quote, escapes=True) for quote in "'\""}


def compile_lexer(
    *, comments: str, groups: t.Sequence[tuple[str, str]], bad: str
) -> re.Pattern[str]:
    """One regular expression that reads the white space and the token at a position.

    The token's kind is the name of the group that matched it; ``end`` at the end.

    :param comments: The dialect's comment forms.
    :param groups: The dialect's own token kinds and their forms, tried in order after
        punctuation and comments, before placeholders, numbers and words.
    :param bad: The characters that start no token the dialect knows.
    """
    alternatives = [
        ("punct", "[(),;=<>+]"),
        ("comment", comments),
        *groups,
        ("cast", "::"),
        ("param", PARAM),
        ("number", NUMBER),
        ("word", f"[{WORD_START}][{WORD_CHAR}]*"),
        ("bad", f"[{bad}]"),
        ("op", "."),
        ("end", r"\Z"),
    ]
    tokens = "|".join(f"(?P<{name}>{regex})" for name, regex in alternatives)
    return re.compile(f"({SPACE})?(?:{tokens})", re.DOTALL)


@dataclasses.dataclass(frozen=True)
class Dialect:
    """The tokenizing rules of one SQL dialect."""

    lexer: re.Pattern[str]
    #: The same rules with the other reading of backslashes in ``qstring`` tokens.
    other: re.Pattern[str] | None
    #: Whether block comments nest (PostgreSQL).
    nested_comments: bool = False
    #: Whether ``/*! ... */`` holds SQL (MySQL, MariaDB).
    executable_comments: bool = False
    #: Text that may start a string or a comment. A rest without any holds no literal but
    #: numbers and placeholders.
    openers: tuple[str, ...] = ("'", '"', "`", "$", "--", "/*")


def skip_space(statement: str, pos: int) -> int:
    """The position of the first character at or after ``pos`` that is not white space.

    :param statement: The SQL text.
    :param pos: Where to start looking.
    """
    while pos < len(statement) and statement[pos] in " \t\n\r\f\v":
        pos += 1
    return pos
