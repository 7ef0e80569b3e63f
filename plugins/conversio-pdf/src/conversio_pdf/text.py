"""The text layer of PDF pages with PDFium."""

from __future__ import annotations

from pathlib import PurePosixPath

from conversio.converters import ConversionRequest, Output
from conversio_pdf.layout import glyphs, lay_out
from conversio_pdf.page_ranges import parse_pages
from conversio_pdf.pdfium import open_document


def extract_text(request: ConversionRequest) -> list[Output]:
    """Each chosen page's text (UTF-8), pages separated by a form feed (``\\f``).

    With ``layout`` the text keeps its place on the page (columns, indents, tables).
    """
    source = request.input
    layout = bool(request.options.get("layout"))
    texts = []
    with open_document(request, source) as document:
        indexes = parse_pages(request.options.get("pages"), len(document))
        for done, index in enumerate(indexes):
            page = document[index]
            textpage = page.get_textpage()
            try:
                text = lay_out(glyphs(textpage)) if layout else textpage.get_text_bounded()
            finally:
                textpage.close()
                page.close()
            texts.append(text.replace("\r\n", "\n").replace("\r", "\n"))
            request.progress((done + 1) / len(indexes))
    out = request.output(f"{PurePosixPath(source.name).stem or 'document'}.txt")
    out.path.write_text("\f".join(texts), encoding="utf-8")
    return [out]
