"""SQLite's tokenizing rules.

Strings: ``'...'`` and ``X'...'``; a backslash is an ordinary character. ``"..."`` is a name,
or a string where no column has that name. Names: ```...``` and ``[...]``. Placeholders also
``@name`` and ``$name``.
"""

from __future__ import annotations

from ._lexer import QUOTED
from ._lexer import Dialect
from ._lexer import compile_lexer
from ._lexer import quoted

#: The rules for SQLite.
RULES = Dialect(
    compile_lexer(
        comments=r"--[^\n]*|/\*.*?(?:\*/|\Z)",
        groups=[
            ("string", r"[Xx]?" + QUOTED["'"]),
            ("dqs", QUOTED['"']),
            ("ident", quoted("`") + r"|\[[^\]]*+\]"),
            ("sparam", r"[@$][A-Za-z0-9_]+"),
        ],
        bad="'\"`$[",
    ),
    None,
    openers=("'", '"', "--", "/*", "["),
)
