"""Real Word files and e-books of the shared corpus, made Markdown with their images.

Skipped when the corpus is absent."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from conftest import Convert, saved, zip_members
from PIL import Image

from conversio.testing import corpus_files

BOOKS = [
    path
    for kind in ("markup", "office")
    for path, row in corpus_files(kind)
    if row["format"] in ("epub", "docx")
]
LINK = re.compile(r'(?:src="|\]\()(assets/[^")\s]+)')


@pytest.mark.corpus
@pytest.mark.parametrize("path", BOOKS, ids=[path.name for path in BOOKS])
def test_a_corpus_document_becomes_markdown_with_its_images(
    convert: Convert, path: Path, tmp_path: Path
) -> None:
    members = zip_members(saved(convert(path, path.name, "textpack"), tmp_path))
    markdown = members["text.md"].decode()
    assert markdown.strip(), f"{path.name}: no text"
    links = set(LINK.findall(markdown))
    assets = {name for name in members if name.startswith("assets/")}
    assert links == assets, f"{path.name}: {sorted(links ^ assets)} missing or not linked"
    for name in sorted(links)[:5]:
        if not name.endswith((".svg", ".emf", ".wmf")):
            Image.open(io.BytesIO(members[name])).load()
