"""The ``ocr`` operation: a PDF with an invisible text layer added by OCRmyPDF and Tesseract.

The output is a plain PDF (OCRmyPDF's ``--output-type pdf``): the pages are left as they
are, nothing is converted to PDF/A behind the user's back (that is the pdf plugin's
``pdfa`` operation). Its page count is checked before it is returned.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pikepdf

from conversio.converters import ConversionRequest, Output
from conversio.errors import ConversionFailed, InvalidOption
from conversio_ocr.engine import Job, run
from conversio_ocr.inputs import inspect_pdf


def make_searchable(request: ConversionRequest) -> list[Output]:
    """The input PDF with a text layer on its pages (``mode``: which pages are OCRed)."""
    source, options = request.input, request.options
    if options["mode"] == "redo" and options["deskew"]:
        raise InvalidOption(
            "option 'deskew' cannot be used with mode 'redo' (the pages are not redrawn when an "
            "earlier OCR layer is replaced); use mode 'force' to deskew",
            option="deskew",
        )
    facts = inspect_pdf(source.path, source.name, request.limits)
    if facts.signed:
        raise signed(source.name)
    if facts.fillable and options["mode"] == "redo":
        raise InvalidOption(
            f"{source.name} has a fillable form: mode 'redo' cannot be used on it; use mode 'skip', "
            "or 'force' (which flattens the form into the pages)",
            option="mode",
        )
    flags = ("--mode", options["mode"], "--optimize", str(options["optimize"]))
    with tempfile.TemporaryDirectory(prefix="conversio-ocr-") as folder:
        result = Path(folder) / "output.pdf"
        run(Job("OCR of", source.path, result, flags), request, Path(folder))
        _check_pages(result, source.name, facts.pages)
        out = request.output(source.name)
        shutil.move(result, out.path)
    if facts.tagged and options["mode"] != "skip":
        request.warn(f"{source.name}: its accessibility tags are dropped on the pages OCRed anew")
    if facts.fillable and options["mode"] == "force":
        request.warn(f"{source.name}: its form fields are drawn into the pages and can no longer be filled")
    return [out]


def _check_pages(result: Path, name: str, pages: int) -> None:
    """Refuse a result that does not have the input's ``pages`` pages."""
    try:
        with pikepdf.open(result) as pdf:
            count = len(pdf.pages)
    except pikepdf.PdfError:
        count = -1
    if count != pages:
        raise ConversionFailed(
            f"OCR of {name} failed: the result does not have its {pages} pages", file=name, pages=pages
        )


def signed(name: str) -> ConversionFailed:
    return ConversionFailed(
        f"{name} is digitally signed: adding a text layer would invalidate its signatures, "
        "so it was left as it is",
        file=name,
        signed=True,
        final=True,
    )
