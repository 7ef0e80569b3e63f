"""Between editable formats: round trips that must keep the content."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

from office_samples import CSV, odp_slide_count, write_docx, write_odp

import conversio


def convert(app: conversio.Conversio, path: Path, fmt: str, folder: Path) -> Path:
    result = app.convert(path, to=fmt).run()
    assert len(result.steps) == 1 and f"libreoffice:{path.suffix[1:]}->{fmt}" in result.steps[0]
    [artifact] = result.artifacts
    assert artifact.format == fmt
    out = folder / f"step-{len(list(folder.iterdir()))}.{fmt}"
    out.write_bytes(app.store.open(artifact.id).read())
    return out


def test_text_round_trip_keeps_the_words(app: conversio.Conversio, tmp_path: Path) -> None:
    folder = tmp_path / "steps"
    folder.mkdir()
    path = write_docx(tmp_path / "start.docx", ["Grüße from the first page", "and the second"])
    for fmt in ("odt", "doc", "rtf", "docx"):
        path = convert(app, path, fmt, folder)
    with zipfile.ZipFile(path) as zf:
        xml = zf.read("word/document.xml").decode()
    assert "Grüße from the first page" in xml and "and the second" in xml


def test_sheet_round_trip_gives_back_the_csv(app: conversio.Conversio, tmp_path: Path) -> None:
    folder = tmp_path / "steps"
    folder.mkdir()
    path = tmp_path / "start.csv"
    path.write_text(CSV, encoding="utf-8")
    for fmt in ("xlsx", "ods", "xls", "csv"):
        path = convert(app, path, fmt, folder)
    got = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert got == list(csv.reader(io.StringIO(CSV)))


def test_slides_round_trip_keeps_every_slide(app: conversio.Conversio, tmp_path: Path) -> None:
    folder = tmp_path / "steps"
    folder.mkdir()
    path = write_odp(tmp_path / "start.odp", ["one", "two", "three"])
    for fmt in ("pptx", "ppt", "odp"):
        path = convert(app, path, fmt, folder)
    assert odp_slide_count(path) == 3
    with zipfile.ZipFile(path) as zf:
        assert b"three" in zf.read("content.xml")
