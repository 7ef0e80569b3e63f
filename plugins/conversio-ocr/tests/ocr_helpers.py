"""Helpers for conversio-ocr's tests: run a converter as the engine would, read PDFs back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pypdfium2 as pdfium  # type: ignore[import-untyped]
from conversio_ocr.specs import all_specs

from conversio.converters import ConversionRequest, ConverterSpec, InputFile, Output
from conversio.limits import Limits

SPECS: dict[str, ConverterSpec] = {spec.id: spec for spec in all_specs()}
OCR = "ocr.ocrmypdf:ocr(pdf)"


def text_converter(source: str) -> str:
    return f"ocr.ocrmypdf:{source}->txt"


def run_converter(
    converter_id: str,
    path: Path,
    out_dir: Path,
    limits: Limits | None = None,
    warnings: list[str] | None = None,
    **options: Any,
) -> Output:
    """Validate ``options`` with the spec's schema and call its function, as the engine does;
    the single output."""
    spec = SPECS[converter_id]
    out_dir.mkdir(parents=True, exist_ok=True)
    request = ConversionRequest(
        inputs=(InputFile(path, path.name, spec.source),),
        output_dir=out_dir,
        source=spec.source,
        target=spec.target,
        options=spec.options.validate(options),
        limits=limits or Limits(),
        warnings=[] if warnings is None else warnings,
    )
    (output,) = spec.load()(request)
    return output


def pdf_pages_text(path: Path) -> list[str]:
    """The text layer of each page of the PDF at ``path`` (PDFium)."""
    document = pdfium.PdfDocument(path)
    try:
        texts = []
        for page in document:
            textpage = page.get_textpage()
            texts.append(textpage.get_text_bounded())
            textpage.close()
            page.close()
        return texts
    finally:
        document.close()


def page_sizes(path: Path) -> list[tuple[float, float]]:
    """Each page's size in points, rounded to a tenth."""
    document = pdfium.PdfDocument(path)
    try:
        sizes = (document.get_page_size(index) for index in range(len(document)))
        return [(round(width, 1), round(height, 1)) for width, height in sizes]
    finally:
        document.close()
