"""What the chosen pages of a PDF hold as text, and whether a Word document of them makes sense.

A page without words is either *blank* or a *picture* (a scan, or text drawn as outlines):
only OCR could make its text editable. A document whose chosen pages hold no word at all is
refused with ``NO_TEXT_LAYER`` (a Word file of pictures is not what was asked for); picture
pages among text pages are kept as pictures, with a warning naming them.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import attrs

from conversio.errors import NoTextLayer

_WORD = re.compile(r"\w+")
OCR_HINT = "OCR (the ocr operation of conversio-ocr) makes a scan's text searchable, then it converts"


def words(text: str) -> Counter[str]:
    """The words of ``text``, lower-cased, with how often each occurs."""
    return Counter(word.lower() for word in _WORD.findall(text))


@attrs.frozen
class TextLayer:
    """The words of the chosen pages, and which of them (1-based) show only pictures or nothing."""

    words: Counter[str]
    pictures: list[int]
    blank: list[int]

    @classmethod
    def read(cls, document: Any, indexes: list[int]) -> TextLayer:
        """The text layer of the PyMuPDF ``document``'s pages at the 0-based ``indexes``."""
        found: Counter[str] = Counter()
        pictures: list[int] = []
        blank: list[int] = []
        for index in indexes:
            page = document[index]
            page_words = words(page.get_text("text"))
            if not page_words:
                drawn = page.get_images() or page.get_cdrawings()
                (pictures if drawn else blank).append(index + 1)
            found.update(page_words)
        return cls(found, pictures, blank)

    def judge(self, name: str) -> list[str]:
        """Refuse pages without any word; the warnings for picture pages among text pages."""
        if not self.words:
            if self.pictures:
                raise NoTextLayer(
                    f"{name} has no text layer: its pages are pictures (a scan?), so nothing on them "
                    f"can be edited; {OCR_HINT}",
                    file=name,
                    pages=len(self.pictures),
                )
            raise NoTextLayer(f"{name} has no text to convert: its pages are blank", file=name, blank=True)
        if not self.pictures:
            return []
        numbers = ", ".join(str(number) for number in self.pictures)
        pages, hold, them = ("page", "holds", "it") if len(self.pictures) == 1 else ("pages", "hold", "them")
        return [
            f"{name}: {pages} {numbers} {hold} only pictures, so nothing on {them} can be edited; {OCR_HINT}"
        ]

    def kept(self, result: Counter[str]) -> float:
        """The share of these words that ``result`` holds too (each occurrence counted)."""
        return sum((self.words & result).values()) / max(sum(self.words.values()), 1)
