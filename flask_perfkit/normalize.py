"""Turn SQL statements into patterns: literals and placeholders become ``?``.

A statement is tokenized by the rules of its database's SQL dialect (see :data:`DIALECTS`):
comments are dropped; string literals in every form the dialect has, numbers, booleans and
every driver's placeholder style (``?``, ``%s``, ``%(name)s``, ``:name``, ``$1``) become
``?``; identifiers, keywords and operators are kept; white space is collapsed. Then
``IN (?, ?, ...)`` lists, ``ARRAY[...]`` and multi-row ``VALUES`` lists fold to one form
whatever their length.

When the tokenizer cannot be sure where a literal ends (an unterminated quote, a character
that starts no token the dialect knows, or a string whose meaning depends on a server setting
such as PostgreSQL's ``standard_conforming_strings`` or MySQL's ``NO_BACKSLASH_ESCAPES`` and
that would end elsewhere under the other setting), the statement's text is withheld: its
pattern is only its operation and a note, such as
``SELECT /* withheld: not normalized safely */``.

The result never holds a literal from the statement, so it is safe to store and serve.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
import threading
import typing as t

#: Patterns longer than this are cut, and end with ``"..."``.
MAX_PATTERN_LENGTH = 2000
#: Tokens read one by one from a statement. The rest of a longer statement is read in one
#: pass when no string or comment can start in it (a large batch of bound parameters);
#: otherwise it is not read, and the pattern ends with ``"..."``. It keeps the cost of a huge
#: statement bounded, and its pattern the same whatever the length of its literals.
MAX_TOKENS = 1000
#: The longest rest, after :data:`MAX_TOKENS` tokens, that is read in one pass; a longer one
#: is not read, and the pattern ends with ``"..."``.
MAX_TAIL_LENGTH = 256 * 1024
#: The dialect used for an engine whose database has no rules of its own here.
GENERIC = "generic"
#: The dialects with their own tokenizing rules, by SQLAlchemy dialect name.
DIALECTS = {
    "postgresql": "postgresql",
    "mysql": "mysql",
    "mariadb": "mysql",
    "sqlite": "sqlite",
}
#: The note that stands for a statement that could not be normalized safely.
WITHHELD_NOTE = "/* withheld: not normalized safely */"

_SPACE = r"[ \t\n\r\f\v]+"
_WORD_START = "A-Za-z_\\x80-\\U0010ffff"
_WORD_CHAR = "A-Za-z0-9_$\\x80-\\U0010ffff"
# A number, and any word characters glued to it (MySQL's 1e5x or 0x1g are names there, so
# they are replaced too: replacing more than a literal never leaks one).
_NUMBER = (
    r"(?:0[xX][0-9A-Fa-f_]*|0[bBoO][0-9_]*"
    r"|\d[\d_]*(?:\.[\d_]*)?(?:[eE][+-]?\d+)?|\.\d[\d_]*(?:[eE][+-]?\d+)?)"
    f"[{_WORD_CHAR}]*"
)
# Bounded, so a stray "%(" never scans the rest of the statement.
_PARAM = r"%\([^)\n]{0,200}\)s|%s|\?\d*|:[A-Za-z_][A-Za-z0-9_]*|\$\d+"
_DOLLAR = (
    r"\$\$.*?\$\$"
    f"|\\$(?P<tag>[{_WORD_START}][A-Za-z0-9_\\x80-\\U0010ffff]*)\\$.*?\\$(?P=tag)\\$"
)


def _quoted(quote: str, *, escapes: bool = False) -> str:
    """A quoted token: the quote doubled inside, and with ``escapes`` a backslash escaping the
    next character. Possessive, so a long or unterminated token costs one pass and no memory.
    """
    if escapes:
        return rf"{quote}[^{quote}\\]*+(?:(?:{quote}{quote}|\\.)[^{quote}\\]*+)*+{quote}"
    return f"{quote}[^{quote}]*+(?:{quote}{quote}[^{quote}]*+)*+{quote}"


_QUOTED = {quote: _quoted(quote) for quote in "'\""}
_ESCAPED = {quote: _quoted(quote, escapes=True) for quote in "'\""}


def _lexer(*, comments: str, groups: t.Sequence[tuple[str, str]], bad: str) -> re.Pattern[str]:
    """One regular expression that reads the white space and the token at a position.

    The token's kind is the name of the group that matched it; ``end`` at the end.
    """
    alternatives = [
        ("punct", "[(),;=<>+]"),
        ("comment", comments),
        *groups,
        ("cast", "::"),
        ("param", _PARAM),
        ("number", _NUMBER),
        ("word", f"[{_WORD_START}][{_WORD_CHAR}]*"),
        ("bad", f"[{bad}]"),
        ("op", "."),
        ("end", r"\Z"),
    ]
    tokens = "|".join(f"(?P<{name}>{regex})" for name, regex in alternatives)
    return re.compile(f"({_SPACE})?(?:{tokens})", re.DOTALL)


@dataclasses.dataclass(frozen=True)
class _Dialect:
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


def _postgresql(escaped: bool) -> re.Pattern[str]:
    plain = _ESCAPED["'"] if escaped else _QUOTED["'"]
    return _lexer(
        comments=r"--[^\n\r]*|(?P<block>/\*)",
        groups=[
            ("string", r"[Ee]" + _ESCAPED["'"]),
            ("qstring", r"(?:[NnBbXx]|[Uu]&)?" + plain),
            ("dollar", _DOLLAR),
            ("ident", r"(?:[Uu]&)?" + _QUOTED['"']),
        ],
        bad="'\"`$",
    )


def _mysql(escaped: bool) -> re.Pattern[str]:
    quoted = _ESCAPED if escaped else _QUOTED
    return _lexer(
        comments=(
            r"#[^\n]*|--(?:[\x00-\x20][^\n]*|\Z)"
            r"|(?P<exec>/\*M?!\d*)|(?P<endexec>\*/)|/\*.*?(?:\*/|\Z)"
        ),
        groups=[
            (
                "qstring",
                r"(?:_[A-Za-z0-9_]+|[NnXxBb])?(?:" + quoted["'"] + "|" + quoted['"'] + ")",
            ),
            ("ident", _quoted("`")),
            ("mword", r"\$[A-Za-z_$\x80-\U0010ffff][A-Za-z0-9_$\x80-\U0010ffff]*"),
        ],
        bad="'\"`",
    )


def _sqlite() -> re.Pattern[str]:
    return _lexer(
        comments=r"--[^\n]*|/\*.*?(?:\*/|\Z)",
        groups=[
            ("string", r"[Xx]?" + _QUOTED["'"]),
            ("dqs", _QUOTED['"']),
            ("ident", _quoted("`") + r"|\[[^\]]*+\]"),
            ("sparam", r"[@$][A-Za-z0-9_]+"),
        ],
        bad="'\"`$[",
    )


def _generic(escaped: bool) -> re.Pattern[str]:
    plain = _ESCAPED["'"] if escaped else _QUOTED["'"]
    return _lexer(
        comments=r"--[^\n]*|/\*.*?(?:\*/|\Z)",
        groups=[
            # Oracle's q'[...]' strings end at a closing bracket and quote: not read here.
            ("unsure", r"[Nn]?[Qq]'"),
            ("qstring", r"[EeNnBbXx]?" + plain),
            ("dollar", _DOLLAR),
            ("dqs", _QUOTED['"']),
            ("ident", _quoted("`")),
        ],
        bad="'\"`$",
    )


_RULES = {
    "postgresql": _Dialect(
        _postgresql(False),
        _postgresql(True),
        nested_comments=True,
        openers=("'", "`", "$", "--", "/*"),
    ),
    "mysql": _Dialect(
        _mysql(True),
        _mysql(False),
        executable_comments=True,
        openers=("'", '"', "#", "--", "/*", "*/"),
    ),
    "sqlite": _Dialect(_sqlite(), None, openers=("'", '"', "--", "/*", "[")),
    GENERIC: _Dialect(_generic(False), _generic(True)),
}
_COMMENT_EDGES = re.compile(r"/\*|\*/")
# Words after which a double-quoted token ("dqs": SQLite's and unknown databases' "x", a
# string where no column has that name) can only be a name.
_NAME_AFTER = frozenset(
    {"FROM", "JOIN", "INTO", "UPDATE", "TABLE", "AS", "INDEX", "VIEW", "TRIGGER", "EXISTS"}
)
_VALUE_WORDS = frozenset({"TRUE", "FALSE", "NULL"})
_REPLACED = frozenset({"string", "qstring", "dollar", "param", "sparam", "number"})
_WORDLIKE = frozenset({"word", "ident", "dqs", "mword", "?"})
_OPERATIONS = frozenset(
    {
        "SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "REPLACE", "MERGE", "UPSERT", "VALUES",
        "CREATE", "ALTER", "DROP", "TRUNCATE", "GRANT", "REVOKE", "SET", "SHOW", "CALL", "DO",
        "EXPLAIN", "ANALYZE", "BEGIN", "START", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE",
        "PRAGMA", "COPY", "LOCK", "DECLARE", "FETCH", "PREPARE", "EXECUTE", "USE", "VACUUM",
    }
)  # fmt: skip
_LEADING_WORD = re.compile(r"(?:[ \t\n\r\f\v(]++|--[^\n]*+|/\*.*?\*/)*+([A-Za-z]+)", re.DOTALL)


class _Unsure(Exception):
    """The statement cannot be tokenized with certainty."""


# Statements whose SET (or, for PRAGMA, whose "=" or "(") assigns a setting, whose value may
# be a bare word or a quoted name as well as a string: ``SET app.key TO value``,
# ``ALTER ROLE r SET x = "value"``, ``CREATE FUNCTION ... SET x = value``,
# ``SET SESSION sql_mode = value``, ``PRAGMA key = value``.
_SETTING_STATEMENTS = frozenset({"SET", "ALTER", "CREATE", "PRAGMA"})
_NAME_KINDS = frozenset({"word", "ident", "dqs", "mword"})


class _Settings:
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
        """Whether the token is a setting's value written as a name, to be replaced."""
        if token == ";":
            self.first, self.state = None, 0
            return False
        upper = token.upper() if kind == "word" else ""
        if self.first is None:
            self.first = upper
            if upper in {"SET", "PRAGMA"}:
                self.state = 1
            return False
        if self.first not in _SETTING_STATEMENTS:
            return False
        if upper == "SET" and self.first != "PRAGMA":
            self.state = 1
        elif not self.state:
            return False
        elif self._value_starts(token, upper):
            self.state = 2
        elif self.state == 2 and kind in _NAME_KINDS:
            start = _skip_space(statement, pos)
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


