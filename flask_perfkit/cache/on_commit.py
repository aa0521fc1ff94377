"""Drop cached entries after commits that change rows of the models they depend on.

The functions of ``invalidate_on=`` are kept per model class. Every session's flushes and
ORM statements note the models they change; the commit of the outermost transaction drops
the entries of every function of those models, in the current app's cache.
"""

from __future__ import annotations

import logging
import typing as t

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import orm

from .current import current_cache

if t.TYPE_CHECKING:
    from .decorators import CachedFunction

logger = logging.getLogger("flask_perfkit")

_KEY = "_perfkit_changed_models"

#: The functions whose entries a change to each model drops.
_WATCHED: dict[type, list[CachedFunction[..., t.Any]]] = {}


def register_invalidation(model: type, func: CachedFunction[..., t.Any]) -> None:
    """Drop ``func``'s entries after commits that change rows of ``model``."""
    _WATCHED.setdefault(model, []).append(func)
    listen()


def _models_of(changed: set[type], cls: type) -> None:
    for base in cls.__mro__:
        if base in _WATCHED:
            changed.add(base)


def _after_flush(session: orm.Session, flush_context: t.Any) -> None:
    # Inside after_flush the new, dirty and deleted collections still hold the flushed objects.
    changed: set[type] = session.info.setdefault(_KEY, set())
    for obj in (*session.new, *session.dirty, *session.deleted):
        _models_of(changed, type(obj))


def _do_orm_execute(state: orm.ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    changed: set[type] = state.session.info.setdefault(_KEY, set())
    if state.bind_mapper is not None:
        _models_of(changed, state.bind_mapper.class_)
        return
    # A Core statement on a table (``update(Client.__table__)``): the models mapped to it.
    table = getattr(state.statement, "table", None)
    if table is None:
        return
    for model in list(_WATCHED):
        mapper: orm.Mapper[t.Any] | None = sa.inspect(model, raiseerr=False)
        if mapper is not None and table in getattr(mapper, "tables", ()):
            changed.add(model)


def _after_commit(session: orm.Session) -> None:
    if session.in_nested_transaction():
        # A savepoint: nothing is visible to others until the transaction around it commits.
        return
    changed: set[type] | None = session.info.pop(_KEY, None)
    if not changed:
        return
    cache = current_cache()
    if cache is None:
        logger.debug("A commit changed cached models outside an app context; nothing dropped.")
        return
    for model in changed:
        for func in _WATCHED.get(model, ()):
            cache.invalidate(func)


def _after_transaction_end(session: orm.Session, transaction: orm.SessionTransaction) -> None:
    # Only the end of the outermost transaction forgets the changes: a savepoint rolled back
    # inside it leaves the changes flushed before it to be committed.
    if transaction.parent is None:
        session.info.pop(_KEY, None)


def listen() -> None:
    """Start watching every session's commits; idempotent."""
    for name, listener in (
        ("after_flush", _after_flush),
        ("do_orm_execute", _do_orm_execute),
        ("after_commit", _after_commit),
        ("after_transaction_end", _after_transaction_end),
    ):
        if not event.contains(orm.Session, name, listener):
            event.listen(orm.Session, name, listener)
