"""Text of a PDF without a text layer: a clear NO_TEXT_LAYER, never an empty file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pdf_samples import blank_pdf, broken_stream, make_pdf, mixed_pdf, no_pages_pdf, scan_pdf

from conversio.converters import Output
from conversio.errors import ConversioError
from conversio.testing import corpus_files

Run = Callable[..., list[Output]]
TXT = "pdf.pdfium:pdf->txt"


def _refusal(run: Run, path: Path, **options: object) -> ConversioError:
    with pytest.raises(ConversioError) as info:
        run(TXT, path, **options)
    return info.value


@pytest.mark.parametrize("layout", [False, True])
def test_a_scan_has_no_text_layer(run: Run, tmp_path: Path, layout: bool) -> None:
    error = _refusal(run, scan_pdf(tmp_path / "scan.pdf", pages=2), layout=layout)
    assert error.code == "NO_TEXT_LAYER"
    assert error.message.startswith("scan.pdf ") and "OCR" in error.message
    assert error.details == {"file": "scan.pdf", "pages": 2}


def test_the_corpus_scan_has_no_text_layer(run: Run) -> None:
    scans = [path for path, _ in corpus_files("pdf") if path.name == "testOCR.pdf"]
    if not scans:
        pytest.skip("the corpus's pdf/testOCR.pdf is absent")
    error = _refusal(run, scans[0])
    assert error.code == "NO_TEXT_LAYER" and "testOCR.pdf" in error.message


def test_text_pages_convert_and_a_picture_page_is_empty_with_a_warning(run: Run, tmp_path: Path) -> None:
    warnings: list[str] = []
    (out,) = run(TXT, mixed_pdf(tmp_path / "mixed.pdf"), warnings=warnings)
    pages = out.path.read_text(encoding="utf-8").split("\f")
    assert [page.strip() for page in pages] == ["Page 1 one", "", "Page 3 three", ""]
    # the picture page is named; the blank page 4 is simply empty
    assert warnings == [
        "mixed.pdf: page 2 holds only pictures, no text (OCR would be needed); it is empty in the text"
    ]


def test_only_the_chosen_pages_are_judged(run: Run, tmp_path: Path) -> None:
    mixed = mixed_pdf(tmp_path / "mixed.pdf")
    assert _refusal(run, mixed, pages="2").code == "NO_TEXT_LAYER"
    warnings: list[str] = []
    (out,) = run(TXT, mixed, pages="1", warnings=warnings)
    assert out.path.read_text(encoding="utf-8").strip() == "Page 1 one" and warnings == []


def test_blank_pages_say_so(run: Run, tmp_path: Path) -> None:
    error = _refusal(run, blank_pdf(tmp_path / "blank.pdf"))
    assert error.code == "NO_TEXT_LAYER"
    assert error.message == "blank.pdf has no text to extract: its pages are blank"


def test_a_pdf_without_pages_is_empty(run: Run, tmp_path: Path) -> None:
    for converter in (TXT, "pdf.pdfium:pdf->png"):
        error = _refusal(run, no_pages_pdf(tmp_path / "none.pdf")) if converter == TXT else None
        if error is None:
            with pytest.raises(ConversioError) as info:
                run(converter, tmp_path / "none.pdf")
            error = info.value
        assert error.code == "EMPTY_FILE"
        assert error.message == "none.pdf has no pages: there is nothing to convert"


def test_a_page_whose_content_cannot_be_read_is_damage_not_blankness(run: Run, tmp_path: Path) -> None:
    error = _refusal(run, broken_stream(tmp_path / "broken.pdf"))
    assert error.code == "CORRUPT_FILE"
    assert error.message.startswith("broken.pdf is damaged: the content of page 1 cannot be read")


def test_a_truncated_pdf_gives_the_pages_it_still_has_with_warnings(run: Run, tmp_path: Path) -> None:
    whole = make_pdf(tmp_path / "whole.pdf", pages=3, words=["alpha", "bravo", "charlie"]).read_bytes()
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(whole[: len(whole) // 2])  # page 1's content survives, pages 2 and 3 lost theirs
    warnings: list[str] = []
    (out,) = run(TXT, cut, warnings=warnings)
    assert out.path.read_text(encoding="utf-8").split("\f")[0].strip() == "Page 1 alpha"
    assert warnings == [
        "cut.pdf is damaged and was repaired before conversion: check the result",
        "cut.pdf is damaged: the content of pages 2-3 cannot be read; they are empty in the text",
    ]


def test_a_page_whose_content_cannot_be_read_renders_blank_with_a_warning(run: Run, tmp_path: Path) -> None:
    warnings: list[str] = []
    (image,) = run("pdf.pdfium:pdf->png", broken_stream(tmp_path / "broken.pdf"), dpi=20, warnings=warnings)
    assert image.name == "broken-page001.png"
    assert warnings == [
        "broken.pdf is damaged: the content of page 1 cannot be read; it is blank in the images"
    ]