def _scan(
    statement: str, dialect: _Dialect, lexer: re.Pattern[str]
) -> tuple[str, bool, int | None]:
    """The statement's tokens with literals replaced, joined by single spaces where needed.

    Returns the text, whether a ``qstring`` token held a backslash, and where the part left
    unread after :data:`MAX_TOKENS` tokens starts, if any. Raises :exc:`_Unsure` where a
    literal's end is unknown.
    """
    match = lexer.match
    out: list[str] = []
    last = ""  # the kind of the last token kept
    before = ""  # the token before the last one kept, upper-cased
    pos = 0
    end = len(statement)
    gap = False
    backslash = False
    executable = False
    into = 0  # 1 after INTO, 2 after INTO name, 3 after INTO name "."
    settings: _Settings | None = None  # made when a statement starts with one of them
    starts = True  # whether the next token starts a statement
    names = 0  # the depth of brackets inside INSERT INTO name (...)
    count = 0
    while pos < end:
        found = match(statement, pos)
        assert found is not None  # "op" matches any character, "end" the end
        kind = t.cast(str, found.lastgroup)
        if kind == "end":
            break
        pos = found.end()
        spaced = found.start(1) >= 0
        gap = gap or spaced
        token = found.group(kind)
        if kind == "punct":
            kind = "op"
        if kind == "comment":
            gap = True
            if dialect.nested_comments:
                if found.group("block") is not None:
                    pos = _nested_comment_end(statement, pos)
                continue
            if not dialect.executable_comments:
                continue
            if found.group("exec") is not None:
                if executable:
                    raise _Unsure
                executable = True
                continue
            if found.group("endexec") is None:
                if executable:
                    raise _Unsure  # a comment inside an executable comment
                continue
            if executable:
                executable = False
                continue
            # A "*" before the start of a comment or a "/".
            pos -= 1
            kind, token, gap = "op", "*", spaced
        elif kind == "bad" or kind == "unsure":
            raise _Unsure
        count += 1
        if count > MAX_TOKENS:
            return "".join(out), backslash, found.start()
        if kind in _REPLACED:
            if kind == "qstring" and "\\" in token:
                backslash = True
            kind = token = "?"
        if settings is None:
            if starts and kind == "word" and token.upper() in _SETTING_STATEMENTS:
                settings = _Settings()
            starts = token == ";"
        if settings is not None and settings.step(kind, token, statement, pos):
            kind = token = "?"
        elif kind == "word":
            upper = token.upper()
            if upper in _VALUE_WORDS:
                previous = out[-1].upper() if out else ""
                if not (
                    upper == "NULL" and (previous == "IS" or (previous == "NOT" and before == "IS"))
                ):
                    kind = token = "?"
            elif upper == "INTO":
                into = 1
        elif kind == "dqs" and not (
            names
            or (out and (out[-1] == "." or out[-1].upper() in _NAME_AFTER))
            or statement.startswith(".", _skip_space(statement, pos))
        ):
            kind = token = "?"
        if out:
            before = out[-1].upper()
            if gap or (last in _WORDLIKE and kind in _WORDLIKE):
                out.append(" ")
        gap = False
        last = kind
        out.append(token)
        # Follow INSERT INTO name (column, ...), where a double-quoted token is a name.
        if names:
            if token == "(":
                names += 1
            elif token == ")":
                names -= 1
        elif into:
            if token == "(" and into == 2:
                names, into = 1, 0
            elif into in {1, 3} and kind in {"word", "ident", "dqs"} and token.upper() != "INTO":
                into = 2
            elif token == "." and into == 2:
                into = 3
            elif token.upper() != "INTO":
                into = 0
    if executable:
        raise _Unsure
    return "".join(out), backslash, None


