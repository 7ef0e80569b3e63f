"""Inputs a Word document cannot honestly be made of are refused with a code and a message that
names the user's file: scans, blank pages, sideways text, encryption without the password,
damage, page ranges outside the document. Picture pages among text pages are named in a warning."""

from __future__ import annotations

from pathlib import Path

import pymupdf  # type: ignore[import-untyped]
import pytest
from conftest import Run
from pdf2docx_samples import SENTENCES, blank, body_words, encrypted, pages, report, scan

from conversio.errors import ConversioError


def _refusal(run: Run, path: Path, **options: object) -> ConversioError:
    with pytest.raises(ConversioError) as refused:
        run(path, **options)
    assert path.name in refused.value.message
    assert str(path.parent) not in refused.value.message
    return refused.value


def test_a_scan_is_refused_with_the_way_to_ocr(run: Run, tmp_path: Path) -> None:
    error = _refusal(run, scan(tmp_path / "scan.pdf"))
    assert error.code == "NO_TEXT_LAYER"
    assert "ocr operation of conversio-ocr" in error.message
    assert error.details["pages"] == 1


def test_blank_pages_are_refused(run: Run, tmp_path: Path) -> None:
    error = _refusal(run, blank(tmp_path / "blank.pdf"))
    assert (error.code, error.details.get("blank")) == ("NO_TEXT_LAYER", True)


def test_a_picture_page_among_text_pages_is_named(run: Run, tmp_path: Path) -> None:
    warnings: list[str] = []
    [out] = run(scan(tmp_path / "mixed.pdf", text_first=True), warnings=warnings)
    assert body_words(out.path) == " ".join(SENTENCES).replace(".", "").split()
    assert warnings == [
        "mixed.pdf: page 2 holds only pictures, so nothing on it can be edited; "
        "OCR (the ocr operation of conversio-ocr) makes a scan's text searchable, then it converts"
    ]


def test_text_that_reads_sideways_is_refused_not_dropped(run: Run, tmp_path: Path) -> None:
    document = pymupdf.open(pages(tmp_path / "upright.pdf", 1))
    document[0].set_rotation(90)  # shown turned: its lines run down the screen
    document.save(tmp_path / "turned.pdf")
    error = _refusal(run, tmp_path / "turned.pdf")
    assert (error.code, error.details["final"]) == ("CONVERSION_FAILED", True)
    assert "100% of the words of turned.pdf are missing" in error.message


@pytest.mark.parametrize(
    ("password", "says"),
    [(None, "is encrypted: give its password"), ("sesame!", "the password is wrong")],
)
def test_an_encrypted_pdf_needs_its_password(
    run: Run, tmp_path: Path, password: str | None, says: str
) -> None:
    given = {} if password is None else {"password": password}
    error = _refusal(run, encrypted(tmp_path / "locked.pdf", "sesame"), **given)
    assert error.code == "INVALID_PASSWORD"
    assert says in error.message


def test_an_encrypted_pdf_opens_with_its_password(run: Run, tmp_path: Path) -> None:
    [out] = run(encrypted(tmp_path / "locked.pdf", "sesame"), password="sesame")
    assert body_words(out.path)[:3] == ["Page", "1", "Alpha"]


def test_a_truncated_pdf_is_corrupt(run: Run, tmp_path: Path) -> None:
    whole = report(tmp_path / "whole.pdf").read_bytes()
    (tmp_path / "cut.pdf").write_bytes(whole[: len(whole) // 3])
    error = _refusal(run, tmp_path / "cut.pdf")
    assert error.code == "CORRUPT_FILE"
    assert "pdf2docx" not in error.message.lower() and "mupdf" not in error.message.lower()


def test_pages_outside_the_document_are_an_invalid_option(run: Run, tmp_path: Path) -> None:
    with pytest.raises(ConversioError) as refused:
        run(pages(tmp_path / "three.pdf"), pages="2-4")
    assert (refused.value.code, refused.value.message) == (
        "INVALID_OPTION",
        "option 'pages': '2-4' is outside pages 1-3",
    )
