"""Every office document of the shared corpus prints to a PDF with a plausible page count.

The count is checked against the document's own where it has one: a
presentation gives one page per slide (pptx: ``ppt/slides/slideN.xml``, odp:
``draw:page``); a docx within one page of the count Word stored in
``docProps/app.xml`` (fonts differ); a manifest note such as "3 pages" exactly.
Otherwise between 1 and 200 pages. Where a note gives a password, the document
must fail with INVALID_PASSWORD without it and convert with it.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pikepdf
import pytest

import conversio
from conversio.errors import ConversioError
from conversio.testing import corpus_files

DOCUMENTS = corpus_files("office")
_PAGES = re.compile(r"(\d+) (?:pages?|slides?)\b")
_PASSWORD = re.compile(r"password '([^']*)'")


@pytest.mark.corpus
@pytest.mark.parametrize(("path", "row"), DOCUMENTS, ids=[p.name for p, _ in DOCUMENTS])
def test_corpus_document_prints_to_pdf(app: conversio.Conversio, path: Path, row: dict[str, str]) -> None:
    password = _PASSWORD.search(row["notes"])
    options = {"password": password.group(1)} if password else None
    if password:
        with pytest.raises(ConversioError) as info:
            app.convert(path, to="pdf").run()
        assert info.value.code == "INVALID_PASSWORD"
    result = app.convert(path, to="pdf", options=options).run()
    assert len(result.steps) == 1 and f"libreoffice:{row['format']}->pdf" in result.steps[0]
    [artifact] = result.artifacts
    with pikepdf.open(app.store.open(artifact.id)) as pdf:
        pages = len(pdf.pages)
    stated = _PAGES.search(row["notes"])
    own = own_page_count(path, row["format"])
    if stated:
        assert pages == int(stated.group(1))
    elif row["format"] in ("pptx", "odp"):
        assert pages == own
    elif own is not None:
        assert abs(pages - own) <= 1, f"{pages} pages, Word counted {own}"
    assert 1 <= pages <= 200


def own_page_count(path: Path, fmt: str) -> int | None:
    """Slides of a pptx or odp; the page count Word saved in a docx (None if it saved none)."""
    if fmt not in ("pptx", "odp", "docx"):
        return None
    with zipfile.ZipFile(path) as zf:
        if fmt == "pptx":
            return sum(1 for n in zf.namelist() if re.fullmatch(r"ppt/slides/slide\d+\.xml", n))
        if fmt == "odp":
            return zf.read("content.xml").count(b"<draw:page ")
        try:
            found = re.search(rb"<Pages>(\d+)</Pages>", zf.read("docProps/app.xml"))
        except KeyError:
            return None
        return int(found.group(1)) if found else None
