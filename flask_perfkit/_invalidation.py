"""Drop cached entries after commits that change rows of the models they depend on."""

from __future__ import annotations

import logging
import typing as t

from sqlalchemy import event
from sqlalchemy import orm

logger = logging.getLogger("flask_perfkit")

_KEY = "_perfkit_changed_models"


def _models_of(changed: set[type], cls: type) -> None:
    from .cache import _INVALIDATIONS

    for base in cls.__mro__:
        if base in _INVALIDATIONS:
            changed.add(base)


def _after_flush(session: orm.Session, flush_context: t.Any) -> None:
    # Inside after_flush the new, dirty and deleted collections still hold the flushed objects.
    changed: set[type] = session.info.setdefault(_KEY, set())
    for obj in (*session.new, *session.dirty, *session.deleted):
        _models_of(changed, type(obj))


def _do_orm_execute(state: orm.ORMExecuteState) -> None:
    if (state.is_update or state.is_delete or state.is_insert) and state.bind_mapper is not None:
        _models_of(state.session.info.setdefault(_KEY, set()), state.bind_mapper.class_)


def _after_commit(session: orm.Session) -> None:
    changed: set[type] | None = session.info.pop(_KEY, None)
    if not changed:
        return
    from .cache import _INVALIDATIONS
    from .cache import _current_cache

    cache = _current_cache()
    if cache is None:
        logger.debug("A commit changed cached models outside an app context; nothing dropped.")
        return
    for model in changed:
        for func in _INVALIDATIONS.get(model, ()):
            cache.invalidate(func)


def _after_rollback(session: orm.Session) -> None:
    session.info.pop(_KEY, None)


def listen() -> None:
    """Start watching every session's commits; idempotent."""
    for name, listener in (
        ("after_flush", _after_flush),
        ("do_orm_execute", _do_orm_execute),
        ("after_commit", _after_commit),
        ("after_rollback", _after_rollback),
    ):
        if not event.contains(orm.Session, name, listener):
            event.listen(orm.Session, name, listener)
