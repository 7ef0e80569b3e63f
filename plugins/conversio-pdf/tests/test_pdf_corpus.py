"""Every real-world PDF of the shared corpus rasterises and merges correctly, or fails with the right code.

Expected page counts come from pikepdf and page sizes (after /Rotate) from
PDFium's own page boxes; the encrypted file must fail with INVALID_PASSWORD
without its password (from the manifest's notes) and work with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium  # type: ignore[import-untyped]
import pytest
from pdf_samples import make_pdf
from PIL import Image

import conversio
from conversio.errors import ConversioError
from conversio.testing import corpus_files, make_conversio

PDFS = corpus_files("pdf")
_PASSWORD = re.compile(r"user password '([^']*)'")
DPI = 40


@pytest.fixture(scope="module")
def app() -> Iterator[conversio.Conversio]:
    app = make_conversio("conversio_pdf.plugin")
    yield app
    app.close()


def _password(row: dict[str, str]) -> str | None:
    match = _PASSWORD.search(row["notes"])
    return match.group(1) if match else None


def _expected_sizes(path: Path, password: str | None) -> list[tuple[float, float]]:
    """Each page's displayed size in points (PDFium's page size already follows /Rotate)."""
    document = pdfium.PdfDocument(path, password=password)
    try:
        return [document.get_page_size(index) for index in range(len(document))]
    finally:
        document.close()


def _needs_password(app: conversio.Conversio, password: str | None, run: object) -> None:
    if password is None:
        return
    with pytest.raises(ConversioError) as info:
        run()  # type: ignore[operator]
    assert info.value.code == "INVALID_PASSWORD"


@pytest.mark.corpus
@pytest.mark.parametrize(("path", "row"), PDFS, ids=[p.name for p, _ in PDFS])
def test_corpus_pdf_rasterises_page_by_page(
    app: conversio.Conversio, path: Path, row: dict[str, str], tmp_path: Path
) -> None:
    password = _password(row)
    _needs_password(app, password, lambda: app.convert(path, to="png", options={"dpi": DPI}).run())
    options: dict[str, object] = {"dpi": DPI} | ({"password": password} if password else {})
    result = app.convert(path, to="png", options=options).run()
    with pikepdf.open(path, password=password or "") as pdf:
        assert len(result.artifacts) == len(pdf.pages)
    sizes = _expected_sizes(path, password)
    stem = path.stem
    assert [a.name for a in result.artifacts] == [f"{stem}-page{n:03d}.png" for n in range(1, len(sizes) + 1)]
    for artifact, (width, height), saved in zip(result.artifacts, sizes, result.save(tmp_path), strict=True):
        assert saved.name == artifact.name
        with Image.open(saved) as image:
            image.load()
            assert abs(image.width - width * DPI / 72) <= 1.5
            assert abs(image.height - height * DPI / 72) <= 1.5
            assert image.getextrema()  # decodes


@pytest.mark.corpus
@pytest.mark.parametrize(("path", "row"), PDFS, ids=[p.name for p, _ in PDFS])
def test_corpus_pdf_merges_with_another(
    app: conversio.Conversio, path: Path, row: dict[str, str], tmp_path: Path
) -> None:
    password = _password(row)
    other = make_pdf(tmp_path / "zz-appendix.pdf", pages=2)
    _needs_password(app, password, lambda: app.convert([path, other]).then("merge").run())
    options = {"password": password} if password else {}
    if password:
        # one password opens every input of a merge: encrypt the appendix with it too
        with pikepdf.open(other) as pdf:
            pdf.save(tmp_path / "zz-locked.pdf", encryption=pikepdf.Encryption(user=password, owner="o", R=6))
        other = tmp_path / "zz-locked.pdf"
    result = app.convert([path, other]).then("merge", **options).run()
    (saved,) = result.save(tmp_path / "out")
    with pikepdf.open(path, password=password or "") as source, pikepdf.open(saved) as merged:
        assert len(merged.pages) == len(source.pages) + 2
        assert not merged.is_encrypted
