"""MySQL's and MariaDB's tokenizing rules.

Strings: ``'...'`` and ``"..."`` (a backslash escapes unless ``NO_BACKSLASH_ESCAPES`` is set),
with an optional ``_charset`` introducer or ``N``, ``X``, ``B`` prefix. Names: ```...``` and
words that hold ``$``. Comments: ``#``, ``--`` followed by a space or a control character, and
``/* ... */``, where ``/*! ... */`` and ``/*M! ... */`` hold SQL.
"""

from __future__ import annotations

import re

from ._lexer import ESCAPED
from ._lexer import QUOTED
from ._lexer import Dialect
from ._lexer import compile_lexer
from ._lexer import quoted


def _lexer(escaped: bool) -> re.Pattern[str]:
    strings = ESCAPED if escaped else QUOTED
    return compile_lexer(
        comments=(
            r"#[^\n]*|--(?:[\x00-\x20][^\n]*|\Z)"
            r"|(?P<exec>/\*M?!\d*)|(?P<endexec>\*/)|/\*.*?(?:\*/|\Z)"
        ),
        groups=[
            (
                "qstring",
                r"(?:_[A-Za-z0-9_]+|[NnXxBb])?(?:" + strings["'"] + "|" + strings['"'] + ")",
            ),
            ("ident", quoted("`")),
            ("mword", r"\$[A-Za-z_$\x80-\U0010ffff][A-Za-z0-9_$\x80-\U0010ffff]*"),
        ],
        bad="'\"`",
    )


#: The rules for MySQL and MariaDB.
RULES = Dialect(
    _lexer(True),
    _lexer(False),
    executable_comments=True,
    openers=("'", '"', "#", "--", "/*", "*/"),
)
