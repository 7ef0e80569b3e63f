"""The tables pdf2docx finds in a PDF, written as an Excel workbook: one sheet per table.

Runs in the engine process (:mod:`conversio_pdf2docx.engine`). A cell holding a plain number
(``42``, ``-3.5``; no leading zero, no thousands separator) becomes a number, anything else
stays text as it was read, a formula-like text (``=...``) too: a PDF cannot plant a formula.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?")

#: (1-based page number, rows of cell texts; ``None`` for a cell covered by a merged one)
Table = tuple[int, list[list[str | None]]]


def tables_of(converter: Any, indexes: list[int], settings: dict[str, Any]) -> list[Table]:
    """The tables of the pages at ``indexes``, in page order, as pdf2docx lays them out."""
    settings = {**converter.default_settings, **settings}
    converter.parse(pages=indexes, **settings)
    return [
        (page.id + 1, table)
        for page in converter.pages
        if page.finalized
        for table in page.extract_tables(**settings)
    ]


def value(text: str | None) -> str | int | float | None:
    """What a cell of ``text`` holds: a number when it is plainly one, else the text."""
    if text is None:
        return None
    text = text.strip()
    if _NUMBER.fullmatch(text):
        return float(text) if "." in text else int(text)
    return text


def write_workbook(tables: list[Table], target: Path) -> None:
    """``tables`` as a workbook at ``target``, sheets named ``Page 3 table 1``."""
    from openpyxl import Workbook  # type: ignore[import-untyped]

    book = Workbook()
    book.remove(book.active)
    counts: Counter[int] = Counter()
    for page, rows in tables:
        counts[page] += 1
        sheet = book.create_sheet(f"Page {page} table {counts[page]}")
        for row_number, row in enumerate(rows, start=1):
            for column, text in enumerate(row, start=1):
                cell = sheet.cell(row=row_number, column=column, value=value(text))
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # never a formula
    book.save(target)
