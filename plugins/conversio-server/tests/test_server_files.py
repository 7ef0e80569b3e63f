"""Stored files: streamed uploads with a size cap, metadata, downloads (key or signed link), delete."""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Iterator

import httpx
from conftest import FileHost, LiveServer
from PIL import Image
from server_samples import png_bytes


def test_multipart_upload_metadata_download_delete(client: httpx.Client) -> None:
    data = png_bytes((33, 22))
    response = client.post("/v1/files", files={"file": ("pic.png", data, "image/png")})
    assert response.status_code == 201, response.text
    (stored,) = response.json()["files"]
    assert (stored["name"], stored["format"], stored["size"]) == ("pic.png", "png", len(data))
    assert client.get(f"/v1/files/{stored['id']}").json()["sha256"] == stored["sha256"]
    download = client.get(stored["contentUrl"])
    assert download.status_code == 200 and download.content == data
    assert download.headers["content-type"] == "image/png"
    assert client.delete(f"/v1/files/{stored['id']}").status_code == 204
    gone = client.get(f"/v1/files/{stored['id']}")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "FILE_NOT_FOUND"


def test_raw_body_upload_takes_the_name_from_content_disposition(client: httpx.Client) -> None:
    data = png_bytes((5, 5))
    response = client.post(
        "/v1/files",
        content=data,
        headers={
            "content-type": "application/octet-stream",
            "content-disposition": 'attachment; filename="raw.png"',
        },
    )
    assert response.status_code == 201, response.text
    (stored,) = response.json()["files"]
    assert (stored["name"], stored["format"], stored["size"]) == ("raw.png", "png", len(data))
    converted = client.post("/v1/convert", json={"inputs": [{"fileId": stored["id"]}], "outputFormat": "jpg"})
    assert Image.open(io.BytesIO(converted.content)).size == (5, 5)


def test_signed_download_link_works_without_a_key_and_rejects_tampering(client: httpx.Client) -> None:
    stored = client.post("/v1/files", files={"file": ("s.png", png_bytes(), "image/png")}).json()["files"][0]
    ok = httpx.get(stored["downloadUrl"])
    assert ok.status_code == 200 and ok.content[:8] == b"\x89PNG\r\n\x1a\n"
    tampered = httpx.get(stored["downloadUrl"][:-4] + "0000")
    assert tampered.status_code == 401
    assert tampered.json()["error"]["code"] == "UNAUTHORIZED"


def _stream(total: int, chunk: int = 64 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        piece = min(chunk, total - sent)
        sent += piece
        yield b"\0" * piece


def test_raw_upload_over_the_limit_is_refused_while_streaming(live: LiveServer, client: httpx.Client) -> None:
    before = sum(1 for _ in live.app.state.server.store.list())
    # no Content-Length (chunked): the server can only tell by counting what arrives
    response = client.post(
        "/v1/files", content=_stream(1_500_000), headers={"content-type": "application/octet-stream"}
    )
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "FILE_TOO_LARGE" and error["details"]["limit"] == 1_000_000
    assert sum(1 for _ in live.app.state.server.store.list()) == before


def test_declared_length_over_the_limit_is_refused_before_reading(client: httpx.Client) -> None:
    response = client.post(
        "/v1/files", content=b"\0" * 1_000_001, headers={"content-type": "application/octet-stream"}
    )
    assert response.status_code == 413


def test_multipart_file_over_the_limit_is_refused(client: httpx.Client) -> None:
    response = client.post(
        "/v1/convert", files={"file": ("big.bin", b"\0" * 1_200_000)}, data={"outputFormat": "jpg"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "FILE_TOO_LARGE"


def test_requests_leave_nothing_in_the_scratch_folder(
    live: LiveServer, client: httpx.Client, file_host: FileHost
) -> None:
    """Uploads, base64 and URL inputs, bundles and refused or broken bodies: once answered, none of
    them has left a file behind (a request removes what it wrote; a stored upload was moved)."""
    scratch = live.app.state.server.scratch_folder
    file_host.files["/scratch.png"] = png_bytes((12, 9))
    png64 = base64.b64encode(png_bytes((10, 8))).decode()
    answers = [
        client.post("/v1/convert", files={"file": ("a.png", png_bytes())}, data={"outputFormat": "jpg"}),
        client.post("/v1/files", content=png_bytes(), headers={"content-type": "application/octet-stream"}),
        client.post(
            "/v1/convert", json={"inputs": [{"base64": png64, "name": "b.png"}], "outputFormat": "jpg"}
        ),
        client.post(
            "/v1/convert", json={"inputs": [{"url": f"{file_host.url}/scratch.png"}], "outputFormat": "jpg"}
        ),
        client.post(
            "/v1/convert",
            files=[("file", ("c.png", png_bytes())), ("file", ("d.png", png_bytes((5, 5))))],
            data={"outputFormat": "jpg"},
        ),
        client.post(
            "/v1/files", content=_stream(1_500_000), headers={"content-type": "application/octet-stream"}
        ),
        client.post(
            "/v1/convert",
            content=b'--x\r\nContent-Disposition: form-data; name="file"; filename="e.png"\r\n\r\nhalf',
            headers={"content-type": "multipart/form-data; boundary=x"},
        ),
    ]
    assert [a.status_code for a in answers] == [200, 201, 200, 200, 200, 413, 400]
    assert answers[4].headers["content-type"] == "application/zip"
    deadline = time.monotonic() + 5  # a bundle is removed by a task that runs once it is sent
    while any(scratch.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(scratch.iterdir()) == []
