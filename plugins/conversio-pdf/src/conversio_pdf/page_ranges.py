"""Splitting a PDF's pages into parts, and file-name ordering; pure Python (page ranges themselves
are :func:`conversio.pages.parse_pages`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeVar


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
