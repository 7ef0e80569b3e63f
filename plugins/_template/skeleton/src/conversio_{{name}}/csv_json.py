"""CSV → JSON: a list with one object per row, keyed by the header row.

Streams line by line: memory stays flat whatever the size of the input.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from conversio.converters import ConversionRequest, Output, with_extension
from conversio.errors import CorruptFile

PROGRESS_EVERY = 1000  # rows


def csv_to_json(request: ConversionRequest) -> list[Output]:
    source = request.input
    out = request.output(with_extension(source.name, "json"))
    size = max(source.path.stat().st_size, 1)
    with source.path.open("rb") as raw, out.path.open("w", encoding="utf-8") as dst:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        rows = csv.reader(text, delimiter=request.options["delimiter"], strict=True)
        try:
            header = _header(rows, source.name)
            dst.write("[")
            for count, row in enumerate(filter(None, rows)):  # blank lines are skipped
                if len(row) > len(header):
                    raise CorruptFile(
                        f"{source.name} line {rows.line_num}: {len(row)} cells for {len(header)} columns",
                        file=source.name,
                        line=rows.line_num,
                    )
                record: dict[str, Any] = dict.fromkeys(header)  # missing cells stay null
                record.update(zip(header, row, strict=False))
                dst.write(("," if count else "") + "\n  " + json.dumps(record, ensure_ascii=False))
                if count % PROGRESS_EVERY == 0:
                    request.progress(raw.tell() / size)
            dst.write("\n]\n")
        except UnicodeDecodeError:
            raise CorruptFile(f"{source.name} is not UTF-8 text", file=source.name) from None
        except csv.Error as exc:
            raise CorruptFile(f"{source.name} line {rows.line_num}: {exc}", file=source.name) from None
    return [out]


def _header(rows: Iterator[list[str]], name: str) -> list[str]:
    """The first non-blank row; its cells must be distinct (else a column would be lost)."""
    header = next(filter(None, rows), None)
    if header is None:
        raise CorruptFile(f"{name} has no header row", file=name)
    duplicates = sorted({cell for cell in header if header.count(cell) > 1})
    if duplicates:
        raise CorruptFile(f"{name}: duplicate column names {', '.join(duplicates)}", file=name)
    return header
