"""Opening PDFs with PDFium (pypdfium2), after the pikepdf safety check."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pypdfium2 as pdfium  # type: ignore[import-untyped]
import pypdfium2.raw as pdfium_c  # type: ignore[import-untyped]

from conversio.converters import ConversionRequest, InputFile
from conversio.errors import ConversioError
from conversio_pdf.documents import check_pages, engine_errors, unlock, write_pdf
from conversio_pdf.faults import damaged
from conversio_pdf.inflation import check_inflation

#: PDFium's reasons that a copy decrypted by qpdf settles (not damage)
_ENCRYPTION_ERRORS = (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY)


def _load(path: Path, key: bytes) -> pdfium.PdfDocument | int:
    """The document at ``path`` opened with the password bytes ``key``, or PDFium's error code.

    The password goes in as bytes (pypdfium2 would encode a string as UTF-8, which an
    R2-R4 file in PDFDocEncoding does not take)."""
    raw = pdfium_c.FPDF_LoadDocument(str(path).encode("utf-8"), key or None)
    if not raw:
        return int(pdfium_c.FPDF_GetLastError())
    document = pdfium.PdfDocument(raw)
    if len(document) == 0:
        document.close()
        return int(pdfium_c.FPDF_ERR_FORMAT)
    return document


def _document(request: ConversionRequest, source: InputFile, copy: Path) -> pdfium.PdfDocument:
    """``source`` opened by PDFium, after qpdf's checks (password, page tree, page limit, how
    much the pages' drawing instructions inflate to).

    When PDFium cannot parse what qpdf can (a truncated file, a header after the first
    KiB), qpdf's rewrite of it is opened instead (at ``copy``), with a warning.
    """
    pdf, key = unlock(source.path, source.name, request.options.get("password"))
    with pdf, engine_errors(source.name):
        check_pages(pdf, source.name, request.limits)
        check_inflation(pdf, source.name)
        loaded = _load(source.path, key)
        if not isinstance(loaded, int):
            return loaded
        write_pdf(pdf, copy, source.name)  # decrypted, cross-reference table rebuilt
    again = _load(copy, b"")
    if isinstance(again, int):
        raise damaged(source.name, "")
    if loaded not in _ENCRYPTION_ERRORS:
        request.warn(f"{source.name} is damaged and was repaired before conversion: check the result")
    return again


@contextmanager
def open_document(request: ConversionRequest, source: InputFile) -> Iterator[pdfium.PdfDocument]:
    """``source`` opened by PDFium with the ``password`` option, forms initialised.

    PDFium errors inside the block become clear errors about ``source``.
    """
    copy = request.output_dir / ".pdfium-copy.pdf"  # no output's name starts with a dot
    document = _document(request, source, copy)
    try:
        document.init_forms()
        yield document
    except ConversioError:
        raise
    except (pdfium.PdfiumError, ValueError, OSError) as exc:
        raise damaged(source.name, str(exc)) from None
    finally:
        document.close()
        copy.unlink(missing_ok=True)


def page_label(index: int, total: int) -> str:
    """``page001`` for index 0 (more digits when the document has over 999 pages)."""
    return f"page{index + 1:0{max(3, len(str(total)))}d}"
