"""The official ConvertAPI clients' own defaults against a real server on 127.0.0.1.

The Node client (``convertapi`` on npm) is reproduced request by request with httpx: it posts a form
(``application/x-www-form-urlencoded``, ``Authorization: Bearer``), detects ``url`` as the source of a
``Url`` input, names several inputs ``Files[0]``, ``Files[1]``… and uploads through ``/upload`` with an
RFC 5987 ``filename*``. The Python client (``convertapi`` on PyPI) runs for real.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import convertapi  # type: ignore[import-untyped]
import httpx
import pypdfium2
import pytest
from conftest import FileHost, LiveServer, needs
from PIL import Image

import conversio

#: The headers every request of the Node client carries (``src/client.js``).
NODE_HEADERS = {
    "User-Agent": "ConvertAPI-Node/1.14.0",
    "Content-Type": "application/x-www-form-urlencoded",
    "Authorization": "Bearer dev-key",
    "Accept": "application/json",
}

#: Red, green, blue: the colours of the images merged into one PDF, one page each.
COLOURS = [(220, 30, 30), (30, 200, 60), (40, 60, 210)]

PAGE = b"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Quarterly</title></head>
<body><h1>Quarterly conversio report</h1><p>Revenue grew in every region.</p></body></html>
"""

needs_office = pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")


@pytest.fixture(scope="module")
def node(live: LiveServer) -> Iterator[httpx.Client]:
    needs("pdf", "image")
    with httpx.Client(base_url=live.url, timeout=180) as client:
        yield client


@pytest.fixture
def python_client(live: LiveServer) -> Iterator[None]:
    """The official Python client pointed at the server (any key: development mode)."""
    saved = convertapi.base_uri, convertapi.api_credentials
    convertapi.base_uri = f"{live.url}/"
    convertapi.api_credentials = "dev-key"
    yield
    convertapi.base_uri, convertapi.api_credentials = saved


def node_convert(node: httpx.Client, source: str, target: str, params: dict[str, Any]) -> httpx.Response:
    """``convertapi.convert(target, params, source)``: the form the Node client posts, ``StoreFile`` added."""
    fields: dict[str, str] = {}
    for key, value in {**params, "StoreFile": True}.items():
        if isinstance(value, list):
            fields.update({f"{key}[{i}]": str(v) for i, v in enumerate(value)})
        else:
            fields[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return node.post(f"/convert/{source}/to/{target}", content=urlencode(fields), headers=NODE_HEADERS)


def node_upload(node: httpx.Client, content: bytes, name: str) -> str:
    """``convertapi.upload(path)``: the raw body with an RFC 5987 name; its ``FileId``."""
    headers = {
        **NODE_HEADERS,
        "Content-Type": "application/octet-stream",
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
    }
    response = node.post("/upload", content=content, headers=headers)
    assert response.status_code == 200, response.text
    file_id: str = response.json()["FileId"]
    return file_id


def downloaded_pdf(node: httpx.Client, response: httpx.Response) -> pypdfium2.PdfDocument:
    """The one stored result of a ConvertAPI answer, fetched by its signed ``Url`` (no key)."""
    assert response.status_code == 200, response.text
    (info,) = response.json()["Files"]
    assert info["FileExt"] == "pdf"
    content = httpx.get(info["Url"], timeout=60).content
    assert content.startswith(b"%PDF") and len(content) == info["FileSize"]
    return pypdfium2.PdfDocument(content)


def page_text(pdf: pypdfium2.PdfDocument) -> str:
    return " ".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))


