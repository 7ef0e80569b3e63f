"""What conversio-pdf registers, and its pure-Python helpers (parts of pages, natural order)."""

from __future__ import annotations

from conversio_pdf.page_ranges import chunks, natural_key, ordered
from conversio_pdf.specs import OPERATIONS, all_specs

from conversio.converters import Cardinality
from conversio.testing import make_conversio


def test_registered_converters() -> None:
    app = make_conversio("conversio_pdf.plugin")
    try:
        ids = {spec.id for spec in app.converters() if spec.id.startswith("pdf.")}
    finally:
        app.close()
    assert {f"pdf.pdfium:pdf->{t}" for t in ("jpg", "png", "webp", "tiff", "txt")} <= ids
    assert {f"pdf.img2pdf:{s}->pdf" for s in ("jpg", "png", "tiff", "gif", "bmp", "webp")} <= ids
    assert {f"pdf.pikepdf:{name}(pdf)" for name in OPERATIONS} <= ids
    assert len(ids) == len(all_specs())


def test_cardinalities_and_secrets() -> None:
    specs = {spec.id: spec for spec in all_specs()}
    assert specs["pdf.pdfium:pdf->png"].cardinality is Cardinality.ONE_TO_MANY
    assert specs["pdf.img2pdf:jpg->pdf"].cardinality is Cardinality.MANY_TO_ONE
    assert specs["pdf.pikepdf:merge(pdf)"].cardinality is Cardinality.MANY_TO_ONE
    assert specs["pdf.pikepdf:split(pdf)"].cardinality is Cardinality.ONE_TO_MANY
    for spec in specs.values():
        for option in spec.options:
            assert option.secret == ("password" in option.name), (spec.id, option.name)
        if spec.source == "pdf":
            assert "password" in spec.options, spec.id


def test_chunks_and_natural_order() -> None:
    assert chunks(5, 2) == [[0, 1], [2, 3], [4]]
    names = ["scan10.pdf", "Scan2.pdf", "scan1.pdf", "appendix.pdf"]
    assert sorted(names, key=natural_key) == ["appendix.pdf", "scan1.pdf", "Scan2.pdf", "scan10.pdf"]
    assert ordered(["a", "b"], ["x10", "x9"], "name") == ["b", "a"]
    assert ordered(["a", "b"], ["x10", "x9"], "given") == ["a", "b"]
