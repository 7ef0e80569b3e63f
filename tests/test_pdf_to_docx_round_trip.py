"""Issue 21's fidelity check of pdf → docx: a Word document made with python-docx, printed to PDF
by LibreOffice and turned back into Word by pdf2docx keeps at least 95 % of its words in order,
every table with its rows and columns, and its picture."""

from __future__ import annotations

import difflib
import io
import re
import zipfile
from pathlib import Path

import docx  # type: ignore[import-untyped]
import pytest
from docx.enum.text import WD_BREAK  # type: ignore[import-untyped]
from docx.oxml.ns import qn  # type: ignore[import-untyped]
from docx.shared import Inches  # type: ignore[import-untyped]
from PIL import Image, ImageDraw

import conversio

pytestmark = pytest.mark.skipif(
    not Path("/usr/bin/soffice").exists(),
    reason="LibreOffice is not installed (scripts/bootstrap.sh installs it)",
)
#: 25 made-up words, all different: "kara", "kato", ...
NAMES = [
    first + second for first in ("ka", "lo", "mi", "ne", "su") for second in ("ra", "to", "vi", "xe", "zo")
]
#: (rows, columns) of the document's tables, in order
TABLES = ((3, 4), (5, 2), (2, 6))


def sentence(seed: int, length: int = 14) -> str:
    """``length`` words from :data:`NAMES`, every fifth with a number: text whose order shows."""
    picks = [NAMES[(seed * 7 + index * 3) % len(NAMES)] for index in range(length)]
    return " ".join(word + ("" if index % 5 else str(seed + index)) for index, word in enumerate(picks)) + "."


def _picture() -> io.BytesIO:
    image = Image.new("RGB", (400, 200), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, 380, 180), outline="navy", width=6)
    draw.ellipse((150, 50, 250, 150), fill="orange")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    buffer.seek(0)
    return buffer


def _table(document: docx.document.Document, shape: tuple[int, int], tag: str) -> None:
    rows, columns = shape
    table = document.add_table(rows=rows, cols=columns)
    table.style = "Table Grid"
    for row in range(rows):
        for column in range(columns):
            table.cell(
                row, column
            ).text = f"{tag}{row}{column} {NAMES[(row * columns + column) % len(NAMES)]}"


def write_report(path: Path) -> Path:
    """Two pages: headings, plain, bold, italic and quoted paragraphs, three ruled tables of
    different shapes, a bulleted and a numbered list, a picture."""
    document = docx.Document()
    document.add_heading("Quarterly report", level=1)
    for seed in range(3):
        document.add_paragraph(sentence(seed, 30))
    mixed = document.add_paragraph()
    mixed.add_run("Bold start ").bold = True
    mixed.add_run(sentence(9))
    mixed.add_run(" italic end").italic = True
    document.add_paragraph(sentence(11), style="Quote")
    document.add_heading("Figures", level=2)
    _table(document, TABLES[0], "a")
    document.add_paragraph(sentence(12, 20))
    for seed in range(4):
        document.add_paragraph(f"item {seed} {sentence(20 + seed, 6)}", style="List Bullet")
    document.add_picture(_picture(), width=Inches(3))
    document.add_paragraph(sentence(30, 25))
    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    document.add_heading("Second page", level=1)
    document.add_paragraph(sentence(40, 40))
    _table(document, TABLES[1], "b")
    document.add_paragraph(sentence(41, 20), style="Intense Quote")
    _table(document, TABLES[2], "c")
    for seed in range(3):
        document.add_paragraph(f"step {seed} {sentence(50 + seed, 8)}", style="List Number")
    document.add_paragraph(sentence(60, 30))
    document.save(str(path))
    return path


def words(path: Path) -> list[str]:
    """The words of a Word document in reading order (paragraphs, table cells, text boxes)."""
    body = docx.Document(str(path)).element.body
    return re.findall(r"\w+", " ".join(node.text or "" for node in body.iter(qn("w:t"))).lower())


def kept_in_order(original: list[str], result: list[str]) -> float:
    """The share of ``original``'s words that ``result`` holds in the same order."""
    matcher = difflib.SequenceMatcher(None, original, result, autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks()) / len(original)


def shapes(path: Path) -> list[tuple[int, int, int]]:
    """Each table's rows, columns and cells."""
    return [
        (len(table.rows), len(table.columns), sum(len(row.cells) for row in table.rows))
        for table in docx.Document(str(path)).tables
    ]


def test_docx_to_pdf_to_docx_keeps_words_tables_and_the_picture(
    app: conversio.Conversio, tmp_path: Path
) -> None:
    original = write_report(tmp_path / "report.docx")
    [pdf] = app.convert(original, to="pdf").save(tmp_path / "report.pdf")
    result = app.convert(pdf, to="docx").run()
    assert result.steps == ("pdf → docx  [pdf2docx.pdf2docx:pdf->docx]",)
    [back] = result.save(tmp_path / "back.docx")
    assert kept_in_order(words(original), words(back)) >= 0.95
    assert shapes(back) == [(rows, columns, rows * columns) for rows, columns in TABLES]
    with zipfile.ZipFile(back) as archive:
        assert len([name for name in archive.namelist() if name.startswith("word/media/")]) == 1
