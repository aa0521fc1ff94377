"""The dialects with rules of their own, by SQLAlchemy dialect name."""

from __future__ import annotations

from . import _generic
from . import _mysql
from . import _postgresql
from . import _sqlite
from ._lexer import Dialect

#: The dialect used for an engine whose database has no rules of its own here.
GENERIC = "generic"
#: The dialects with their own tokenizing rules, by SQLAlchemy dialect name.
DIALECTS = {
    "postgresql": "postgresql",
    "mysql": "mysql",
    "mariadb": "mysql",
    "sqlite": "sqlite",
}
_RULES = {
    "postgresql": _postgresql.RULES,
    "mysql": _mysql.RULES,
    "sqlite": _sqlite.RULES,
    GENERIC: _generic.RULES,
}


def dialect_of(name: str) -> str:
    """The tokenizing rules for a SQLAlchemy dialect name: ``"postgresql"``, ``"mysql"`` (for
    MySQL and MariaDB), ``"sqlite"``, or ``"generic"`` for any other database.

    :param name: The SQLAlchemy dialect name, such as ``engine.dialect.name``.
    """
    return DIALECTS.get(name, GENERIC)


def rules_for(dialect: str) -> Dialect:
    """The rules of a SQLAlchemy dialect name or a :data:`DIALECTS` value; the
    :data:`GENERIC` rules for any other name.

    :param dialect: The dialect's name.
    """
    return _RULES.get(DIALECTS.get(dialect, dialect)) or _RULES[GENERIC]
