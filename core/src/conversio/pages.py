"""Page ranges as users write them (``"1-3,5"``, ``"4-"``, ``"-2"``), for every converter with a
``pages``-like option; pure Python."""

from __future__ import annotations

import re

from conversio.errors import InvalidOption

_PART = re.compile(r"^\s*(\d*)\s*(?:(-)\s*(\d*))?\s*$")


def parse_pages(text: str | None, count: int, option: str = "pages") -> list[int]:
    """0-based page indexes of ``text`` (1-based, inclusive ranges) in a document of ``count`` pages.

    ``None`` or an empty string means every page. Pages are kept in the order
    written (``"3,1"`` gives page 3 then page 1); a page past the end is
    ``INVALID_OPTION``.
    """
    if text is None or not text.strip():
        return list(range(count))
    indexes: list[int] = []
    for part in text.split(","):
        match = _PART.match(part)
        if match is None or not (match.group(1) or match.group(3)):
            raise InvalidOption(f"option {option!r}: {part.strip()!r} is not a page range", option=option)
        first = int(match.group(1)) if match.group(1) else 1
        last = (int(match.group(3)) if match.group(3) else count) if match.group(2) else first
        if first < 1 or last < first or last > count:
            raise InvalidOption(
                f"option {option!r}: {part.strip()!r} is outside pages 1-{count}",
                option=option,
                page_count=count,
            )
        indexes.extend(range(first - 1, last))
    return indexes
