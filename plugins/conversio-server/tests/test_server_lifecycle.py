"""A server with tiny limits: expiry really deletes, slow conversions answer 202 and finish as jobs."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import FileHost, LiveServer, dev_settings, start_server
from PIL import Image
from server_samples import png_bytes


@pytest.fixture(scope="module")
def short(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = dev_settings(
        tmp_path_factory.mktemp("short"), retention=4.0, sweep_interval=0.25, sync_timeout=0.001, cache=False
    )
    server = start_server(settings)
    yield server
    server.stop()


def _blobs(root: Path) -> list[Path]:
    return [p for p in (root / "blobs").rglob("*") if p.is_file()]


def test_expired_files_are_really_deleted(short: LiveServer) -> None:
    root = Path(short.settings.data_dir) / "server-store"
    with short.client() as client:
        stored = client.post("/v1/files", files={"file": ("x.png", png_bytes((7, 7)))}).json()["files"][0]
        assert client.get(f"/v1/files/{stored['id']}").status_code == 200
        assert any(p.name == stored["sha256"] for p in _blobs(root))
        deadline = time.monotonic() + 15
        while any(p.name == stored["sha256"] for p in _blobs(root)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(p.name == stored["sha256"] for p in _blobs(root)), "the blob outlived its retention"
        assert not (root / "meta" / f"{stored['id']}.json").exists()
        assert client.get(f"/v1/files/{stored['id']}").status_code == 404


def test_past_the_sync_limit_a_job_is_answered_and_completes(short: LiveServer) -> None:
    with short.client() as client:
        response = client.post(
            "/v1/convert", files={"file": ("slow.png", png_bytes((300, 200)))}, data={"outputFormat": "jpg"}
        )
        assert response.status_code == 202, response.text
        job = response.json()
        assert job["status"] in ("queued", "processing", "completed")
        assert response.headers["location"] == job["url"]
        deadline = time.monotonic() + 30
        while job["status"] not in ("completed", "failed") and time.monotonic() < deadline:
            time.sleep(0.05)
            job = client.get(job["url"]).json()
        assert job["status"] == "completed", job
        assert job["progress"] == 100.0  # percent
        (output,) = job["files"]
        content = client.get(output["contentUrl"])
        assert Image.open(io.BytesIO(content.content)).size == (300, 200)


def test_a_failed_job_reports_its_error(short: LiveServer) -> None:
    with short.client() as client:
        response = client.post(
            "/v1/convert", files={"file": ("bad.png", png_bytes()[:60])}, data={"outputFormat": "jpg"}
        )
        if response.status_code == 422:  # failed before the sync limit: the error itself
            assert response.json()["error"]["code"] == "CORRUPT_FILE"
            return
        assert response.status_code == 202
        url = response.json()["url"]
        deadline = time.monotonic() + 30
        job = client.get(url).json()
        while job["status"] not in ("completed", "failed") and time.monotonic() < deadline:
            time.sleep(0.05)
            job = client.get(url).json()
        assert job["status"] == "failed" and job["error"]["code"] == "CORRUPT_FILE"


def test_jobs_are_not_visible_without_their_id(short: LiveServer) -> None:
    with httpx.Client(base_url=short.url) as client:
        assert client.get("/v1/jobs/job_" + "x" * 22).status_code == 404


def test_private_urls_are_refused_without_an_allow_list(short: LiveServer, file_host: FileHost) -> None:
    with short.client() as client:
        for url in (
            f"{file_host.url}/x.png",
            "http://169.254.169.254/latest/meta-data",
            "file:///etc/passwd",
        ):
            response = client.post("/v1/convert", json={"inputs": [{"url": url}], "outputFormat": "jpg"})
            assert response.status_code == 400, response.text
            assert response.json()["error"]["details"]["reason"] == "URL_NOT_ALLOWED"


def test_a_saturated_server_answers_503_with_retry_after(tmp_path_factory: pytest.TempPathFactory) -> None:
    """One worker, four conversions in flight, none queued: the rest are refused at once, not piled up,
    and before their uploads are stored."""
    from concurrent.futures import ThreadPoolExecutor

    settings = dev_settings(tmp_path_factory.mktemp("busy"), workers=1, max_queued=0, cache=False)
    server = start_server(settings)
    try:
        images = [png_bytes((5000, 4000), (i * 30, 60, 90)) for i in range(8)]

        def convert(data: bytes) -> httpx.Response:
            with server.client() as client:
                return client.post(
                    "/v1/convert", files={"file": ("big.png", data)}, data={"outputFormat": "jpg"}
                )

        with ThreadPoolExecutor(len(images)) as pool:
            answers = list(pool.map(convert, images))
        stored = list(server.app.state.server.store.list())
    finally:
        server.stop()
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(200) >= 4 and 503 in statuses, statuses
    # refused before anything was stored: an upload and its JPEG for each conversion that ran
    ran = statuses.count(200)
    assert sorted(a.format for a in stored) == ["jpg"] * ran + ["png"] * ran, stored
    refused = next(a for a in answers if a.status_code == 503)
    assert refused.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert int(refused.headers["retry-after"]) > 0
