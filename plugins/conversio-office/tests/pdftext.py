"""Reading what a converted PDF shows: its text, its fonts, its pixels (pypdfium2 and pikepdf)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pikepdf
import pypdfium2 as pdfium  # type: ignore[import-untyped]

import conversio


def convert(app: conversio.Conversio, path: Path, **options: Any) -> bytes:
    """The PDF ``path`` converts to."""
    result = app.convert(path, to="pdf", options=options or None).run()
    [artifact] = result.artifacts
    return app.store.open(artifact.id).read()


def pdf_text(data: bytes) -> str:
    """The text of every page, pages joined by a form feed, lines by ``\\n``."""
    pdf = pdfium.PdfDocument(data)
    pages = [pdf[i].get_textpage().get_text_range().replace("\r\n", "\n") for i in range(len(pdf))]
    return "\f".join(pages)


def font_names(data: bytes) -> set[str]:
    """The base names of the fonts of every page, without the subset prefix (``ABCDEF+``)."""
    names = set()
    with pikepdf.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            fonts = page.resources.get("/Font", {})
            for key in fonts:
                name = str(fonts[key].get("/BaseFont", ""))
                names.add(name.lstrip("/").split("+", 1)[-1])
    return names


def ink(data: bytes, page: int = 0) -> int:
    """How many pixels of a page (rendered at 72 dpi, greyscale) are darker than mid-grey."""
    pdf = pdfium.PdfDocument(data)
    image = pdf[page].render(scale=1, grayscale=True).to_pil()
    return sum(1 for value in image.getdata() if value < 128)
