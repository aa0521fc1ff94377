"""The known name nearest a misspelled one."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def nearest(name: str, known: Iterable[str], *, prefix: str = "") -> str | None:
    """The known name closest to ``name``, if one is close enough to be a misspelling.

    Case is ignored, and so is a shared ``prefix``, so that it does not make every name look
    alike.
    """

    def rest(text: str) -> str:
        text = text.upper()
        return text[len(prefix) :] if prefix and text.startswith(prefix) else text

    by_rest = {rest(k): k for k in known}
    wanted = rest(name)
    if wanted in by_rest:
        return by_rest[wanted]
    match = difflib.get_close_matches(wanted, by_rest, n=1, cutoff=0.6)
    return by_rest[match[0]] if match else None
