"""PDF/A-1b, -2b and -3b by Ghostscript: fonts embedded, an output intent, the XMP identification,
text and pictures kept; encrypted, damaged and non-conforming results refused."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium  # type: ignore[import-untyped]
import pytest
from conversio_pdf.pdfa_check import check_pdfa, pdfa_problems, shown_sizes
from pdf_samples import A4, encrypted_pdf
from PIL import Image

from conversio.converters import Output
from conversio.errors import ConversioError
from conversio.limits import Limits

Run = Callable[..., list[Output]]
PDFA = "pdf.ghostscript:pdfa(pdf)"
pytestmark = pytest.mark.skipif(shutil.which("gs") is None, reason="Ghostscript is not installed")


def _text(path: Path) -> list[str]:
    document = pdfium.PdfDocument(path)
    try:
        return [page.get_textpage().get_text_range() for page in document]
    finally:
        document.close()


def _fonts(pdf: pikepdf.Pdf) -> list[pikepdf.Object]:
    return [font for page in pdf.pages for font in page.Resources.get("/Font", {}).values()]


@pytest.mark.parametrize("level", ["1b", "2b", "3b"])
def test_text_in_an_unembedded_font_becomes_pdfa(run: Run, three_pages: Path, level: str) -> None:
    with pikepdf.open(three_pages) as source:
        assert "/FontDescriptor" not in source.pages[0].Resources.Font.F1  # Helvetica, not embedded
    [out] = run(PDFA, three_pages, level=level)
    assert out.name == "three.pdf"
    with pikepdf.open(out.path) as pdf:
        meta = pdf.open_metadata()
        assert (meta["pdfaid:part"], meta["pdfaid:conformance"]) == (level[0], "B")
        [intent] = pdf.Root.OutputIntents
        assert intent.S == pikepdf.Name.GTS_PDFA1
        assert isinstance(intent.DestOutputProfile, pikepdf.Stream)
        assert not pdf.is_encrypted
        assert len(pdf.pages) == 3
        assert pdfa_problems(pdf, level, [A4] * 3) == []
        fonts = _fonts(pdf)
        assert fonts
        assert all("Helvetica" in str(font.BaseFont) for font in fonts)
        assert all(
            any(key in font.FontDescriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))
            for font in fonts
        )
    texts = _text(out.path)
    assert [text.split() for text in texts] == [
        ["Page", "1", "alpha"],
        ["Page", "2", "bravo"],
        ["Page", "3", "charlie"],
    ]


def test_an_image_pdf_keeps_its_picture(run: Run, tmp_path: Path) -> None:
    picture = Image.new("RGB", (200, 100), (200, 30, 30))
    picture.paste((30, 30, 200), (100, 0, 200, 100))
    picture.save(tmp_path / "picture.pdf", resolution=72)
    [out] = run(PDFA, tmp_path / "picture.pdf")
    with pikepdf.open(out.path) as pdf:
        assert pdfa_problems(pdf, "2b", [(200.0, 100.0)]) == []
    document = pdfium.PdfDocument(out.path)
    try:
        rendered = document[0].render(scale=1).to_pil().convert("RGB")
    finally:
        document.close()
    for (x, y), colour in {(50, 50): (200, 30, 30), (150, 50): (30, 30, 200)}.items():
        assert all(abs(a - b) <= 12 for a, b in zip(rendered.getpixel((x, y)), colour, strict=True))


def test_an_encrypted_pdf_needs_its_password(run: Run, tmp_path: Path) -> None:
    locked = encrypted_pdf(tmp_path / "locked.pdf", user="secret")
    with pytest.raises(ConversioError) as caught:
        run(PDFA, locked)
    assert caught.value.code == "INVALID_PASSWORD"
    [out] = run(PDFA, locked, password="secret", level="3b")
    with pikepdf.open(out.path) as pdf:
        assert not pdf.is_encrypted
        assert pdfa_problems(pdf, "3b", shown_sizes(pdf)) == []


def test_garbage_is_a_corrupt_file(run: Run, tmp_path: Path) -> None:
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 40)
    with pytest.raises(ConversioError) as caught:
        run(PDFA, junk)
    assert caught.value.code == "CORRUPT_FILE"
    assert "junk.pdf" in str(caught.value)


def test_the_check_refuses_a_file_without_its_identification(
    run: Run, three_pages: Path, tmp_path: Path
) -> None:
    [out] = run(PDFA, three_pages)
    stripped = tmp_path / "stripped.pdf"
    with pikepdf.open(out.path) as pdf:
        del pdf.Root.Metadata
        pdf.save(stripped)
    with pytest.raises(ConversioError) as caught:
        check_pdfa(stripped, "report.pdf", "2b", [A4] * 3)
    assert caught.value.code == "CONVERSION_FAILED"
    assert "report.pdf" in str(caught.value)
    # ours, then pikepdf's validator's (6.6.2.1: the catalog needs its XMP metadata)
    assert caught.value.details["problems"] == [
        "its metadata does not identify it as PDF/A-2b",
        "it breaks PDF/A rule ISO_19005_2:6.6.2.1-1",
    ]


def test_the_check_names_what_else_is_missing(three_pages: Path) -> None:
    with pikepdf.open(three_pages) as pdf:
        assert pdfa_problems(pdf, "1b", [A4] * 2) == [
            "its metadata does not identify it as PDF/A-1b",
            "it has no output intent with a colour profile",
            "fonts are not embedded (Helvetica)",
            "it has 3 pages instead of 2",
        ]


def test_ghostscript_is_stopped_at_the_timeout(run: Run, three_pages: Path) -> None:
    with pytest.raises(ConversioError) as caught:
        run(PDFA, three_pages, limits=Limits(timeout=0.01))
    assert caught.value.code == "TIMEOUT"
    assert "three.pdf" in str(caught.value)


def test_dropped_tags_are_a_warning(run: Run, three_pages: Path, tmp_path: Path) -> None:
    tagged = tmp_path / "tagged.pdf"
    with pikepdf.open(three_pages) as pdf:
        pdf.Root.StructTreeRoot = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructTreeRoot))
        pdf.save(tagged)
    warnings: list[str] = []
    run(PDFA, tagged, warnings=warnings)
    assert warnings == ["tagged.pdf: its accessibility tags (structure tree) are not kept in the PDF/A"]


def test_postscript_in_a_pdf_does_not_run(run: Run, three_pages: Path) -> None:
    """A PostScript XObject that would read a local file, then loop forever, is not run."""
    with pikepdf.open(three_pages, allow_overwriting_input=True) as pdf:
        code = b"(/etc/passwd) (r) file 100 string readstring pop print { 1 0 1 {} for } loop"
        page = pdf.pages[0]
        page.Resources.XObject = pikepdf.Dictionary(
            P=pdf.make_stream(code, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.PS)
        )
        page.Contents = pdf.make_stream(page.Contents.read_bytes() + b" /P Do")
        pdf.save(three_pages)
    [out] = run(PDFA, three_pages, limits=Limits(timeout=30))
    assert b"root:" not in out.path.read_bytes()
    assert _text(out.path)[0].split() == ["Page", "1", "alpha"]
