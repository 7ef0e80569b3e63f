"""A synchronous conversion that outlives the sync limit becomes a durable job: listed with the others,
cancelled by ``DELETE``, and run again by a worker when the server stops in the middle of it."""

from __future__ import annotations

import io
import json
import time
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


def test_an_upload_is_read_where_it_arrived_until_the_job_it_became_ends(tmp_path: Path) -> None:
    """An upload (with the cache off: any) starts converting on the request's own copy while the store
    takes its copy; when the conversion outlives the sync limit, the job keeps that file until it ends."""
    settings = job_settings(tmp_path, job_workers=0, sync_timeout=0.2, cache=False)
    server = start_server(settings)
    record = tmp_path / "read-from.txt"
    steps = [{"step": "sleep", "options": {"seconds": 1.0, "record": str(record)}}]
    try:
        scratch = server.app.state.server.scratch_folder
        with server.client() as http:
            files = {"file": ("photo.png", png_bytes((40, 30)))}
            reply = http.post("/v1/convert", files=files, data={"then": json.dumps(steps)})
            assert reply.status_code == 202, reply.text
            job = wait_job(http, reply.json()["jobId"])
            assert job["status"] == "completed"
            # read in place, and only once: a step run again on the stored copy would record the store's path
            assert Path(record.read_text()).parent == scratch
            (output,) = job["outputs"]
            assert Image.open(io.BytesIO(http.get(output["contentUrl"]).content)).size == (40, 30)
            (input_id,) = server.app.state.server.jobstore.get(job["jobId"])["spec"]["inputs"]
            stored = http.get(f"/v1/files/{input_id}").json()  # the job's input, stored all the same
            assert (stored["name"], stored["size"]) == ("photo.png", len(files["file"][1]))
        deadline = time.monotonic() + 5  # removed once the job has ended
        while any(scratch.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert list(scratch.iterdir()) == []
    finally:
        server.stop()
