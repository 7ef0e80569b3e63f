"""pdf → xlsx: each table of a PDF as a sheet; plain numbers as numbers, other text as it is (a
formula-like text too); a PDF without a table refused."""

from __future__ import annotations

from pathlib import Path

import openpyxl  # type: ignore[import-untyped]
import pytest
from conftest import Run
from pdf2docx_samples import CELLS, borderless, ledger, pages, report

from conversio.errors import ConversioError


def _sheets(path: Path) -> dict[str, list[list[object]]]:
    book = openpyxl.load_workbook(path)
    return {sheet.title: [list(row) for row in sheet.iter_rows(values_only=True)] for sheet in book}


def test_a_ruled_table_becomes_a_sheet(run: Run, tmp_path: Path) -> None:
    [out] = run(report(tmp_path / "report.pdf"), to="xlsx")
    assert out.name == "report.xlsx"
    assert _sheets(out.path) == {"Page 1 table 1": CELLS}


def test_numbers_become_numbers_and_a_formula_stays_text(run: Run, tmp_path: Path) -> None:
    [out] = run(ledger(tmp_path / "ledger.pdf"), to="xlsx")
    assert _sheets(out.path) == {
        "Page 1 table 1": [
            ["item", "count", "price", "code"],
            ["apples", 12, -3.5, "007"],
            ["pears", "1,200", 0.25, "=1+1"],
        ]
    }
    cell = openpyxl.load_workbook(out.path)["Page 1 table 1"]["D3"]
    assert cell.data_type == "s"


def test_a_borderless_table_is_found_when_asked(run: Run, tmp_path: Path) -> None:
    source = borderless(tmp_path / "columns.pdf")
    with pytest.raises(ConversioError) as refused:
        run(source, to="xlsx")
    assert (refused.value.code, refused.value.details["final"]) == ("CONVERSION_FAILED", True)
    assert refused.value.message == (
        "columns.pdf has no table to put in a workbook "
        "(tables drawn with lines; borderless_tables=true finds others)"
    )
    [out] = run(source, to="xlsx", borderless_tables=True)
    assert _sheets(out.path) == {"Page 1 table 1": CELLS}


def test_text_without_tables_is_refused(run: Run, tmp_path: Path) -> None:
    with pytest.raises(ConversioError) as refused:
        run(pages(tmp_path / "prose.pdf", 1), to="xlsx", borderless_tables=True)
    assert refused.value.message == "prose.pdf has no table to put in a workbook"
