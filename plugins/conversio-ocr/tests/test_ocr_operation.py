"""The ocr operation's modes and options: which pages get text, what is kept of the rest."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pikepdf
import pytest
from ocr_helpers import OCR, page_sizes, pdf_pages_text, run_converter
from ocr_samples import ENGLISH, image_pdf, render, text_pdf

from conversio.converters import Output
from conversio.errors import InvalidOption

pytestmark = pytest.mark.timeout(120)
TYPED = ["Typed text stays exactly as it was typed.", "Second line of real text."]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PDF whose first page has real text and whose second page is a scan."""
    folder = tmp_path_factory.mktemp("mixed")
    return text_pdf(folder / "mixed.pdf", TYPED, scan=render(ENGLISH, "DejaVu Sans", 12, 200))


@pytest.fixture(scope="module")
def skipped(mixed: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``mixed`` through the ocr operation with its defaults (mode skip)."""
    return run_converter(OCR, mixed, tmp_path_factory.mktemp("skipped")).path


def test_skip_leaves_pages_with_text_as_they_are_and_reads_the_scan(mixed: Path, skipped: Path) -> None:
    before, after = pdf_pages_text(mixed), pdf_pages_text(skipped)
    assert after[0] == before[0]  # the typed page's text, character for character
    assert before[1] == "" and "Invoices must be paid within thirty days" in after[1]
    assert page_sizes(skipped) == page_sizes(mixed)
    with pikepdf.open(mixed) as original, pikepdf.open(skipped) as result:
        assert result.pages[0].Contents.read_bytes() == original.pages[0].Contents.read_bytes()
        assert "/PDFA" not in str(result.open_metadata())  # plain PDF, not made PDF/A on the quiet


def test_a_pdf_whose_pages_all_have_text_is_fine_in_skip_mode(
    run: Callable[..., Output], tmp_path: Path
) -> None:
    typed = text_pdf(tmp_path / "typed.pdf", TYPED)
    result = run(OCR, typed)
    assert pdf_pages_text(result.path) == pdf_pages_text(typed)


def test_redo_replaces_an_earlier_ocr_layer_without_doubling_it(
    skipped: Path, run: Callable[..., Output]
) -> None:
    (first, second) = pdf_pages_text(run(OCR, skipped, mode="redo", optimize=0).path)
    assert second.count("Invoices") == 1
    assert pdf_pages_text(skipped)[0] in first  # typed text is kept (and recognised again: see README)


def test_force_reads_every_page_and_optimize_3_keeps_the_pages(
    mixed: Path, run: Callable[..., Output], tmp_path: Path
) -> None:
    result = run(OCR, mixed, mode="force", optimize=3).path
    texts = pdf_pages_text(result)
    assert "Typed text stays exactly" in texts[0] and "Invoices" in texts[1]
    assert page_sizes(result) == page_sizes(mixed)


def test_deskew_cannot_go_with_redo(mixed: Path, run: Callable[..., Output]) -> None:
    with pytest.raises(InvalidOption, match="'deskew' cannot be used with mode 'redo'"):
        run(OCR, mixed, mode="redo", deskew=True)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"mode": "default"}, "must be one of skip, redo, force"),
        ({"optimize": 4}, "at most 3"),
        ({"dpi": 300}, "dpi"),
    ],
)
def test_options_are_checked(
    mixed: Path, run: Callable[..., Output], options: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidOption, match=message):
        run(OCR, mixed, **options)


def test_an_unknown_language_is_refused_naming_the_installed_ones(
    mixed: Path, run: Callable[..., Output]
) -> None:
    with pytest.raises(InvalidOption) as caught:
        run(OCR, mixed, language="eng+klingon")
    assert "'klingon' is not installed" in caught.value.message
    assert "deu, eng, fra, spa" in caught.value.message and "osd" not in caught.value.message
    assert "mixed.pdf" in caught.value.message


def test_a_tagged_pdf_forced_warns_that_its_tags_are_dropped(
    run: Callable[..., Output], tmp_path: Path
) -> None:
    scan = image_pdf(tmp_path / "tagged.pdf", [render(ENGLISH[:2], "DejaVu Sans", 12, 200)])
    with pikepdf.open(scan, allow_overwriting_input=True) as pdf:
        pdf.Root.StructTreeRoot = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructTreeRoot))
        pdf.Root.MarkInfo = pikepdf.Dictionary(Marked=True)
        pdf.save(scan)
    warnings: list[str] = []
    result = run(OCR, scan, mode="force", warnings=warnings)
    assert "Invoices" in pdf_pages_text(result.path)[0]
    assert warnings == ["tagged.pdf: its accessibility tags are dropped on the pages OCRed anew"]
