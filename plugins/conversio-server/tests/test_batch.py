"""``POST /v1/batch`` against a real server: counts by status, ``batch.completed`` (signed) once every
job has ended, callback modes, failures counted."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import LiveServer, needs, start_server
from jobs_support.receiver import Receiver
from server_samples import png_bytes
from test_jobs import job_settings, secret_of, upload

from conversio.webhooks import verify_webhook

needs("image")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    import os

    from test_jobs import TESTS

    os.environ["PYTHONPATH"] = TESTS + os.pathsep + os.environ.get("PYTHONPATH", "")
    live = start_server(job_settings(tmp_path_factory.mktemp("batch")))
    yield live
    live.stop()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def wait_batch(http: httpx.Client, batch_id: str, timeout: float = 40.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = http.get(f"/v1/batch/{batch_id}").json()
        if batch["status"] == "completed":
            return dict(batch)
        time.sleep(0.1)
    raise AssertionError(f"batch {batch_id} not completed: {batch}")


def test_batch_counts_and_batch_webhook(server: LiveServer, receiver: Receiver) -> None:
    with server.client() as http:
        good = upload(http, png_bytes((20, 10)))
        bad = upload(http, png_bytes()[:50], "bad.png")
        jobs = [{"inputs": [{"fileId": good}], "outputFormat": fmt} for fmt in ("jpg", "gif", "webp", "bmp")]
        jobs.append({"inputs": [{"fileId": bad}], "outputFormat": "jpg"})
        reply = http.post(
            "/v1/batch", json={"jobs": jobs, "webhook": f"{receiver.url}/batch/a", "callbackMode": "batch"}
        )
        assert reply.status_code == 202, reply.text
        body = reply.json()
        assert body["jobCount"] == 5 and len(body["jobs"]) == 5
        assert body["status"] in ("queued", "processing")
        assert all(set(j) == {"jobId", "status"} for j in body["jobs"])
        batch = wait_batch(http, body["batchId"])
        assert batch["counts"] == {"queued": 0, "processing": 0, "completed": 4, "failed": 1, "cancelled": 0}
        formats = sorted(
            http.get(f"/v1/jobs/{j['jobId']}").json()["outputs"][0]["format"] for j in body["jobs"][:4]
        )
        assert formats == ["bmp", "gif", "jpg", "webp"]
        got = receiver.wait_for(lambda r: r.path == "/batch/a")
        payload = verify_webhook(got[0].body, got[0].headers, secret_of(server))
        assert payload["event"] == "batch.completed" and payload["batchId"] == body["batchId"]
        assert payload["counts"] == {"completed": 4, "failed": 1}
        time.sleep(0.5)
        # callbackMode "batch": no job events, and batch.completed exactly once
        assert [r.json()["event"] for r in receiver.matching(lambda r: r.path == "/batch/a")] == [
            "batch.completed"
        ]


def test_batch_both_mode_sends_job_events(server: LiveServer, receiver: Receiver) -> None:
    with server.client() as http:
        good = upload(http, png_bytes())
        jobs = [{"inputs": [{"fileId": good}], "outputFormat": "jpg", "tag": "b"} for _ in range(2)]
        body = http.post("/v1/batch", json={"jobs": jobs, "webhook": f"{receiver.url}/batch/b"}).json()
        wait_batch(http, body["batchId"])
        receiver.wait_for(lambda r: r.path == "/batch/b" and r.json()["event"] == "batch.completed")
        completed = receiver.wait_for(
            lambda r: r.path == "/batch/b" and r.json()["event"] == "job.completed", timeout=10
        )
        deadline = time.monotonic() + 10
        while len(completed) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
            completed = receiver.matching(
                lambda r: r.path == "/batch/b" and r.json()["event"] == "job.completed"
            )
        assert {r.json()["jobId"] for r in completed} == {j["jobId"] for j in body["jobs"]}
        assert all(r.json()["batchId"] == body["batchId"] for r in completed)
        assert http.get("/v1/batch/batch_unknown").status_code == 404


def test_batch_rejects_a_bad_job_before_queueing_any(server: LiveServer, tmp_path: Path) -> None:
    with server.client() as http:
        good = upload(http, png_bytes())
        reply = http.post(
            "/v1/batch",
            json={
                "jobs": [
                    {"inputs": [{"fileId": good}], "outputFormat": "jpg"},
                    {"inputs": [{"fileId": "nope"}]},
                ]
            },
        )
        assert reply.status_code in (400, 404, 422)
        assert "error" in reply.json()
