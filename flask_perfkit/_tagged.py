"""Type-tagged JSON values: the one encoder of cursors and cache keys.

A value of a tagged type is written as ``[tag, payload]``, where the payload is JSON (most
often text), and read back by the tag's ``load``. A table of tags is searched in order and
the first tag whose types the value is an instance of writes it, so the order decides between
overlapping types (``bool`` before ``int``, enums before or after their value's type).
Nothing is ever evaluated when reading: a payload only goes through its tag's ``load``.
"""

from __future__ import annotations

import dataclasses
import typing as t

from .errors import MalformedValue

#: Encodes a nested value, for tags of containers.
Recurse = t.Callable[[t.Any], t.Any]


def _no_load(payload: t.Any) -> t.NoReturn:
    raise MalformedValue("This tag is written, never read.")


@dataclasses.dataclass(frozen=True)
class Tag:
    """How values of ``types`` are written and read.

    :param types: The types written with this tag.
    :param name: The tag, or ``None`` to tag each value with the name of its own type.
    :param dump: The payload of a value; given the value and the encoder of nested values.
    :param load: The value of a payload; raises :exc:`ValueError` or :exc:`TypeError` for a
        payload it does not accept.
    """

    types: type | tuple[type, ...]
    name: str | None
    dump: t.Callable[[t.Any, Recurse], t.Any]
    load: t.Callable[[t.Any], t.Any] = _no_load


#: Types whose tag a table remembers before it starts again.
_MAX_TYPES = 256


class TagTable:
    """An ordered table of :class:`Tag`.

    The tag found for a type is remembered, so encoding a value of a type seen before is one
    lookup rather than a search of the table.

    :param tags: The tags, the first match winning.
    """

    def __init__(self, tags: t.Sequence[Tag]) -> None:
        self.tags = tuple(tags)
        self._by_name = {tag.name: tag for tag in self.tags if tag.name is not None}
        #: The tag of each type seen, its name filled in.
        self._by_type: dict[type, Tag] = {}

    def encode(self, value: t.Any, recurse: Recurse) -> list[t.Any] | None:
        """``[tag, payload]`` for ``value``, or ``None`` when no tag takes its type.

        :param value: The value.
        :param recurse: Encodes nested values of containers.
        """
        tag = self._by_type.get(type(value))
        if tag is None:
            tag = self._find(value)
            if tag is None:
                return None
        return [tag.name, tag.dump(value, recurse)]

    def _find(self, value: t.Any) -> Tag | None:
        """The first tag that takes ``value``, remembered for its type when the value is
        an instance of that type itself (a proxy can pass for an instance of another)."""
        kind = type(value)
        for tag in self.tags:
            if isinstance(value, tag.types):
                found = dataclasses.replace(tag, name=tag.name or kind.__name__)
                if issubclass(kind, tag.types):
                    if len(self._by_type) >= _MAX_TYPES:
                        self._by_type.clear()
                    self._by_type[kind] = found
                return found
        return None

    def decode(self, item: t.Any) -> t.Any:
        """The value of a ``[tag, payload]`` pair.

        :raises MalformedValue: ``item`` is not a pair of a known tag and a payload it accepts.
        """
        if not isinstance(item, list) or len(item) != 2 or not isinstance(item[0], str):
            raise MalformedValue("Not a tagged value.")
        tag = self._by_name.get(item[0])
        if tag is None:
            raise MalformedValue(f"Unknown tag {item[0]!r}.")
        return tag.load(item[1])


def text(load: t.Callable[[str], t.Any]) -> t.Callable[[t.Any], t.Any]:
    """A ``load`` that accepts only text payloads and reads them with ``load``."""

    def read(payload: t.Any) -> t.Any:
        if not isinstance(payload, str):
            raise MalformedValue("The payload of this tag is text.")
        return load(payload)

    return read


def as_text(value: t.Any, recurse: Recurse) -> str:
    """The ``str()`` of a value, as a ``dump``."""
    return str(value)


def iso(value: t.Any, recurse: Recurse) -> str:
    """The ISO 8601 form of a date, time or datetime, as a ``dump``."""
    return str(value.isoformat())
