"""Synchronous conversions over HTTP against the live server."""

from __future__ import annotations

import io
import json
import zipfile

import httpx
import pikepdf
import pytest
from conftest import FileHost, needs
from PIL import Image
from server_samples import docx_bytes, pdf_bytes, png_bytes


def test_png_to_jpg_answers_a_decodable_jpeg(client: httpx.Client) -> None:
    response = client.post(
        "/v1/convert",
        files={"file": ("photo.png", png_bytes((64, 48)), "image/png")},
        data={"outputFormat": "jpg", "quality": "80"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["content-disposition"] == 'attachment; filename="photo.jpg"'
    assert int(response.headers["content-length"]) == len(response.content)
    image = Image.open(io.BytesIO(response.content))
    assert (image.format, image.size, image.mode) == ("JPEG", (64, 48), "RGB")


def test_json_body_with_base64_input_and_options(client: httpx.Client) -> None:
    import base64

    body = {
        "inputs": [{"base64": base64.b64encode(png_bytes((40, 40))).decode(), "name": "tile.png"}],
        "outputFormat": "webp",
        "options": {"width": 20},
    }
    response = client.post("/v1/convert", json=body)
    assert response.status_code == 200, response.text
    image = Image.open(io.BytesIO(response.content))
    assert (image.format, image.size) == ("WEBP", (20, 20))


def test_several_results_come_as_a_zip(client: httpx.Client) -> None:
    needs("pdf")
    response = client.post(
        "/v1/convert",
        files={"file": ("three.pdf", pdf_bytes(3), "application/pdf")},
        data={"outputFormat": "png"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        names = archive.namelist()
        assert len(names) == 3 and all(n.endswith(".png") for n in names)
        assert Image.open(io.BytesIO(archive.read(names[0]))).format == "PNG"


def test_merge_docx_and_pdf_then_encrypt(client: httpx.Client) -> None:
    """Several inputs of different formats → pdf each → merge → encrypt, in one request."""
    needs("office", "pdf")
    then = json.dumps(["merge", {"step": "encrypt", "options": {"user_password": "s3cret"}}])
    response = client.post(
        "/v1/convert",
        files=[
            ("file", ("letter.docx", docx_bytes("Hello from conversio"), "application/octet-stream")),
            ("file", ("scan.pdf", pdf_bytes(2), "application/pdf")),
        ],
        data={"outputFormat": "pdf", "then": then},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(io.BytesIO(response.content))
    with pikepdf.open(io.BytesIO(response.content), password="s3cret") as pdf:
        assert len(pdf.pages) == 3  # one page of the letter, two of the scan


def test_store_then_chain_pdf_to_jpg_to_zip_by_ids(client: httpx.Client) -> None:
    """The reference's chaining example: pdf → jpg (stored), then those results → zip, by id."""
    needs("pdf", "archive")
    first = client.post(
        "/v1/convert",
        files={"file": ("test.pdf", pdf_bytes(3), "application/pdf")},
        data={"outputFormat": "jpg", "store": "true"},
    )
    assert first.status_code == 200, first.text
    pages = first.json()["files"]
    assert [p["format"] for p in pages] == ["jpg"] * 3
    second = client.post(
        "/v1/convert",
        json={"inputs": [{"fileId": p["id"]} for p in pages], "outputFormat": "zip", "store": True},
    )
    assert second.status_code == 200, second.text
    (archive_file,) = second.json()["files"]
    assert archive_file["format"] == "zip"
    download = client.get(archive_file["contentUrl"])
    assert download.status_code == 200
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        members = archive.namelist()
        assert len(members) == 3
        assert all(Image.open(io.BytesIO(archive.read(m))).format == "JPEG" for m in members)


def test_chaining_by_url_of_a_stored_result(client: httpx.Client) -> None:
    stored = client.post(
        "/v1/convert",
        files={"file": ("a.png", png_bytes((30, 20)), "image/png")},
        data={"outputFormat": "jpg", "store": "true"},
    ).json()["files"][0]
    response = client.post("/v1/convert", json={"inputs": [{"url": stored["url"]}], "outputFormat": "png"})
    assert response.status_code == 200, response.text
    assert Image.open(io.BytesIO(response.content)).size == (30, 20)


def test_then_accepts_a_bare_step_name_and_via(client: httpx.Client) -> None:
    needs("archive")
    response = client.post(
        "/v1/convert",
        files={"file": ("a.png", png_bytes((16, 16)), "image/png")},
        data={"outputFormat": "jpg", "via": "webp", "then": "zip"},
    )
    assert response.status_code == 200, response.text
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert [n.rsplit(".", 1)[-1] for n in archive.namelist()] == ["jpg"]


def test_url_input_is_fetched_through_the_outbound_client(client: httpx.Client, file_host: FileHost) -> None:
    file_host.files["/images/remote.png"] = png_bytes((21, 13))
    response = client.post(
        "/v1/convert", json={"inputs": [{"url": f"{file_host.url}/images/remote.png"}], "outputFormat": "jpg"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == 'attachment; filename="remote.jpg"'
    assert Image.open(io.BytesIO(response.content)).size == (21, 13)
    missing = client.post(
        "/v1/convert", json={"inputs": [{"url": f"{file_host.url}/nothing"}], "outputFormat": "jpg"}
    )
    assert missing.status_code == 400 and missing.json()["error"]["details"]["reason"] == "URL_STATUS"
