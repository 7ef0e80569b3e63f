"""Page ranges as users write them ("1-3,5", "4-", "-2"); pure Python."""

from __future__ import annotations

import re

from conversio.errors import InvalidOption

_PART = re.compile(r"^\s*(\d*)\s*(?:(-)\s*(\d*))?\s*$")


def parse_pages(text: str | None, count: int) -> list[int]:
    """The 0-based indexes, ascending and each once, of the 1-based inclusive ranges in ``text``
    for a document of ``count`` pages; ``None`` or blank is every page. A page past the end,
    or a part that is not a range, is ``INVALID_OPTION``."""
    if text is None or not text.strip():
        return list(range(count))
    chosen: set[int] = set()
    for part in text.split(","):
        match = _PART.match(part)
        if match is None or not (match.group(1) or match.group(3)):
            raise InvalidOption(f"option 'pages': {part.strip()!r} is not a page range", option="pages")
        first = int(match.group(1)) if match.group(1) else 1
        last = (int(match.group(3)) if match.group(3) else count) if match.group(2) else first
        if first < 1 or last < first or last > count:
            raise InvalidOption(
                f"option 'pages': {part.strip()!r} is outside pages 1-{count}",
                option="pages",
                page_count=count,
            )
        chosen.update(range(first - 1, last))
    return sorted(chosen)
