"""Quality measured: known text rendered with Pillow, read back from conversio's output.

Word accuracy is 1 - (substituted + deleted + inserted words) / words of the text, the word
sequences aligned by difflib; a word counts only when it is read exactly (punctuation too).
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pypdfium2 as pdfium  # type: ignore[import-untyped]
import pytest
from ocr_helpers import OCR, page_sizes, pdf_pages_text, run_converter, text_converter
from ocr_samples import ENGLISH, FONTS, GERMAN, image_pdf, png_bytes, render, scanned, tiff

pytestmark = pytest.mark.timeout(120)

#: (points, dpi) of the clean renders, each in every font
SIZES = ((10, 200), (12, 300))
CLEAN = [(font, points, dpi) for font in FONTS for points, dpi in SIZES]


def word_accuracy(expected: list[str], read: str) -> float:
    reference, words = " ".join(expected).split(), read.split()
    matcher = difflib.SequenceMatcher(None, reference, words, autojunk=False)
    errors = sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal")
    return 1 - errors / len(reference)


def rendered(path: Path, index: int) -> list[int]:
    """Page ``index`` of the PDF at ``path`` drawn at 50 dpi, as grey levels."""
    document = pdfium.PdfDocument(path)
    try:
        image = document[index].render(scale=50 / 72, grayscale=True).to_pil().convert("L")
        return list(image.get_flattened_data())
    finally:
        document.close()


def straightness(path: Path) -> float:
    """How sharply the first page's ink falls into horizontal lines: the variance of its rows'
    darkness (level text lines give dark rows between white ones; slanted ones blur them)."""
    document = pdfium.PdfDocument(path)
    try:
        image = document[0].render(scale=150 / 72, grayscale=True).to_pil().convert("L")
    finally:
        document.close()
    width, height = image.size
    pixels = list(image.get_flattened_data())
    rows = [sum(255 - value for value in pixels[y * width : (y + 1) * width]) for y in range(height)]
    mean = sum(rows) / height
    return float(sum((row - mean) ** 2 for row in rows) / height)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An image-only PDF of the clean renders (a page each) and its OCRed copy."""
    folder = tmp_path_factory.mktemp("clean")
    scan = image_pdf(folder / "clean.pdf", [render(ENGLISH, *case) for case in CLEAN])
    return scan, run_converter(OCR, scan, folder / "out").path


def test_clean_renders_are_read_at_98_percent_of_words_or_better(clean: tuple[Path, Path]) -> None:
    _, result = clean
    texts = pdf_pages_text(result)
    scores = {case: word_accuracy(ENGLISH, text) for case, text in zip(CLEAN, texts, strict=True)}
    print({f"{font} {points}pt@{dpi}dpi": round(score, 4) for (font, points, dpi), score in scores.items()})
    assert min(scores.values()) >= 0.98, scores


def test_the_pages_look_the_same(clean: tuple[Path, Path]) -> None:
    scan, result = clean
    assert page_sizes(result) == page_sizes(scan)
    for index in (0, len(CLEAN) - 1):
        before, after = rendered(scan, index), rendered(result, index)
        assert max(abs(a - b) for a, b in zip(before, after, strict=True)) <= 2


def test_pages_turned_90_and_180_degrees_are_set_upright_with_rotate(tmp_path: Path) -> None:
    page = render(ENGLISH, "DejaVu Serif", 12, 200)
    scan = image_pdf(tmp_path / "turned.pdf", [page.rotate(90, expand=True), page.rotate(180)])
    result = run_converter(OCR, scan, tmp_path / "out", rotate=True).path
    scores = [word_accuracy(ENGLISH, text) for text in pdf_pages_text(result)]
    print("turned 90/180:", scores)
    assert min(scores) >= 0.98
    assert page_sizes(result) == [(468.0, 288.0)] * 2  # landscape again, as rendered


def test_a_slanted_noisy_scan_is_straightened_with_deskew_and_read_with_clean(tmp_path: Path) -> None:
    scan = image_pdf(tmp_path / "slanted.pdf", [scanned(render(ENGLISH, "Liberation Serif", 12, 200), 3.5)])
    result = run_converter(OCR, scan, tmp_path / "out", deskew=True, clean=True).path
    (text,) = pdf_pages_text(result)
    score = word_accuracy(ENGLISH, text)
    print("slanted 3.5°, noisy, deskewed and cleaned:", score, straightness(result) / straightness(scan))
    assert score >= 0.98
    assert straightness(result) > 1.5 * straightness(scan)


def test_each_page_of_a_tiff_becomes_text_separated_by_form_feeds(tmp_path: Path) -> None:
    pages = [render(ENGLISH, "Liberation Sans", 11, 300), render(ENGLISH[::-1], "DejaVu Sans", 10, 200)]
    result = run_converter(
        text_converter("tiff"), tiff(tmp_path / "two.tiff", pages), tmp_path / "out", clean=True
    )
    assert result.name == "two.txt"
    first, second = result.path.read_text(encoding="utf-8").split("\f")
    scores = [word_accuracy(ENGLISH, first), word_accuracy(ENGLISH[::-1], second)]
    print("tiff pages, cleaned:", scores)
    assert min(scores) >= 0.98


def test_german_is_read_with_language_deu_from_an_image_without_a_resolution(tmp_path: Path) -> None:
    image = tmp_path / "brief.png"
    page = render(GERMAN, "DejaVu Serif", 12, 300)
    del page.info["dpi"]
    image.write_bytes(png_bytes(page))
    text = run_converter(text_converter("png"), image, tmp_path / "out", language="deu").path.read_text(
        "utf-8"
    )
    score = word_accuracy(GERMAN, text)
    print("German, deu:", score)
    assert score >= 0.98
    assert "Größen" in text and "München" in text