def _skip_space(statement: str, pos: int) -> int:
    while pos < len(statement) and statement[pos] in " \t\n\r\f\v":
        pos += 1
    return pos


def _nested_comment_end(statement: str, pos: int) -> int:
    depth = 1
    for edge in _COMMENT_EDGES.finditer(statement, pos):
        depth += 1 if edge.group() == "/*" else -1
        if depth == 0:
            return edge.end()
    return len(statement)


def withheld(statement: str) -> str:
    """The pattern that stands for a statement that could not be normalized safely.

    It holds only the statement's leading keyword, when it is a known one, and a note.
    """
    match = _LEADING_WORD.match(statement)
    word = match.group(1).upper() if match else ""
    return f"{word if word in _OPERATIONS else 'OTHER'} {WITHHELD_NOTE}"


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
    f"(?<![{_WORD_CHAR}.])(?:{_NUMBER}|(?:TRUE|FALSE)(?![{_WORD_CHAR}]))|{_PARAM}",
    re.IGNORECASE,
)


def dialect_of(name: str) -> str:
    """The tokenizing rules for a SQLAlchemy dialect name: one of :data:`DIALECTS`' values,
    or :data:`GENERIC`."""
    return DIALECTS.get(name, GENERIC)


def normalize(statement: str, dialect: str = GENERIC) -> str:
    """The pattern of ``statement``: literals and placeholders as ``?``, lists folded.

    :param statement: The SQL text sent to the database.
    :param dialect: A SQLAlchemy dialect name, such as ``"postgresql"``; unknown names use
        the cautious :data:`GENERIC` rules.

    >>> normalize("SELECT * FROM t WHERE email = 'a@x' AND id IN (1, 2, 3)", "postgresql")
    'SELECT * FROM t WHERE email = ? AND id IN (...)'
    """
    rules = _RULES.get(DIALECTS.get(dialect, dialect)) or _RULES[GENERIC]
    try:
        text, backslash, rest = _scan(statement, rules, rules.lexer)
        # Where a server setting decides what a backslash means, both readings must agree.
        if backslash and rules.other and _scan(statement, rules, rules.other)[0] != text:
            return withheld(statement)
    except _Unsure:
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


