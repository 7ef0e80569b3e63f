"""Opening PDFs with PDFium (pypdfium2), after the pikepdf safety check."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pypdfium2 as pdfium  # type: ignore[import-untyped]
import pypdfium2.raw as pdfium_c  # type: ignore[import-untyped]

from conversio.converters import ConversionRequest, InputFile
from conversio.errors import ConversioError, CorruptFile
from conversio_pdf.documents import open_pdf, wrong_password


@contextmanager
def open_document(request: ConversionRequest, source: InputFile) -> Iterator[pdfium.PdfDocument]:
    """``source`` opened by PDFium with the ``password`` option, forms initialised.

    The file first passes :func:`~conversio_pdf.documents.open_pdf` (password,
    page tree, page limit); PDFium errors inside the block become ``CORRUPT_FILE``.
    """
    password = request.options.get("password")
    with open_pdf(source.path, source.name, password, request.limits):
        pass
    try:
        document = pdfium.PdfDocument(source.path, password=password or None)
    except pdfium.PdfiumError as exc:
        if exc.err_code == pdfium_c.FPDF_ERR_PASSWORD:
            raise wrong_password(source.name, password) from None
        raise CorruptFile(f"{source.name} is not a readable PDF: {exc}", file=source.name) from None
    try:
        document.init_forms()
        yield document
    except ConversioError:
        raise
    except (pdfium.PdfiumError, ValueError, OSError) as exc:
        raise CorruptFile(f"{source.name} could not be rendered: {exc}", file=source.name) from None
    finally:
        document.close()


def page_label(index: int, total: int) -> str:
    """``page001`` for index 0 (more digits when the document has over 999 pages)."""
    return f"page{index + 1:0{max(3, len(str(total)))}d}"
