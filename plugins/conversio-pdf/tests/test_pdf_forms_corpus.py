"""Every real-world PDF of the shared corpus is described (the describe operation) as pikepdf and
pypdf read it, and the forms among them (LibreOffice, pdfTeX, the IRS 1040) fill exactly the fields named."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pikepdf
import pypdf
import pytest

from conversio.converters import Output
from conversio.testing import corpus_files

Run = Callable[..., list[Output]]
PDFS = corpus_files("pdf")
_PASSWORD = re.compile(r"user password '([^']*)'")


def _described(run: Run, path: Path, **options: Any) -> dict[str, Any]:
    (out,) = run("pdf.pikepdf:describe(pdf)", path, **options)
    data: dict[str, Any] = json.loads(out.path.read_text(encoding="utf-8"))
    return data


@pytest.mark.corpus
@pytest.mark.parametrize(("path", "row"), PDFS, ids=[p.name for p, _ in PDFS])
def test_corpus_pdf_is_described_and_its_form_filled(
    run: Run, path: Path, row: dict[str, str], tmp_path: Path
) -> None:
    match = _PASSWORD.search(row["notes"])
    options = {"password": match.group(1)} if match else {}
    described = _described(run, path, **options)
    with pikepdf.open(path, password=options.get("password", "")) as pdf:
        assert len(described["pages"]) == len(pdf.pages)
        assert described["encrypted"] == pdf.is_encrypted
    fields = described["form"]["fields"]
    known = pypdf.PdfReader(path, password=options.get("password")).get_fields() or {}
    assert {field["name"] for field in fields} <= set(known)
    text = next((f for f in fields if f["type"] == "text" and not f["read_only"]), None)
    box = next((f for f in fields if f["type"] == "checkbox" and not f["read_only"]), None)
    if text is None or box is None:
        return
    data = {text["name"]: "Changed, by conversio", box["name"]: box["value"] is None}
    (filled,) = run("pdf.pypdf:fill(pdf)", path, data=data, **options)
    after = {field["name"]: field["value"] for field in _described(run, filled.path)["form"]["fields"]}
    before = {field["name"]: field["value"] for field in fields}
    changed = sorted(name for name in before if before[name] != after[name])
    assert changed == sorted(data)
    assert after[text["name"]] == "Changed, by conversio"
    assert after[box["name"]] == (box["options"][0] if box["value"] is None else None)