#: Statements up to this many characters share the cache of :data:`PERFKIT_NORMALIZE_CACHE_SIZE`
#: entries; longer ones go to a cache bounded by :data:`LARGE_CACHE_CHARS` characters.
SMALL_STATEMENT = 4096
#: The most characters of long statements kept as cache keys.
LARGE_CACHE_CHARS = 4 * 1024 * 1024


class PatternCache:
    """Normalizes statements once: a repeated statement costs one cache lookup.

    A least-recently-used cache by statement text and dialect. Statements up to
    :data:`SMALL_STATEMENT` characters are kept up to ``limit`` at a time; longer ones up to
    :data:`LARGE_CACHE_CHARS` characters in all, and a statement longer than that is
    normalized each time (its cost is bounded by :data:`MAX_TOKENS`).

    :param limit: The most short statements kept; the least recently used are evicted.
    """

    def __init__(self, limit: int = 4096) -> None:
        self.limit = limit
        withheld = self._withheld = [0]

        def make(statement: str, dialect: str) -> Pattern:
            pattern = make_pattern(statement, dialect)
            if pattern.withheld:
                withheld[0] += 1
            return pattern

        # A closure, not a bound method: the cache holds no reference back to this object.
        self._make = make
        self._small = functools.lru_cache(maxsize=limit)(make)
        self._large: dict[tuple[str, str], Pattern] = {}
        self._large_chars = 0
        self._large_evictions = 0
        self._large_hits = 0
        self._large_misses = 0
        self._lock = threading.Lock()

    @property
    def withheld(self) -> int:
        """Statements whose text was withheld, each counted when it was normalized."""
        return self._withheld[0]

    def get(self, statement: str, dialect: str = GENERIC) -> Pattern:
        """The :class:`Pattern` of ``statement`` as ``dialect`` reads it."""
        if len(statement) <= SMALL_STATEMENT:
            return self._small(statement, dialect)
        return self._get_large(statement, dialect)

    def _get_large(self, statement: str, dialect: str) -> Pattern:
        key = (statement, dialect)
        size = len(statement)
        with self._lock:
            found = self._large.pop(key, None)
            if found is not None:
                self._large[key] = found
                self._large_hits += 1
                return found
            self._large_misses += 1
        pattern = self._make(statement, dialect)
        if size > LARGE_CACHE_CHARS // 4:
            return pattern
        with self._lock:
            if key not in self._large:
                while self._large and self._large_chars + size > LARGE_CACHE_CHARS:
                    oldest = next(iter(self._large))
                    del self._large[oldest]
                    self._large_chars -= len(oldest[0])
                    self._large_evictions += 1
                self._large[key] = pattern
                self._large_chars += size
        return pattern

    @property
    def evictions(self) -> int:
        """Statements evicted to keep the cache within its bounds."""
        info = self._small.cache_info()
        return info.misses - info.currsize + self._large_evictions

    def stats(self) -> dict[str, int]:
        """``size``, ``limit``, ``hits``, ``misses``, ``evictions`` and ``withheld``."""
        info = self._small.cache_info()
        return {
            "size": info.currsize + len(self._large),
            "limit": self.limit,
            "hits": info.hits + self._large_hits,
            "misses": info.misses + self._large_misses,
            "evictions": self.evictions,
            "withheld": self.withheld,
        }

    def clear(self) -> None:
        """Forget every statement and reset the counts."""
        self._small.cache_clear()
        with self._lock:
            self._large.clear()
            self._large_chars = 0
            self._large_evictions = self._large_hits = self._large_misses = 0
        self._withheld[0] = 0
