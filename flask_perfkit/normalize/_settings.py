"""The values assigned to settings, which a statement may write as bare words or names."""

from __future__ import annotations

from ._lexer import skip_space

# Statements whose SET (or, for PRAGMA, whose "=" or "(") assigns a setting, whose value may
# be a bare word or a quoted name as well as a string: ``SET app.key TO value``,
# ``ALTER ROLE r SET x = "value"``, ``CREATE FUNCTION ... SET x = value``,
# ``SET SESSION sql_mode = value``, ``PRAGMA key = value``.
SETTING_STATEMENTS = frozenset({"SET", "ALTER", "CREATE", "PRAGMA"})
_NAME_KINDS = frozenset({"word", "ident", "dqs", "mword"})


class Settings:
    """Finds the values assigned to settings, so that a value written as a word or a quoted
    name becomes ``?`` like a string would.

    Follows one statement's tokens: after ``SET`` (leading a statement, or in an ``ALTER``
    or ``CREATE`` statement) or a leading ``PRAGMA``, a word or quoted name right after
    ``=`` or ``TO``, or after a ``,`` that follows a value, is a value, unless ``=``, ``:=``,
    ``(`` or ``.`` follows it (a variable, a function, a qualified name).
    """

    __slots__ = ("first", "state")

    # state: 0 outside a setting, 1 in a SET clause, 2 where a value starts, 3 after a value.
    def __init__(self) -> None:
        self.first: str | None = None
        self.state = 0

    def step(self, kind: str, token: str, statement: str, pos: int) -> bool:
        """Whether the token is a setting's value written as a name, to be replaced.

        :param kind: The token's kind, ``"?"`` for a literal already replaced.
        :param token: The token's text.
        :param statement: The SQL text.
        :param pos: Where the token ends in ``statement``.
        """
        if token == ";":
            self.first, self.state = None, 0
            return False
        upper = token.upper() if kind == "word" else ""
        if self.first is None:
            self.first = upper
            if upper in {"SET", "PRAGMA"}:
                self.state = 1
            return False
        if self.first not in SETTING_STATEMENTS:
            return False
        if upper == "SET" and self.first != "PRAGMA":
            self.state = 1
        elif not self.state:
            return False
        elif self._value_starts(token, upper):
            self.state = 2
        elif self.state == 2 and kind in _NAME_KINDS:
            start = skip_space(statement, pos)
            following = statement[start : start + 2]
            if following[:1] in {"=", "(", "."} or following == ":=":
                self.state = 1
                return False
            self.state = 3
            return True
        elif self.state == 2 and kind == "?":
            self.state = 3
        elif kind in _NAME_KINDS or token in {"(", ")"}:
            self.state = 1
        return False

    def _value_starts(self, token: str, upper: str) -> bool:
        if token == "=":
            return True
        if self.state == 1:
            return upper == "TO" or (token == "(" and self.first == "PRAGMA")
        return token == "," and self.state == 3
