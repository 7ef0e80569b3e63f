"""``confirm_format`` for pdf, and PDFs with junk before the header or after %%EOF, end to end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conversio_pdf.plugin import confirm_format
from pdf_samples import make_pdf
from PIL import Image

import conversio
from conversio.errors import ConversioError
from conversio.testing import make_conversio

HTTP = b"HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\nContent-Length: 9999\r\n\r\n"
BOM = b"\xef\xbb\xbf"


@pytest.fixture(scope="module")
def app() -> Iterator[conversio.Conversio]:
    app = make_conversio("conversio_pdf.plugin", store="memory://", executor="inline")
    yield app
    app.close()


def _with(tmp_path: Path, name: str, before: bytes = b"", after: bytes = b"") -> Path:
    pdf = make_pdf(tmp_path / f"plain-{name}", pages=2, words=["alpha", "bravo"]).read_bytes()
    path = tmp_path / name
    path.write_bytes(before + pdf + after)
    return path


@pytest.mark.parametrize(
    ("before", "expected"),
    [
        (b"", True),
        (BOM, True),
        (HTTP + b"x" * (1019 - len(HTTP)), True),  # "%PDF-" ends at byte 1024: PDFium still opens it
        (b"\x00" * 3000, False),  # past where readers look
    ],
)
def test_a_pdf_is_confirmed(tmp_path: Path, before: bytes, expected: bool) -> None:
    assert confirm_format(path=_with(tmp_path, "a.pdf", before), format="pdf") is expected


def test_what_is_not_a_pdf_is_not_confirmed(tmp_path: Path) -> None:
    text = tmp_path / "notes.pdf"
    text.write_text("just some notes about a PDF\n" * 50)
    assert confirm_format(path=text, format="pdf") is False
    late = tmp_path / "late.pdf"
    late.write_bytes(b"x" * 3000 + b"%PDF-1.7\n not really")
    assert confirm_format(path=late, format="pdf") is False
    assert confirm_format(path=tmp_path / "missing.pdf", format="pdf") is False
    assert confirm_format(path=text, format="png") is None


def test_the_hook_is_registered(app: conversio.Conversio, tmp_path: Path) -> None:
    assert app.host.confirm(_with(tmp_path, "a.pdf", BOM), "pdf") is True


JUNK = {
    "http-header": (HTTP, b""),
    "bom": (BOM, b""),
    "kilobyte-of-junk": (b"#" * 1000, b""),
    "trailing-garbage": (b"", b"\n<html>some proxy's error page</html>\n" * 200),
    "both": (BOM, b"\x00" * 5000),
}


@pytest.mark.parametrize("case", list(JUNK))
def test_junk_around_a_pdf_still_converts(app: conversio.Conversio, tmp_path: Path, case: str) -> None:
    before, after = JUNK[case]
    path = _with(tmp_path, "report.pdf", before, after)
    assert app.sniff(path).format == "pdf"
    text = app.convert(path, to="txt").run()
    (saved,) = text.save(tmp_path / "txt")
    assert [page.strip() for page in saved.read_text(encoding="utf-8").split("\f")] == [
        "Page 1 alpha",
        "Page 2 bravo",
    ]
    images = app.convert(path, to="png", options={"dpi": 36}).run()
    assert [a.name for a in images.artifacts] == ["report-page001.png", "report-page002.png"]
    for saved_png in images.save(tmp_path / "png"):
        with Image.open(saved_png) as image:
            assert abs(image.width - 595 / 2) <= 1.5
    merged = app.convert(path).then("rotate", angle=90).run()
    assert merged.artifacts[0].format == "pdf"


def test_a_header_past_the_first_kilobyte_is_not_a_pdf(app: conversio.Conversio, tmp_path: Path) -> None:
    """Readers look for the header in the first 1024 bytes; so does conversio, and says so."""
    path = _with(tmp_path, "report.pdf", b"\x00" * 3000)
    with pytest.raises(ConversioError) as info:
        app.convert(path, to="txt").run()
    assert info.value.code == "UNSUPPORTED_FORMAT"
    assert info.value.message == (
        "could not recognise the format of report.pdf: it does not read as a PDF document; "
        "check that it is the file you meant"
    )
