"""Pandoc joined to the other engines: documents to PDF through HTML and Chromium, Markdown to
EPUB, and the routes where another engine must keep winning."""

from __future__ import annotations

import io
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import pypdfium2
import pytest
from PIL import Image

import conversio

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "examples" / "guide.md"
Cli = Callable[..., subprocess.CompletedProcess[str]]
REST = """Field Notes
===========

The survey covered three valleys.

- northern ridge
- southern basin

=======  =====
Valley   Birds
=======  =====
Alder    14
Birch    9
=======  =====
"""

pytestmark = pytest.mark.skipif(
    not {"pandoc", "chromium"}
    <= {c.engine.split(".")[0] for c in conversio.Conversio(store="memory://").converters()},
    reason="conversio-pandoc and conversio-chromium are both needed",
)


def pdf_text(path: Path) -> str:
    """The text of a PDF, its words joined by single spaces."""
    document = pypdfium2.PdfDocument(path)
    try:
        return " ".join(" ".join(page.get_textpage().get_text_range() for page in document).split())
    finally:
        document.close()


def teal_pixels(path: Path) -> int:
    """How many pixels of the PDF's first page, rendered, are the teal of the test's picture."""
    document = pypdfium2.PdfDocument(path)
    try:
        image = document[0].render(scale=1).to_pil().convert("RGB")
    finally:
        document.close()
    return {colour: count for count, colour in image.getcolors(1 << 24) or []}.get((0, 128, 128), 0)


@pytest.mark.parametrize(
    ("source", "target", "converters"),
    [
        ("rst", "pdf", ["pandoc:rst->html", "chromium:html->pdf"]),
        ("epub", "pdf", ["pandoc:epub->html", "chromium:html->pdf"]),
        ("latex", "pdf", ["pandoc:latex->html", "chromium:html->pdf"]),
        ("md", "epub", ["pandoc:md->epub"]),
        ("md", "pdf", ["chromium:md->pdf"]),
        ("docx", "pdf", ["office.libreoffice:docx->pdf"]),
        ("odt", "docx", ["office.libreoffice:odt->docx"]),
        ("html", "pdf", ["chromium:html->pdf"]),
        ("docx", "odt", ["office.libreoffice:docx->odt"]),
        # pictures of a document's pages, with its layout: never Pandoc's text drawn by Chromium
        ("docx", "jpg", ["office.libreoffice:docx->pdf", "pdf.pdfium:pdf->jpg"]),
        ("odt", "png", ["office.libreoffice:odt->pdf", "pdf.pdfium:pdf->png"]),
        ("docx", "webp", ["office.libreoffice:docx->pdf", "pdf.pdfium:pdf->webp"]),
    ],
)
def test_the_router_picks_the_better_engine(
    app: conversio.Conversio, source: str, target: str, converters: list[str]
) -> None:
    assert [step.spec.id for step in app.route(source, target).steps if step.spec] == converters


@pytest.mark.parametrize(
    ("source", "converters"),
    [
        ("rst", ["pandoc:rst->docx", "office.libreoffice:docx->pdf"]),
        ("md", ["pandoc:md->docx", "office.libreoffice:docx->pdf"]),
        ("epub", ["pandoc:epub->docx", "office.libreoffice:docx->pdf"]),
        ("html", ["office.libreoffice:html->pdf"]),
    ],
)
def test_without_chromium_documents_print_through_word_and_libreoffice(
    app: conversio.Conversio, source: str, converters: list[str]
) -> None:
    route = app.route(source, "pdf", avoid=["chromium"])
    assert [step.spec.id for step in route.steps if step.spec] == converters


def test_restructuredtext_prints_through_html_and_chromium(app: conversio.Conversio, tmp_path: Path) -> None:
    source = tmp_path / "notes.rst"
    source.write_text(REST)
    result = app.convert(source, to="pdf").run()
    [pdf] = result.save(tmp_path / "out")
    text = pdf_text(pdf)
    for words in (
        "Field Notes",
        "The survey covered three valleys.",
        "northern ridge",
        "Alder 14",
        "Birch 9",
    ):
        assert words in text


def test_an_ebook_prints_with_its_images(app: conversio.Conversio, tmp_path: Path) -> None:
    picture = tmp_path / "map.png"
    Image.new("RGB", (120, 80), "teal").save(picture)
    book = tmp_path / "book.md"
    book.write_text("# The Voyage\n\nWe sailed at dawn.\n")
    [epub] = app.convert(book, to="epub").save(tmp_path / "epub")
    with zipfile.ZipFile(epub) as archive, zipfile.ZipFile(tmp_path / "with-map.epub", "w") as rebuilt:
        for item in archive.infolist():
            data = archive.read(item)
            if item.filename.endswith("ch001.xhtml"):
                data = data.replace(b"</section>", b'<img src="../media/map.png" alt="The map" /></section>')
            rebuilt.writestr(item, data)
        rebuilt.write(picture, "EPUB/media/map.png")
    [pdf] = app.convert(tmp_path / "with-map.epub", to="pdf").save(tmp_path / "pdf")
    text = pdf_text(pdf)
    assert "The Voyage" in text and "We sailed at dawn." in text
    assert teal_pixels(pdf) > 120 * 80 // 2


def test_the_guide_becomes_an_epub_with_its_chapters_and_table(
    app: conversio.Conversio, tmp_path: Path
) -> None:
    [epub] = app.convert(GUIDE, to="epub").save(tmp_path)
    with zipfile.ZipFile(epub) as archive:
        xhtml = b" ".join(
            archive.read(n) for n in archive.namelist() if n.startswith("EPUB/text/ch")
        ).decode()
        assert archive.read("mimetype") == b"application/epub+zip"
    for words in ("Converting with conversio", "Which engine does what", "LibreOffice", "Before a release"):
        assert words in xhtml
    assert xhtml.count("<td") == 16 and "<script" not in xhtml


def test_markdown_via_html_prints_with_pandoc_then_chromium(app: conversio.Conversio, tmp_path: Path) -> None:
    result = app.convert(GUIDE, to="pdf", via=["html"]).run()
    assert result.steps == ("md → html  [pandoc:md->html]", "html → pdf  [chromium:html->pdf]")
    [pdf] = result.save(tmp_path)
    text = pdf_text(pdf)
    assert "Which engine does what" in text and "LibreOffice DOCX, ODT PDF" not in text
    assert "DOCX, ODT PDF LibreOffice 0.8 s" in text


def test_the_cli_turns_a_word_file_into_markdown_with_its_images(run_cli: Cli, tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_heading("Site Survey", level=1)
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "orange").save(buffer, "PNG")
    document.add_picture(buffer)
    document.save(str(tmp_path / "survey.docx"))
    done = run_cli("convert", "survey.docx", "--to", "textpack", "-o", "survey.textpack", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(tmp_path / "survey.textpack") as archive:
        markdown = archive.read("text.md").decode()
        [image] = [n for n in archive.namelist() if n.startswith("assets/")]
        assert f'src="{image}"' in markdown or f"]({image})" in markdown
        assert Image.open(io.BytesIO(archive.read(image))).size == (40, 30)
    assert "# Site Survey" in markdown
