"""Turn SQL statements into patterns: literals and placeholders become ``?``.

A statement is tokenized by the rules of its database's SQL dialect (PostgreSQL, MySQL and
MariaDB, SQLite, and cautious generic rules for any other database): comments are dropped;
string literals in every form the dialect has, numbers, booleans and every driver's
placeholder style (``?``, ``%s``, ``%(name)s``, ``:name``, ``$1``) become ``?``;
identifiers, keywords and operators are kept; white space is collapsed. Then
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

from ._cache import LARGE_CACHE_CHARS
from ._cache import SMALL_STATEMENT
from ._cache import PatternCache
from ._dialects import DIALECTS
from ._dialects import GENERIC
from ._dialects import dialect_of
from ._pattern import MAX_PATTERN_LENGTH
from ._pattern import MAX_TAIL_LENGTH
from ._pattern import WITHHELD_NOTE
from ._pattern import Pattern
from ._pattern import make_pattern
from ._pattern import normalize
from ._pattern import operation
from ._pattern import query_id
from ._pattern import withheld
from ._scanner import MAX_TOKENS

__all__ = [
    "DIALECTS",
    "GENERIC",
    "LARGE_CACHE_CHARS",
    "MAX_PATTERN_LENGTH",
    "MAX_TAIL_LENGTH",
    "MAX_TOKENS",
    "SMALL_STATEMENT",
    "WITHHELD_NOTE",
    "Pattern",
    "PatternCache",
    "dialect_of",
    "make_pattern",
    "normalize",
    "operation",
    "query_id",
    "withheld",
]

for _public in (
    Pattern,
    PatternCache,
    dialect_of,
    make_pattern,
    normalize,
    operation,
    query_id,
    withheld,
):
    _public.__module__ = __name__
