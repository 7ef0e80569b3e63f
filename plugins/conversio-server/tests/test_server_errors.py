"""Every error is the one body, with the guide's status; every response has a request id."""

from __future__ import annotations

import logging

import httpx
import pytest
from conftest import LiveServer
from server_samples import png_bytes


def _error(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "details", "requestId"}
    assert error["code"] == code
    assert error["requestId"] == response.headers["x-request-id"]
    assert "Traceback" not in response.text
    return error


def test_malformed_json_is_invalid_request(client: httpx.Client) -> None:
    response = client.post(
        "/v1/convert", content=b'{"inputs": [', headers={"content-type": "application/json"}
    )
    _error(response, 400, "INVALID_REQUEST")


def test_json_of_the_wrong_shape_is_invalid_request(client: httpx.Client) -> None:
    error = _error(
        client.post("/v1/convert", json={"inputs": [{"fileId": "x", "url": "y"}]}), 400, "INVALID_REQUEST"
    )
    assert error["details"]["errors"]  # type: ignore[index]
    _error(client.post("/v1/convert", json={"inputs": [], "outputFormat": "jpg"}), 400, "INVALID_REQUEST")
    _error(client.post("/v1/convert", json=[1, 2]), 400, "INVALID_REQUEST")


def test_unknown_output_format_lists_the_supported_ones(client: httpx.Client) -> None:
    response = client.post(
        "/v1/convert", files={"file": ("a.png", png_bytes())}, data={"outputFormat": "xyz"}
    )
    error = _error(response, 400, "UNSUPPORTED_FORMAT")
    assert "jpg" in error["details"]["supportedOutputFormats"]  # type: ignore[index]


def test_unconvertible_input_lists_the_supported_input_formats(client: httpx.Client) -> None:
    response = client.post(
        "/v1/convert",
        files={"file": ("blob.dat", b"\x00\x01\x02 not a known format \xff" * 10)},
        data={"outputFormat": "jpg"},
    )
    error = _error(response, 400, "UNSUPPORTED_FORMAT")
    details = error["details"]
    assert details["inputFormat"] == "bin" and details["outputFormat"] == "jpg"  # type: ignore[index]
    assert {"png", "pdf", "webp"} <= set(details["supportedInputFormats"])  # type: ignore[index]


def test_missing_file_is_404(client: httpx.Client) -> None:
    missing = "A" * 22
    _error(client.get(f"/v1/files/{missing}"), 404, "FILE_NOT_FOUND")
    _error(client.get(f"/v1/files/{missing}/content"), 404, "FILE_NOT_FOUND")
    _error(client.delete(f"/v1/files/{missing}"), 404, "FILE_NOT_FOUND")
    _error(
        client.post("/v1/convert", json={"inputs": [{"fileId": missing}], "outputFormat": "jpg"}),
        404,
        "FILE_NOT_FOUND",
    )
    _error(client.get("/v1/files/../../etc/passwd"), 404, "NOT_FOUND")


def test_missing_job_is_404(client: httpx.Client) -> None:
    _error(client.get("/v1/jobs/job_nope"), 404, "JOB_NOT_FOUND")


def test_corrupt_image_is_422(client: httpx.Client) -> None:
    broken = png_bytes()[:40] + b"\x00garbage" * 8
    error = _error(
        client.post("/v1/convert", files={"file": ("bad.png", broken)}, data={"outputFormat": "jpg"}),
        422,
        "CORRUPT_FILE",
    )
    assert error["details"]["file"] == "bad.png"  # type: ignore[index]


def test_empty_file_is_422(client: httpx.Client) -> None:
    error = _error(
        client.post("/v1/convert", files={"file": ("empty.png", b"")}, data={"outputFormat": "jpg"}),
        422,
        "EMPTY_FILE",
    )
    assert "empty.png" in str(error["message"])


def test_invalid_option_is_400(client: httpx.Client) -> None:
    response = client.post(
        "/v1/convert", files={"file": ("a.png", png_bytes())}, data={"outputFormat": "jpg", "quality": "9000"}
    )
    error = _error(response, 400, "INVALID_OPTION")
    assert error["details"]["option"] == "quality"  # type: ignore[index]
    response = client.post(
        "/v1/convert", files={"file": ("a.png", png_bytes())}, data={"outputFormat": "jpg", "options": "[1]"}
    )
    _error(response, 400, "INVALID_REQUEST")


def test_unknown_step_is_400(client: httpx.Client) -> None:
    response = client.post(
        "/v1/convert",
        files={"file": ("a.png", png_bytes())},
        data={"outputFormat": "jpg", "then": "frobnicate"},
    )
    _error(response, 400, "INVALID_REQUEST")


@pytest.mark.parametrize(
    ("content", "content_type"),
    [(b"outputFormat=jpg", "application/x-www-form-urlencoded"), (b"hello", "text/plain")],
)
def test_other_media_types_are_415(client: httpx.Client, content: bytes, content_type: str) -> None:
    _error(
        client.post("/v1/convert", content=content, headers={"content-type": content_type}),
        415,
        "UNSUPPORTED_MEDIA_TYPE",
    )


def test_broken_multipart_is_invalid_request(client: httpx.Client) -> None:
    headers = {"content-type": "multipart/form-data; boundary=xyz"}
    _error(
        client.post(
            "/v1/convert",
            content=b'--xyz\r\nContent-Disposition: form-data; name="a"\r\n\r\nunfinished',
            headers=headers,
        ),
        400,
        "INVALID_REQUEST",
    )
    _error(
        client.post("/v1/convert", content=b"--xyz\r\n\r\nno disposition\r\n--xyz--\r\n", headers=headers),
        400,
        "INVALID_REQUEST",
    )


def test_routing_errors_have_the_error_body(client: httpx.Client) -> None:
    _error(client.get("/v1/nothing-here"), 404, "NOT_FOUND")
    error = _error(client.put("/v1/convert"), 405, "METHOD_NOT_ALLOWED")
    assert error["message"]
    _error(client.get("/v1/route", params={"from": "png"}), 400, "INVALID_REQUEST")
    _error(client.get("/v1/route", params={"from": "png", "to": "nope"}), 400, "UNSUPPORTED_FORMAT")


def test_request_id_is_honoured_when_sane_and_replaced_otherwise(client: httpx.Client) -> None:
    assert client.get("/healthz", headers={"x-request-id": "abc-123"}).headers["x-request-id"] == "abc-123"
    replaced = client.get("/healthz", headers={"x-request-id": "bad id\twith spaces"}).headers["x-request-id"]
    assert replaced.startswith("req_")
    assert client.get("/v1/formats").headers["x-request-id"].startswith("req_")


def test_an_unexpected_exception_is_a_logged_500_without_details(
    live: LiveServer, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken() -> None:
        raise RuntimeError("internal detail: /srv/secret/path")

    if not any(getattr(r, "path", "") == "/test-only/broken" for r in live.app.routes):
        live.app.add_api_route("/test-only/broken", broken, include_in_schema=False)
    with caplog.at_level(logging.ERROR, logger="conversio_server"):
        response = client.get("/test-only/broken", headers={"x-request-id": "trace-me-1"})
    error = _error(response, 500, "INTERNAL_ERROR")
    assert "secret" not in response.text and error["requestId"] == "trace-me-1"
    logged = [r for r in caplog.records if "trace-me-1" in r.getMessage()]
    assert logged and logged[0].exc_info is not None and "secret" in str(logged[0].exc_info[1])
