"""A light check of LibreOffice's PDFs: it can exit happily and write nothing, or an empty file."""

from __future__ import annotations

import re
from pathlib import Path

from conversio.errors import ConversionFailed

#: A page object (``/Type /Page``, not ``/Pages``). LibreOffice writes no object streams,
#: so every page dictionary is visible in the file.
_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


def count_pages(path: Path) -> int:
    """The number of pages of a PDF LibreOffice wrote; ConversionFailed if it is no PDF."""
    if not path.is_file():
        raise ConversionFailed("LibreOffice reported success but wrote no file")
    data = path.read_bytes()
    if not data.startswith(b"%PDF-") or b"%%EOF" not in data[-2048:]:
        raise ConversionFailed("LibreOffice wrote an incomplete PDF", size=len(data))
    pages = len(_PAGE.findall(data))
    if pages == 0:
        raise ConversionFailed("LibreOffice wrote a PDF without pages")
    return pages
