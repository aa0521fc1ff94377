"""The cautious rules for a database with no rules of its own here.

A string whose end depends on whether a backslash escapes is withheld, as it would end
elsewhere under the other reading; so is an Oracle ``q'...'`` string.
"""

from __future__ import annotations

import re

from ._lexer import DOLLAR
from ._lexer import ESCAPED
from ._lexer import QUOTED
from ._lexer import Dialect
from ._lexer import compile_lexer
from ._lexer import quoted


def _lexer(escaped: bool) -> re.Pattern[str]:
    plain = ESCAPED["'"] if escaped else QUOTED["'"]
    return compile_lexer(
        comments=r"--[^\n]*|/\*.*?(?:\*/|\Z)",
        groups=[
            # Oracle's q'[...]' strings end at a closing bracket and quote: not read here.
            ("unsure", r"[Nn]?[Qq]'"),
            ("qstring", r"[EeNnBbXx]?" + plain),
            ("dollar", DOLLAR),
            ("dqs", QUOTED['"']),
            ("ident", quoted("`")),
        ],
        bad="'\"`$",
    )


#: The rules for any other database.
RULES = Dialect(_lexer(False), _lexer(True))
