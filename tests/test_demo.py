"""`make demo` works: scripts/demo.sh runs end to end and its results are what it says."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def _images(archive: Path) -> dict[str, Image.Image]:
    with zipfile.ZipFile(archive) as zf:
        return {name: Image.open(io.BytesIO(zf.read(name))) for name in zf.namelist()}


@pytest.mark.slow
def test_demo_script(tmp_path: Path) -> None:
    env = dict(os.environ)
    env.update(
        DEMO_BIN=str(Path(sys.executable).parent),
        DEMO_OUT=str(tmp_path / "out"),
        CONVERSIO_STORE=(tmp_path / "store").as_uri(),
    )
    result = subprocess.run(
        ["bash", str(ROOT / "scripts/demo.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "chosen: docx → pdf → jpg (×pages) → zip" in result.stdout

    report = _images(tmp_path / "out/report-pages.zip")
    assert sorted(report) == ["report-page001.jpg", "report-page002.jpg", "report-page003.jpg"]
    # A4 (210 × 297 mm) at 100 dpi
    assert {(im.format, im.size) for im in report.values()} == {("JPEG", (827, 1170))}

    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(tmp_path / "out/report-and-scan.pdf")
    with pikepdf.open(tmp_path / "out/report-and-scan.pdf", password="secret") as pdf:
        assert len(pdf.pages) == 3 + 3

    album = _images(tmp_path / "out/album-webp.zip")
    assert sorted(album) == ["album/harbour.webp", "album/mountains.webp", "album/sunset.webp"]
    assert {(im.format, im.size) for im in album.values()} == {("WEBP", (800, 600))}

    for name, words in (("guide.pdf", "Which engine does what"), ("page.pdf", "Harbour weather")):
        with pdfium.PdfDocument(tmp_path / "out" / name) as pdf:
            assert len(pdf) == 1 and words in pdf[0].get_textpage().get_text_range(), name
    guide = _images(tmp_path / "out/guide-pages.zip")
    assert sorted(guide) == ["guide-page001.png"]
    # A4 at 100 dpi, as Chromium rounds it (595.92 × 841.92 pt)
    assert {(im.format, im.size) for im in guide.values()} == {("PNG", (828, 1170))}

    _check_scan_and_epub(tmp_path / "out")
    assert "conversio serve --dev`, then open http://127.0.0.1:8000/" in result.stdout


#: Words of each page of examples/scan.pdf (scripts/make_scan_sample.py) that OCR must read.
SCAN_WORDS = (
    ("Harbour Office Annual Report", "northern pier", "timber, grain and machinery"),
    ("Plans for the Coming Season", "eastern quay", "harbour master in writing"),
)


def _check_scan_and_epub(out: Path) -> None:
    """The scan got a text layer (same pages, images kept) and its text; the guide is an EPUB."""
    with pdfium.PdfDocument(out / "scan-searchable.pdf") as pdf:
        texts = [" ".join(pdf[i].get_textpage().get_text_range().split()) for i in range(len(pdf))]
    assert len(texts) == len(SCAN_WORDS)
    for text, words in zip(texts, SCAN_WORDS, strict=True):
        assert all(w in text for w in words), text
    plain = " ".join((out / "scan.txt").read_text(encoding="utf-8").split())
    assert all(w in plain for words in SCAN_WORDS for w in words), plain

    with zipfile.ZipFile(out / "guide.epub") as epub:
        assert epub.read("mimetype") == b"application/epub+zip"
        opf = epub.read("EPUB/content.opf").decode()
        chapter = epub.read("EPUB/text/ch001.xhtml").decode()
    assert "<dc:title" in opf and ">guide<" in opf
    for heading in ("Converting with conversio", "Which engine does what", "Try it", "Before a release"):
        assert heading in chapter, heading
    assert chapter.count("<td") == 16 and "<script" not in chapter
