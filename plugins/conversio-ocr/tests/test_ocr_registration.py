"""conversio-ocr is found through its entry point, and its converters join the format graph
where the router should take them."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pypdfium2 as pdfium  # type: ignore[import-untyped]
import pytest
from ocr_helpers import SPECS, text_converter
from ocr_samples import ENGLISH, image_pdf, render

from conversio import Conversio
from conversio.testing import make_conversio

#: conversio-pdf's costs: text from a PDF's text layer (PDFium), an image made a PDF (img2pdf)
PDFIUM_TEXT, IMG2PDF = 2.0, 1.0


@pytest.fixture(scope="module")
def app() -> Iterator[Conversio]:
    conversio = make_conversio("conversio_ocr.plugin", cache=False, executor="process")
    yield conversio
    conversio.close()


def test_the_plugin_loads_with_its_converters(app: Conversio) -> None:
    assert "conversio_ocr.plugin" in {p.name for p in app.plugins if p.status == "loaded"}
    assert {spec.id for spec in app.converters() if spec.plugin == "conversio_ocr.plugin"} == set(SPECS)
    assert app.route("png", "txt").steps[0].converter == text_converter("png")
    assert app.route("pdf", "txt").steps[0].converter == text_converter("pdf")


def test_ocr_is_taken_only_where_a_text_layer_or_a_cheaper_path_is_not() -> None:
    pdf_text = SPECS[text_converter("pdf")].cost
    image_text = SPECS[text_converter("png")].cost
    assert PDFIUM_TEXT < pdf_text < PDFIUM_TEXT + image_text  # never PDF → images → text
    assert image_text < IMG2PDF + PDFIUM_TEXT  # never image → PDF → (no text layer)


def test_a_scan_is_made_searchable_through_the_engine(app: Conversio, tmp_path: Path) -> None:
    scan = image_pdf(tmp_path / "letter.pdf", [render(ENGLISH[:3], "Liberation Serif", 12, 200)])
    result = app.convert(scan).then("ocr", language="eng+deu").run()
    document = pdfium.PdfDocument(io.BytesIO(result.read_bytes()))
    try:
        page = document[0]
        assert "Please send the signed contract" in page.get_textpage().get_text_bounded()
    finally:
        document.close()
