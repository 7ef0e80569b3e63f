"""The real pages and READMEs of the shared corpus, printed by Chromium and their text read back.

Skipped when the corpus is absent. Their resources on the web are refused by the network policy
(the tests run without the network): the pages still print, with their own text.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pypdfium2
import pytest

import conversio
from conversio.limits import Limits
from conversio.testing import corpus_files, make_conversio

PAGES = [path for path, row in corpus_files("markup") if row["format"] in ("html", "md")]
#: Words each file's PDF must show: its title or first lines, and for a README some of its code.
EXPECTED = {
    "readability-ietf-1.html": ["remoteStorage"],
    "readability-wikipedia.html": ["Mozilla", "Firefox"],
    "resume.html": ["Здравствуйте"],  # UTF-8 without a charset: not read as Windows-1252
    "file-type-readme.md": ["Detect the file type of a file, stream, or data", "npm install file-type"],
    "mammoth-README.md": ["Mammoth .docx to HTML converter", "import mammoth"],
}


@pytest.fixture(scope="module")
def app() -> Iterator[conversio.Conversio]:
    instance = make_conversio("conversio_chromium.plugin", cache=False, limits=Limits(timeout=60))
    yield instance
    instance.close()


@pytest.mark.corpus
@pytest.mark.parametrize("path", PAGES, ids=[path.name for path in PAGES])
def test_a_corpus_page_prints_with_its_text(app: conversio.Conversio, path: Path, tmp_path: Path) -> None:
    result = app.convert(path, to="pdf").run()
    assert len(result.steps) == 1 and "chromium" in result.steps[0]
    [pdf] = result.save(tmp_path)
    document = pypdfium2.PdfDocument(pdf)
    try:
        text = " ".join(page.get_textpage().get_text_range() for page in document)
        pages = len(document)
    finally:
        document.close()
    assert pages >= 1 and len(text.split()) > 100, f"{path.name}: {pages} pages, {len(text)} characters"
    for words in EXPECTED.get(path.name, []):
        assert words in " ".join(text.split()), f"{path.name}: {words!r} not in its PDF"
