"""Layout-preserving text: characters placed on a grid by where they sit on the page."""

from __future__ import annotations

import statistics
from typing import Any

import attrs
import pypdfium2.raw as pdfium_c  # type: ignore[import-untyped]

#: At most this many blank lines stand for a vertical gap.
MAX_BLANK_LINES = 3


@attrs.frozen
class Glyph:
    """One character and its box in PDF units (y grows upwards)."""

    char: str
    left: float
    bottom: float
    right: float
    top: float
    space_before: bool = False

    @property
    def middle(self) -> float:
        return (self.bottom + self.top) / 2


def glyphs(textpage: Any) -> list[Glyph]:
    """The page's visible characters with their boxes; a space or line break in the text
    marks the next character as starting a word."""
    found = []
    pending_space = False
    for index in range(textpage.count_chars()):
        code = pdfium_c.FPDFText_GetUnicode(textpage, index)
        char = chr(code) if 0 < code < 0x110000 and not 0xD800 <= code <= 0xDFFF else ""
        if not char.strip():
            pending_space = True
            continue
        left, bottom, right, top = textpage.get_charbox(index, loose=True)  # font-wide, not ink
        if right > left and top > bottom:
            found.append(Glyph(char, left, bottom, right, top, pending_space))
            pending_space = False
    return found


def lay_out(found: list[Glyph]) -> str:
    """Lines top to bottom; in each, characters at the column their position gives.

    The column width is the median character width, the line height the median
    character height; vertical gaps become (a few) blank lines.
    """
    if not found:
        return ""
    width = statistics.median(g.right - g.left for g in found)
    height = statistics.median(g.top - g.bottom for g in found)
    origin = min(g.left for g in found)
    lines: list[list[Glyph]] = []
    for glyph in sorted(found, key=lambda g: (-g.middle, g.left)):
        if lines and abs(lines[-1][0].middle - glyph.middle) <= height / 2:
            lines[-1].append(glyph)
        else:
            lines.append([glyph])
    out: list[str] = []
    previous: float | None = None
    for line in lines:
        middle = line[0].middle
        if previous is not None:
            blanks = round((previous - middle) / (height * 1.6)) - 1
            out.extend([""] * max(0, min(blanks, MAX_BLANK_LINES)))
        previous = middle
        text = ""
        for glyph in sorted(line, key=lambda g: g.left):
            # a gap of two columns or more is layout; less is rounding, unless the text had a space
            gap = round((glyph.left - origin) / width) - len(text)
            gap = max(gap, 1) if glyph.space_before and text else (gap if gap >= 2 else 0)
            text += " " * gap + glyph.char
        out.append(text.rstrip())
    return "\n".join(out)
