"""The text layer of PDF pages with PDFium.

A page without text is either *blank* (nothing drawn on it) or a *picture* (a scan,
or text turned into outlines): only OCR could read the latter. A document whose
chosen pages hold no text at all is refused with ``NO_TEXT_LAYER`` (never an empty
file): for pictures the engine then takes another route, through OCR, when a plugin
provides one (else its refusal names the plugin to install); for blank pages it is
``final``, since no route would find text there. A picture page among text pages gives
an empty page in the result and a warning naming it: the text layer is exact where it
exists, and the caller may prefer the OCR route for the whole document.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

import pypdfium2.raw as pdfium_c  # type: ignore[import-untyped]

from conversio.converters import ConversionRequest, Output
from conversio.errors import CorruptFile, NoTextLayer
from conversio.pages import parse_pages
from conversio_pdf.documents import damaged_pages
from conversio_pdf.layout import glyphs, lay_out
from conversio_pdf.page_ranges import page_list
from conversio_pdf.pdfium import open_document

#: page objects that show something (inside form XObjects too)
_DRAWN = (pdfium_c.FPDF_PAGEOBJ_IMAGE, pdfium_c.FPDF_PAGEOBJ_PATH, pdfium_c.FPDF_PAGEOBJ_SHADING)
_FORM_DEPTH = 8


def _drawn(page: Any) -> bool:
    """Whether the page shows an image, a drawing or a shading (looked for only on textless pages)."""
    return next(iter(page.get_objects(filter=_DRAWN, max_depth=_FORM_DEPTH)), None) is not None


def _hold(numbers: list[int]) -> str:
    return "holds" if len(numbers) == 1 else "hold"


def _they(numbers: list[int]) -> str:
    return "it is" if len(numbers) == 1 else "they are"


def _judge(request: ConversionRequest, texts: list[str], pictures: list[int], blank: list[int]) -> None:
    """Refuse a result without any text; warn about picture and damaged pages among text pages."""
    source = request.input
    name = source.name
    broken = damaged_pages(source.path, name, request.options.get("password"), blank) if blank else []
    if any(text.strip() for text in texts):
        if pictures:
            request.warn(
                f"{name}: {page_list(pictures)} {_hold(pictures)} only pictures, no text "
                f"(OCR would be needed); {_they(pictures)} empty in the text"
            )
        if broken:
            request.warn(
                f"{name} is damaged: the content of {page_list(broken)} cannot be read; "
                f"{_they(broken)} empty in the text"
            )
        return
    if broken:
        raise CorruptFile(
            f"{name} is damaged: the content of {page_list(broken)} cannot be read; get a complete copy "
            "of it, or export it again from the application that made it",
            file=name,
        )
    if pictures:
        raise NoTextLayer(
            f"{name} has no text layer: its pages are pictures (a scan?) whose text only OCR can read",
            file=name,
            pages=len(pictures),
        )
    raise NoTextLayer(
        f"{name} has no text to extract: its pages are blank", file=name, blank=True, final=True
    )


def extract_text(request: ConversionRequest) -> list[Output]:
    """Each chosen page's text (UTF-8), pages separated by a form feed (``\\f``).

    With ``layout`` the text keeps its place on the page (columns, indents, tables).
    """
    source = request.input
    layout = bool(request.options.get("layout"))
    texts = []
    pictures: list[int] = []
    blank: list[int] = []
    with open_document(request, source) as document:
        indexes = parse_pages(request.options.get("pages"), len(document))
        for done, index in enumerate(indexes):
            page = document[index]
            textpage = page.get_textpage()
            try:
                text = lay_out(glyphs(textpage)) if layout else textpage.get_text_bounded()
                if not text.strip():
                    (pictures if _drawn(page) else blank).append(index + 1)
            finally:
                textpage.close()
                page.close()
            texts.append(text.replace("\r\n", "\n").replace("\r", "\n"))
            request.progress((done + 1) / len(indexes))
    _judge(request, texts, pictures, blank)
    out = request.output(f"{PurePosixPath(source.name).stem or 'document'}.txt")
    out.path.write_text("\f".join(texts), encoding="utf-8")
    return [out]
