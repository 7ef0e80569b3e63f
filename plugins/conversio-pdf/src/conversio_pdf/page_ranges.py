"""Page ranges ("1-3,5", "4-", "-2") and file-name ordering; pure Python."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeVar

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


def chunks(count: int, every: int) -> list[list[int]]:
    """0-based page indexes cut into parts of ``every`` pages."""
    return [list(range(start, min(start + every, count))) for start in range(0, count, every)]


T = TypeVar("T")
_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key putting ``page2`` before ``page10`` (case-insensitive)."""
    return tuple(
        (0, int(piece)) if piece.isdigit() else (1, piece.lower()) for piece in _DIGITS.split(name) if piece
    )


def ordered(items: Sequence[T], names: Sequence[str], order: str) -> list[T]:
    """``items`` as given, or sorted by the natural order of their ``names``."""
    if order == "given":
        return list(items)
    pairs = sorted(zip(names, items, strict=True), key=lambda pair: natural_key(pair[0]))
    return [item for _, item in pairs]


def page_list(numbers: list[int]) -> str:
    """``page 3`` or ``pages 2-5, 9`` (runs of page numbers, ascending)."""
    runs: list[list[int]] = []
    for number in sorted(set(numbers)):
        if runs and number == runs[-1][-1] + 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    parts = [str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}" for run in runs]
    return f"{'page' if len(numbers) == 1 else 'pages'} {', '.join(parts)}"