def png(colour: tuple[int, int, int], size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def page_colours(pdf: pypdfium2.PdfDocument) -> list[tuple[int, int, int]]:
    """The colour at the centre of each page, rendered."""
    colours = []
    for index in range(len(pdf)):
        image = pdf[index].render(scale=0.5).to_pil().convert("RGB")
        pixel = image.getpixel((image.width // 2, image.height // 2))
        assert isinstance(pixel, tuple)
        colours.append((pixel[0], pixel[1], pixel[2]))
    return colours


def close_to(got: tuple[int, int, int], want: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 24 for a, b in zip(got, want, strict=True))


# -- URL -> PDF ------------------------------------------------------------------------------------


@needs_office
def test_node_url_to_pdf(node: httpx.Client, file_host: FileHost) -> None:
    file_host.files["/reports/quarterly"] = PAGE  # a page address without an extension

    response = node_convert(node, "url", "pdf", {"Url": f"{file_host.url}/reports/quarterly"})

    text = page_text(downloaded_pdf(node, response))
    assert "Quarterly conversio report" in text and "every region" in text


@needs_office
def test_python_client_url_to_pdf(python_client: None, file_host: FileHost, tmp_path: Path) -> None:
    file_host.files["/page.html"] = PAGE

    result = convertapi.convert("pdf", {"Url": f"{file_host.url}/page.html"})  # posts to web/to/pdf

    saved = Path(result.file.save(str(tmp_path / "page.pdf")))
    assert "Quarterly conversio report" in page_text(pypdfium2.PdfDocument(saved.read_bytes()))


def test_a_web_page_is_printed_live_with_its_own_files(
    python_client: None, file_host: FileHost, tmp_path: Path
) -> None:
    """With a browser engine, a page's relative stylesheet and image load as in a browser."""
    if "url" not in conversio.default().registry.formats:
        pytest.skip("conversio-chromium is not installed")
    file_host.files["/site/index.html"] = (
        b'<!DOCTYPE html><link rel="stylesheet" href="look.css"><h1>Harbour</h1><img src="img/sea.png">'
    )
    file_host.files["/site/look.css"] = b"img { position: fixed; inset: 0; width: 100%; height: 100%; }"
    file_host.files["/site/img/sea.png"] = png((20, 90, 200), (40, 40))

    result = convertapi.convert("pdf", {"Url": f"{file_host.url}/site/index.html"})

    saved = Path(result.file.save(str(tmp_path / "page.pdf")))
    pdf = pypdfium2.PdfDocument(saved.read_bytes())
    assert "Harbour" in page_text(pdf) and close_to(page_colours(pdf)[0], (20, 90, 200))


def test_url_source_fetches_only_allowed_addresses(node: httpx.Client) -> None:
    # the test server allows 127.0.0.1 only: the link-local metadata address stays out of reach
    response = node_convert(node, "url", "pdf", {"Url": "http://169.254.169.254/latest/meta-data/"})

    assert response.status_code == 400, response.text
    body = response.json()
    assert body["Code"] == 4000 and "Url" in body["InvalidParameters"]


def test_url_source_with_a_missing_page(node: httpx.Client, file_host: FileHost) -> None:
    response = node_convert(node, "url", "pdf", {"Url": f"{file_host.url}/no/such/page"})

    assert 400 <= response.status_code < 500, response.text
    body = response.json()
    assert set(body) == {"Code", "Message", "InvalidParameters"} and "Url" in body["InvalidParameters"]
    assert "Traceback" not in body["Message"]


# -- images -> one PDF -----------------------------------------------------------------------------


def test_node_images_to_one_pdf(node: httpx.Client) -> None:
    sizes = [(300, 200), (200, 300), (240, 240)]
    ids = [
        node_upload(node, png(colour, size), f"photo {n}.png")
        for n, (colour, size) in enumerate(zip(COLOURS, sizes, strict=True))
    ]

    pdf = downloaded_pdf(node, node_convert(node, "images", "pdf", {"Files": ids}))

    assert len(pdf) == 3
    got = page_colours(pdf)
    assert all(close_to(g, w) for g, w in zip(got, COLOURS, strict=True)), got
    widths, heights = zip(*(pdf[i].get_size() for i in range(3)), strict=True)
    assert widths[0] > heights[0] and widths[1] < heights[1]  # each page the shape of its image


def test_python_client_images_to_one_pdf(python_client: None, tmp_path: Path) -> None:
    paths = []
    for n, colour in enumerate(reversed(COLOURS)):
        path = tmp_path / f"{n}.jpg"
        Image.new("RGB", (160, 120), colour).save(path, "JPEG", quality=95)
        paths.append(str(path))

    result = convertapi.convert("pdf", {"Files": paths}, from_format="images")

    assert len(result.files) == 1
    saved = Path(result.file.save(str(tmp_path / "album.pdf")))
    pdf = pypdfium2.PdfDocument(saved.read_bytes())
    got = page_colours(pdf)
    assert len(got) == 3 and all(close_to(g, w) for g, w in zip(got, reversed(COLOURS), strict=True)), got


def test_images_to_pdf_with_one_image(node: httpx.Client) -> None:
    file_id = node_upload(node, png(COLOURS[2], (90, 60)), "single.png")

    pdf = downloaded_pdf(node, node_convert(node, "images", "pdf", {"Files": [file_id]}))

    assert len(pdf) == 1 and close_to(page_colours(pdf)[0], COLOURS[2])


def test_images_to_pdf_refusals(node: httpx.Client) -> None:
    empty = node_convert(node, "images", "pdf", {})
    assert empty.status_code == 400 and empty.json()["Code"] == 4000, empty.text

    good = node_upload(node, png(COLOURS[0], (40, 40)), "good.png")
    missing = node_convert(node, "images", "pdf", {"Files": [good, "no-such-file"]})
    assert missing.status_code == 404 and missing.json()["Code"] == 4040, missing.text

    broken = node_upload(node, b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "broken.png")
    corrupt = node_convert(node, "images", "pdf", {"Files": [good, broken]})
    assert corrupt.status_code == 422, corrupt.text
    assert "Traceback" not in corrupt.json()["Message"]
