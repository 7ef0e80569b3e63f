"""Real-world PDFs of the shared corpus (skipped when it is absent): every word of their text
layer, in order, in the Word document."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import pymupdf  # type: ignore[import-untyped]
import pytest
from conftest import Run
from pdf2docx_samples import body_words

pytestmark = pytest.mark.corpus


def _in_order(source: Path, result: Path, password: str = "") -> float:
    """The share of the PDF's words that the Word document holds in the same order."""
    document = pymupdf.open(source)
    document.authenticate(password)
    pdf = re.findall(r"\w+", " ".join(page.get_text() for page in document).lower())
    docx = re.findall(r"\w+", " ".join(body_words(result)).lower())
    matcher = difflib.SequenceMatcher(None, pdf, docx, autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks()) / len(pdf)


@pytest.mark.parametrize(
    ("name", "password"),
    [("minimal-document.pdf", None), ("libreoffice-writer-password.pdf", "openpassword")],
)
def test_a_real_pdf_keeps_its_words_in_order(run: Run, corpus: Path, name: str, password: str | None) -> None:
    source = corpus / "pdf" / name
    [out] = run(source, **({"password": password} if password else {}))
    assert _in_order(source, out.path, password or "") == 1.0
