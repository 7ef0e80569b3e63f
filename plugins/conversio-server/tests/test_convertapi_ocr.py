"""ConvertAPI's ``pdf/to/ocr`` (``OcrLanguage``) and ``pdf/to/txt`` of a scan, on a real server."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from typing import Any

import httpx
import pypdfium2 as pdfium  # type: ignore[import-untyped]
import pytest
from conftest import LiveServer, start_server
from conversio_server.convertapi.mapping import OCR_LANGUAGES
from conversio_server.settings import ServerSettings
from PIL import Image, ImageDraw, ImageFont

ocr_languages = pytest.importorskip("conversio_ocr.languages")

DPI = 200
WORDS = ("Invoice", "number", "seventeen", "paid", "in", "full")


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    settings = ServerSettings.load(
        environ={},
        dev=True,
        data_dir=tmp_path_factory.mktemp("convertapi-ocr"),
        workers=2,
        sweep_interval=3600.0,
    )
    live: LiveServer = start_server(settings)
    try:
        with httpx.Client(base_url=live.url, timeout=120) as client:
            yield client
    finally:
        live.stop()


def uploaded(http: httpx.Client, name: str, fmt: str) -> str:
    """The ``FileId`` of an uploaded scan: one A5 page of :data:`WORDS` at 200 dpi, as ``fmt``."""
    page = Image.new("L", (round(5.83 * DPI), round(8.27 * DPI)), 248)
    ImageDraw.Draw(page).text((DPI, DPI), " ".join(WORDS), font=ImageFont.load_default(size=56), fill=30)
    data = io.BytesIO()
    page.save(data, fmt, resolution=DPI, dpi=(DPI, DPI))
    disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
    response = http.post("/upload", content=data.getvalue(), headers=disposition)
    assert response.status_code == 200, response.text
    file_id: str = response.json()["FileId"]
    return file_id


@pytest.fixture(scope="module")
def scan_id(http: httpx.Client) -> str:
    """An image-only PDF."""
    return uploaded(http, "invoice.pdf", "PDF")


def inline(http: httpx.Client, path: str, **params: str) -> bytes:
    """The only result of ``path``, answered inline (``StoreFile=false``)."""
    response = http.post(path, data={**params, "StoreFile": "false"})
    assert response.status_code == 200, response.text
    [result] = response.json()["Files"]
    return base64.b64decode(result["FileData"])


def invalid(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    data: dict[str, Any] = response.json()
    assert data["Code"] == 4001
    return data


def text_layer_words(pdf: bytes) -> list[str]:
    """The words of the text layer of ``pdf``, which must have one page."""
    document = pdfium.PdfDocument(pdf)
    try:
        assert len(document) == 1
        textpage = document[0].get_textpage()
        words: list[str] = textpage.get_text_bounded().split()
        textpage.close()
        return words
    finally:
        document.close()


def test_pdf_to_ocr_adds_a_text_layer(http: httpx.Client, scan_id: str) -> None:
    searchable = inline(http, "/convert/pdf/to/ocr", File=scan_id, OcrLanguage="English")
    assert text_layer_words(searchable) == list(WORDS)


def test_jpg_to_ocr_makes_a_searchable_pdf(http: httpx.Client) -> None:
    photo = uploaded(http, "invoice.jpg", "JPEG")
    assert text_layer_words(inline(http, "/convert/jpg/to/ocr", File=photo)) == list(WORDS)


def test_an_unknown_ocr_language_names_the_valid_ones(http: httpx.Client, scan_id: str) -> None:
    data = invalid(http.post("/convert/pdf/to/ocr", data={"File": scan_id, "OcrLanguage": "klingon"}))
    assert data["InvalidParameters"] == {
        "OcrLanguage": [f"unknown OCR language 'klingon'; valid: {', '.join(OCR_LANGUAGES)}"]
    }


def test_a_language_without_its_tesseract_data_names_the_installed_ones(
    http: httpx.Client, scan_id: str
) -> None:
    data = invalid(http.post("/convert/pdf/to/ocr", data={"File": scan_id, "OcrLanguage": "english,klingon"}))
    assert list(data["InvalidParameters"]) == ["OcrLanguage"]
    if "hun" in ocr_languages.installed_languages():
        pytest.skip("Hungarian is installed here: no missing language to ask for")
    data = invalid(http.post("/convert/pdf/to/ocr", data={"File": scan_id, "OcrLanguage": "hungarian"}))
    [message] = data["InvalidParameters"]["OcrLanguage"]
    assert "'hun' is not installed" in message and "eng" in message


def test_pdf_to_txt_of_a_scan_goes_through_ocr(http: httpx.Client, scan_id: str) -> None:
    text = inline(http, "/convert/pdf/to/txt", File=scan_id).decode()
    assert text.split() == list(WORDS)
