"""What a Word document made of a PDF keeps: words in order, ruled tables cell by cell, pictures,
the chosen pages; borderless tables on request; upright text of a landscape (rotated) page."""

from __future__ import annotations

import zipfile
from pathlib import Path

import docx  # type: ignore[import-untyped]
import pymupdf  # type: ignore[import-untyped]
from conftest import Run
from pdf2docx_samples import CELLS, SENTENCES, body_words, borderless, pages, report, sideways


def _words(*sentences: str) -> list[str]:
    return " ".join(sentences).replace(".", " ").split()


def test_paragraphs_a_ruled_table_and_a_picture_are_kept(run: Run, tmp_path: Path) -> None:
    [out] = run(report(tmp_path / "report.pdf"))
    assert out.name == "report.docx"
    document = docx.Document(str(out.path))
    [table] = document.tables
    assert [[cell.text.strip() for cell in row.cells] for row in table.rows] == CELLS
    cells = [text for row in CELLS for text in row]
    assert body_words(out.path) == _words(*SENTENCES[:2]) + cells + _words(SENTENCES[2])
    with zipfile.ZipFile(out.path) as archive:
        assert len([name for name in archive.namelist() if name.startswith("word/media/")]) == 1


def test_only_the_chosen_pages_are_converted(run: Run, tmp_path: Path) -> None:
    [out] = run(pages(tmp_path / "five.pdf", 5), pages="4-,2")
    assert body_words(out.path) == _words(
        "Page 2", SENTENCES[1], "Page 4", SENTENCES[0], "Page 5", SENTENCES[1]
    )


def test_borderless_tables_become_tables_only_when_asked(run: Run, tmp_path: Path) -> None:
    source = borderless(tmp_path / "columns.pdf")
    [plain] = run(source)
    assert docx.Document(str(plain.path)).tables == []
    cells = [text for row in CELLS for text in row]
    assert body_words(plain.path) == _words(SENTENCES[0]) + cells + _words(SENTENCES[1])
    [tabled] = run(source, borderless_tables=True)
    [table] = docx.Document(str(tabled.path)).tables
    assert [[cell.text.strip() for cell in row.cells] for row in table.rows] == CELLS


def test_a_landscape_page_stored_rotated_reads_upright(run: Run, tmp_path: Path) -> None:
    document = pymupdf.open(sideways(tmp_path / "upwards.pdf"))
    document[0].set_rotation(90)  # the text that ran upwards now reads left to right
    document.save(tmp_path / "landscape.pdf")
    [out] = run(tmp_path / "landscape.pdf")
    assert body_words(out.path) == _words(*SENTENCES * 3)
