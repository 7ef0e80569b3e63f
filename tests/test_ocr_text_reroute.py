"""Text of scanned PDFs with every plugin: the text layer's reader refuses a scan, the engine takes
the OCR route instead and says so; ``conversio route pdf txt`` shows that route as the alternative.

Without conversio-ocr the refusal names it (plugins/conversio-pdf/tests/test_pdf_text_needs_ocr.py).
"""

from __future__ import annotations

import io
import subprocess
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pytest
from PIL import Image, ImageDraw, ImageFont

import conversio
from conversio.errors import ConversioError

pytest.importorskip("conversio_ocr")

Cli = Callable[..., subprocess.CompletedProcess[str]]
DPI = 200
PAGE = (round(8.27 * DPI), round(11.69 * DPI))
LINES = ("Quarterly shipping ledger", "Timber grain and machinery", "arrived before the frost")
REROUTED = (
    "{name}: pdf → txt failed ({name} has no text layer: its pages are pictures (a scan?) whose text "
    "only OCR can read); converted through pdf → txt by ocr.ocrmypdf instead"
)


def picture_of(lines: tuple[str, ...]) -> Image.Image:
    """An A4 page at 200 dpi with ``lines`` in 16-point type, as a scanner gives it (grayscale)."""
    page = Image.new("L", PAGE, 250)
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=round(16 * DPI / 72))
    for i, line in enumerate(lines):
        draw.text((DPI, DPI + i * round(30 * DPI / 72)), line, font=font, fill=20)
    return page.rotate(0.8, resample=Image.Resampling.BICUBIC, fillcolor=250)  # a slight skew


def scan(path: Path, *pages: tuple[str, ...]) -> Path:
    """An image-only PDF of one picture page per entry of ``pages``."""
    images = [picture_of(lines) for lines in pages]
    images[0].save(path, "PDF", resolution=DPI, save_all=True, append_images=images[1:])
    return path


def mixed(path: Path) -> Path:
    """Page 1 with a text layer (Helvetica), page 2 a scanned picture of :data:`LINES`."""
    picture = io.BytesIO()
    picture_of(LINES).save(picture, "PDF", resolution=DPI)
    with pikepdf.open(picture) as pdf:
        font = pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
        )
        page = pikepdf.Dictionary(
            Type=pikepdf.Name.Page,
            MediaBox=[0, 0, 595, 842],
            Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)),
            Contents=pdf.make_stream(b"BT /F1 14 Tf 72 760 Td (Harbour dues are payable monthly) Tj ET"),
        )
        pdf.pages.insert(0, pikepdf.Page(page))
        pdf.save(path)
    return path


def words(text: str) -> set[str]:
    return {word.strip(".,").lower() for word in text.split()}


def test_a_scan_is_read_through_ocr_and_the_reroute_is_reported(
    app: conversio.Conversio, tmp_path: Path
) -> None:
    source = scan(tmp_path / "ledger.pdf", LINES, ("Second page of the ledger",))
    result = app.convert(source, to="txt").run()
    pages = result.read_bytes().decode().split("\f")
    assert words(" ".join(LINES)) <= words(pages[0])
    assert {"second", "page", "ledger"} <= words(pages[1])
    assert result.warnings == (REROUTED.format(name="ledger.pdf"),)


def test_an_option_the_ocr_route_does_not_take_keeps_the_refusal(
    app: conversio.Conversio, tmp_path: Path
) -> None:
    with pytest.raises(ConversioError) as info:
        app.convert(scan(tmp_path / "ledger.pdf", LINES), to="txt", options={"pages": "1"}).run()
    assert info.value.code == "NO_TEXT_LAYER"
    assert info.value.message == (
        "ledger.pdf has no text layer: its pages are pictures (a scan?) whose text only OCR can read; "
        "pdf → txt by ocr.ocrmypdf could convert it, without the option pages"
    )
    assert info.value.details["refused"] == ["pages"]


def test_blank_pages_are_not_sent_to_ocr(app: conversio.Conversio, tmp_path: Path) -> None:
    blank = tmp_path / "blank.pdf"
    with pikepdf.new() as pdf:
        pdf.add_blank_page()
        pdf.save(blank)
    with pytest.raises(ConversioError) as info:
        app.convert(blank, to="txt").run()
    assert info.value.code == "NO_TEXT_LAYER"
    assert info.value.message == "blank.pdf has no text to extract: its pages are blank"
    assert info.value.details["converter"] == "pdf.pdfium:pdf->txt"


def test_a_mixed_document_keeps_its_text_layer_unless_ocr_is_preferred(
    app: conversio.Conversio, tmp_path: Path
) -> None:
    source = mixed(tmp_path / "mixed.pdf")
    layer = app.convert(source, to="txt").run()
    first, second = layer.read_bytes().decode().split("\f")
    assert first.strip() == "Harbour dues are payable monthly" and not second.strip()
    assert layer.warnings == (
        "mixed.pdf: page 2 holds only pictures, no text (OCR would be needed); it is empty in the text",
    )
    ocr = app.convert(source, to="txt", prefer=["ocr"]).run()
    first, second = ocr.read_bytes().decode().split("\f")[:2]
    assert {"harbour", "dues", "payable", "monthly"} <= words(first)
    assert words(" ".join(LINES)) <= words(second)
    assert ocr.warnings == ()


def test_the_cli_shows_the_ocr_route_and_takes_it_for_a_scan(run_cli: Cli, tmp_path: Path) -> None:
    route = run_cli("route", "pdf", "txt", "--explain", cwd=tmp_path)
    assert route.returncode == 0, route.stderr
    chosen, alternatives = route.stdout.split("alternatives:")
    assert "[pdf.pdfium:pdf->txt]" in chosen
    assert alternatives.splitlines()[1].strip() == "- pdf → txt  (cost 3) [ocr.ocrmypdf:pdf->txt]"

    scan(tmp_path / "ledger.pdf", LINES)
    done = run_cli("convert", "ledger.pdf", "--to", "txt", "-o", "ledger.txt", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert words(" ".join(LINES)) <= words((tmp_path / "ledger.txt").read_text(encoding="utf-8"))
    assert REROUTED.format(name="ledger.pdf") in done.stderr
