"""A synchronous conversion that outlives the sync limit becomes a durable job: listed with the others,
cancelled by ``DELETE``, and run again by a worker when the server stops in the middle of it."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
from conftest import needs, start_server
from PIL import Image
from server_samples import png_bytes
from test_jobs import job_settings, upload, wait_job

needs("image")


def _slow_convert(http: httpx.Client, seconds: float) -> dict[str, Any]:
    file_id = upload(http, png_bytes((40, 30)))
    body = {"inputs": [{"fileId": file_id}], "then": [{"step": "sleep", "options": {"seconds": seconds}}]}
    reply = http.post("/v1/convert", json=body)
    assert reply.status_code == 202, reply.text
    assert reply.headers["location"] == reply.json()["url"]
    return dict(reply.json())


def test_the_job_is_listed_and_completes(tmp_path: Path) -> None:
    server = start_server(job_settings(tmp_path, job_workers=0, sync_timeout=0.2))
    try:
        with server.client() as http:
            accepted = _slow_convert(http, 1.0)
            assert [j["jobId"] for j in http.get("/v1/jobs").json()["jobs"]] == [accepted["jobId"]]
            job = wait_job(http, accepted["jobId"])
            assert job["status"] == "completed" and job["progress"] == 100.0
            assert [s["status"] for s in job["steps"]] == ["completed"]
            (output,) = job["outputs"]
            assert Image.open(io.BytesIO(http.get(output["contentUrl"]).content)).size == (40, 30)
    finally:
        server.stop()


def test_delete_stops_the_conversion(tmp_path: Path) -> None:
    server = start_server(job_settings(tmp_path, job_workers=0, sync_timeout=0.2))
    try:
        with server.client() as http:
            accepted = _slow_convert(http, 30.0)
            assert http.delete(f"/v1/jobs/{accepted['jobId']}").status_code in (200, 202)
            job = wait_job(http, accepted["jobId"], timeout=10)
            assert job["status"] == "cancelled" and job["outputs"] == []
    finally:
        server.stop()


def test_a_stopped_server_hands_the_job_to_a_worker(tmp_path: Path) -> None:
    first = start_server(job_settings(tmp_path, job_workers=0, sync_timeout=0.2))
    try:
        with first.client() as http:
            job_id = _slow_convert(http, 3.0)["jobId"]
            wait_job(http, job_id, until=("processing",))
    finally:
        first.stop()
    from conversio_server.jobstore import JobStore

    store = JobStore(first.settings.database_url)
    try:  # given back on shutdown, not left to its lease
        assert store.get(job_id)["status"] == "queued"
    finally:
        store.close()
    second = start_server(job_settings(tmp_path, job_workers=1))
    try:
        with second.client() as http:
            job = wait_job(http, job_id, timeout=60)
            assert job["status"] == "completed" and job["attempts"] == 2
            (output,) = job["outputs"]
            assert Image.open(io.BytesIO(http.get(output["contentUrl"]).content)).size == (40, 30)
    finally:
        second.stop()
