"""What :func:`.paginate` returns: a :class:`Page` of items and its :class:`PageMetadata`."""

from __future__ import annotations

import dataclasses
import typing as t

import sqlalchemy as sa

Strategy = t.Literal["auto", "offset", "cursor"]
#: A ``select()`` of any columns.
AnySelect: t.TypeAlias = "sa.Select[*tuple[t.Any, ...]]"


@dataclasses.dataclass(frozen=True)
class PageMetadata:
    """The ``metadata`` of a page."""

    #: Rows in the whole result, or ``None`` when not counted (``count=False``, cursor pages).
    total: int | None
    #: The page number of an offset page; ``None`` for a cursor page.
    page: int | None
    page_size: int
    total_pages: int | None
    has_next: bool
    has_prev: bool
    #: Continues after the last row; present on every page that has a next page.
    next_cursor: str | None
    #: Continues before the first row.
    prev_cursor: str | None
    #: ``"offset"`` or ``"cursor"``: how this page was read.
    strategy: str


@dataclasses.dataclass(frozen=True)
class Page:
    """One page of results: ``items`` and ``metadata``."""

    items: list[t.Any]
    metadata: PageMetadata

    def to_dict(self, item: t.Callable[[t.Any], t.Any] | None = None) -> dict[str, t.Any]:
        """The page as JSON-ready data.

        :param item: Turns an item into JSON-ready data. By default an item's ``to_dict()``
            is used if it has one, a row becomes a dict, and anything else is kept.
        """
        return {
            "items": [(item or _item_data)(i) for i in self.items],
            "metadata": {f.name: getattr(self.metadata, f.name) for f in _METADATA_FIELDS},
        }


_METADATA_FIELDS = dataclasses.fields(PageMetadata)


def _item_data(item: t.Any) -> t.Any:
    to_dict = getattr(item, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    mapping = getattr(item, "_mapping", None)
    return dict(mapping) if mapping is not None else item
