"""PostgreSQL's tokenizing rules.

Strings: ``'...'`` (a backslash escapes only while ``standard_conforming_strings`` is off),
``E'...'``, ``N'...'``, ``B'...'``, ``X'...'``, ``U&'...'`` and dollar-quoted ``$tag$...$tag$``.
Names: ``"..."`` and ``U&"..."``. Block comments nest.
"""

from __future__ import annotations

import re

from ._lexer import DOLLAR
from ._lexer import ESCAPED
from ._lexer import QUOTED
from ._lexer import Dialect
from ._lexer import compile_lexer


def _lexer(escaped: bool) -> re.Pattern[str]:
    plain = ESCAPED["'"] if escaped else QUOTED["'"]
    return compile_lexer(
        comments=r"--[^\n\r]*|(?P<block>/\*)",
        groups=[
            ("string", r"[Ee]" + ESCAPED["'"]),
            ("qstring", r"(?:[NnBbXx]|[Uu]&)?" + plain),
            ("dollar", DOLLAR),
            ("ident", r"(?:[Uu]&)?" + QUOTED['"']),
        ],
        bad="'\"`$",
    )


#: The rules for PostgreSQL.
RULES = Dialect(
    _lexer(False),
    _lexer(True),
    nested_comments=True,
    openers=("'", "`", "$", "--", "/*"),
)
