"""Durable jobs against a real server with real worker processes: submit, poll, cancel, retry, events,
webhooks (signatures verified), delivery of outputs to a caller's URL, idempotency, listing."""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import LiveServer, dev_settings, needs, start_server
from jobs_support.receiver import Receiver
from server_samples import png_bytes

from conversio.webhooks import verify_webhook

needs("image")

TESTS = str(Path(__file__).parent)
PLUGIN = "jobs_support.slow_plugin"


def job_settings(data_dir: Path, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "url_allow": ("127.0.0.1",),
        "extra_plugins": (PLUGIN,),
        "job_workers": 2,
        "job_lease": 3.0,
        "job_heartbeat": 0.3,
        "job_poll_interval": 0.05,
        "job_progress_interval": 0.1,
        "webhook_dispatchers": 2,
        "workers": 1,
    }
    values.update(overrides)
    return dev_settings(data_dir, **values)


@pytest.fixture(scope="module", autouse=True)
def _plugin_path() -> Iterator[None]:
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = TESTS + (os.pathsep + old if old else "")
    yield
    if old is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = old


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, _plugin_path: None) -> Iterator[LiveServer]:
    live = start_server(job_settings(tmp_path_factory.mktemp("jobs")))
    yield live
    live.stop()


@pytest.fixture(scope="module")
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def upload(http: httpx.Client, content: bytes, name: str = "in.png") -> str:
    reply = http.post("/v1/files", files={"file": (name, content)})
    assert reply.status_code in (200, 201), reply.text
    return str(reply.json()["id"] if "id" in reply.json() else reply.json()["files"][0]["id"])


def wait_job(
    http: httpx.Client, job_id: str, timeout: float = 30.0, until: tuple[str, ...] = ()
) -> dict[str, Any]:
    ends = until or ("completed", "failed", "cancelled")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = http.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ends:
            return dict(job)
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} not {ends} within {timeout} s: {job}")


def secret_of(server: LiveServer) -> str:
    return (server.settings.data_dir / "webhook-secret").read_text().strip()


def test_submit_poll_complete_with_signed_webhooks(
    server: LiveServer, http: httpx.Client, receiver: Receiver
) -> None:
    from PIL import Image

    file_id = upload(http, png_bytes((80, 60)))
    reply = http.post(
        "/v1/jobs",
        json={
            "inputs": [{"fileId": file_id}],
            "outputFormat": "jpg",
            "options": {"quality": 80},
            "webhook": f"{receiver.url}/hook/basic",
            "tag": "basic",
        },
    )
    assert reply.status_code == 202, reply.text
    body = reply.json()
    assert body["status"] == "queued" and body["jobId"].startswith("job_")
    assert set(body) >= {"jobId", "status", "estimatedDuration", "createdAt"}
    job = wait_job(http, body["jobId"])
    assert job["status"] == "completed", job
    assert job["progress"] == 100.0 and job["error"] is None
    assert [s["status"] for s in job["steps"]] and all(s["converter"] for s in job["steps"])
    assert len(job["outputs"]) == 1 and job["outputs"][0]["format"] == "jpg"
    content = httpx.get(job["outputs"][0]["downloadUrl"]).content
    image = Image.open(io.BytesIO(content))
    assert (image.format, image.size) == ("JPEG", (80, 60))
    # webhooks: queued, processing, completed, all signed with the dev secret
    done = receiver.wait_for(lambda r: r.path == "/hook/basic" and r.json()["event"] == "job.completed")
    events = receiver.matching(lambda r: r.path == "/hook/basic")
    secret = secret_of(server)
    for received in events:
        payload = verify_webhook(received.body, received.headers, secret)
        assert payload["jobId"] == body["jobId"]
    names = [r.json()["event"] for r in events]
    assert names[0] == "job.queued" and "job.processing" in names
    completed = done[0].json()
    assert completed["output"]["format"] == "jpg" and completed["output"]["size"] == len(content)
    assert completed["input"] == {"filename": "in.png", "format": "png", "size": len(png_bytes((80, 60)))}
    assert httpx.get(completed["output"]["url"]).content == content
    deliveries = http.get(f"/v1/jobs/{body['jobId']}/webhooks").json()["deliveries"]
    assert {d["event"] for d in deliveries} >= {"job.queued", "job.processing", "job.completed"}
    ids = {r.headers["webhook-id"] for r in events}
    assert ids <= {d["eventId"] for d in deliveries}
    # listing with filters
    listed = http.get("/v1/jobs", params={"tag": "basic", "status": "completed"}).json()["jobs"]
    assert [j["jobId"] for j in listed] == [body["jobId"]]
    assert http.get("/v1/jobs", params={"tag": "basic", "status": "failed"}).json()["jobs"] == []
    assert http.get("/v1/jobs", params={"tag": "basic", "since": "2999-01-01T00:00:00Z"}).json()["jobs"] == []
    metrics = http.get("/metrics").text
    assert "conversio_jobs_queued" in metrics and "conversio_webhook_deliveries" in metrics


def test_idempotency_key(http: httpx.Client) -> None:
    file_id = upload(http, png_bytes())
    spec = {"inputs": [{"fileId": file_id}], "outputFormat": "webp"}
    first = http.post("/v1/jobs", json=spec, headers={"Idempotency-Key": "same-1"})
    again = http.post("/v1/jobs", json=spec, headers={"Idempotency-Key": "same-1"})
    assert first.status_code == again.status_code == 202
    assert first.json()["jobId"] == again.json()["jobId"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    other = http.post("/v1/jobs", json={**spec, "outputFormat": "gif"}, headers={"Idempotency-Key": "same-1"})
    assert other.status_code == 409 and other.json()["error"]["code"] == "INVALID_REQUEST"
    assert wait_job(http, first.json()["jobId"])["status"] == "completed"


def test_corrupt_input_fails_with_code(http: httpx.Client, receiver: Receiver) -> None:
    file_id = upload(http, png_bytes()[:60], "broken.png")
    reply = http.post(
        "/v1/jobs",
        json={"inputs": [{"fileId": file_id}], "outputFormat": "jpg", "webhook": f"{receiver.url}/hook/bad"},
    )
    assert reply.status_code == 202, reply.text
    job = wait_job(http, reply.json()["jobId"])
    assert job["status"] == "failed" and job["error"]["code"] == "CORRUPT_FILE", job
    failed = receiver.wait_for(lambda r: r.path == "/hook/bad" and r.json()["event"] == "job.failed")
    assert failed[0].json()["error"]["code"] == "CORRUPT_FILE"


def test_unknown_job_and_bad_requests(http: httpx.Client) -> None:
    assert http.get("/v1/jobs/job_nope").status_code == 404
    assert http.get("/v1/jobs/job_nope").json()["error"]["code"] == "JOB_NOT_FOUND"
    assert http.delete("/v1/jobs/job_nope").status_code == 404
    reply = http.post("/v1/jobs", json={"inputs": [], "outputFormat": "jpg"})
    assert reply.status_code in (400, 422) and reply.json()["error"]["code"] == "INVALID_REQUEST"


def test_cancel_stops_the_running_work(http: httpx.Client, receiver: Receiver, tmp_path: Path) -> None:
    file_id = upload(http, png_bytes())
    pidfile = tmp_path / "pid"
    reply = http.post(
        "/v1/jobs",
        json={
            "inputs": [{"fileId": file_id}],
            "then": [{"step": "sleep", "options": {"seconds": 20, "pidfile": str(pidfile)}}],
            "webhook": f"{receiver.url}/hook/cancel",
        },
    )
    job_id = reply.json()["jobId"]
    deadline = time.monotonic() + 20
    while not pidfile.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    pid = int(pidfile.read_text())
    started = time.monotonic()
    assert http.delete(f"/v1/jobs/{job_id}").status_code == 200
    job = wait_job(http, job_id, timeout=15)
    assert job["status"] == "cancelled" and time.monotonic() - started < 10
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid), "the engine's worker process still runs"
    receiver.wait_for(lambda r: r.path == "/hook/cancel" and r.json()["event"] == "job.cancelled")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (killed, not yet reaped) counts as gone
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_killed_conversion_worker_runs_again_on_the_same_route(http: httpx.Client, tmp_path: Path) -> None:
    """kill -9 of the process converting a job's step: the step runs again on the same
    converter, the job completes, and the job says what happened (issue 16)."""
    file_id = upload(http, png_bytes((40, 30), (9, 8, 7)))
    pidfile = tmp_path / "pid"
    job_id = http.post(
        "/v1/jobs",
        json={
            "inputs": [{"fileId": file_id}],
            "then": [{"step": "sleep", "options": {"seconds": 1.5, "pidfile": str(pidfile)}}],
        },
    ).json()["jobId"]
    deadline = time.monotonic() + 20
    while not pidfile.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    first = int(pidfile.read_text())
    pidfile.unlink()
    os.kill(first, 9)
    job = wait_job(http, job_id, timeout=30)
    assert job["status"] == "completed", job
    second = int(pidfile.read_text())
    assert second != first, "the step did not run again in a new worker"
    assert any("stopped unexpectedly and was run again" in w for w in job["warnings"]), job["warnings"]
    assert [s["status"] for s in job["steps"]] == ["completed"]
    from PIL import Image

    with Image.open(io.BytesIO(httpx.get(job["outputs"][0]["downloadUrl"]).content)) as image:
        assert image.size == (40, 30) and image.convert("RGB").getpixel((0, 0)) == (9, 8, 7)


def test_retry_resumes_from_the_failed_step(http: httpx.Client, tmp_path: Path) -> None:
    marker = tmp_path / "fail"
    marker.write_text("x")
    file_id = upload(http, png_bytes((30, 20), (1, 2, 3)))
    spec = {
        "inputs": [{"fileId": file_id}],
        "then": [
            {"step": "sleep", "options": {"seconds": 1.0}},
            {"step": "flaky", "options": {"marker": str(marker)}},
        ],
    }
    job_id = http.post("/v1/jobs", json=spec).json()["jobId"]
    failed = wait_job(http, job_id)
    assert failed["status"] == "failed" and failed["error"]["code"] == "CONVERSION_FAILED", failed
    assert [s["status"] for s in failed["steps"]] == ["completed", "failed"]
    marker.unlink()
    started = time.monotonic()
    retried = http.post(f"/v1/jobs/{job_id}/retry")
    assert retried.status_code == 202 and retried.json()["status"] == "queued"
    done = wait_job(http, job_id)
    assert done["status"] == "completed" and done["attempts"] == 2, done
    assert [s["status"] for s in done["steps"]] == ["cached", "completed"]
    assert time.monotonic() - started < 5
    assert http.post(f"/v1/jobs/{job_id}/retry").status_code in (400, 422)


def test_event_stream_shows_progress_and_ends(http: httpx.Client) -> None:
    file_id = upload(http, png_bytes())
    job_id = http.post(
        "/v1/jobs",
        json={"inputs": [{"fileId": file_id}], "then": [{"step": "sleep", "options": {"seconds": 1.5}}]},
    ).json()["jobId"]
    names: list[str] = []
    progress: list[float] = []
    started = time.monotonic()
    with http.stream("GET", f"/v1/jobs/{job_id}/events", timeout=30) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        event = ""
        for line in stream.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
                names.append(event)
            elif line.startswith("data: "):
                progress.append(json.loads(line[6:])["progress"])
    assert time.monotonic() - started < 20
    assert names[-1] == "completed" and "progress" in names, names
    assert progress == sorted(progress) and progress[-1] == 100.0
    assert any(0 < p < 100 for p in progress)
    assert len(names) < 40  # one event per change, not a flood
    # a finished job's stream ends at once
    with http.stream("GET", f"/v1/jobs/{job_id}/events", timeout=10) as stream:
        lines = [line for line in stream.iter_lines() if line.startswith("event: ")]
    assert lines == ["event: completed"]


def test_outputs_delivered_to_a_presigned_url(http: httpx.Client, receiver: Receiver) -> None:
    from PIL import Image

    file_id = upload(http, png_bytes((40, 30)))
    job_id = http.post(
        "/v1/jobs",
        json={
            "inputs": [{"fileId": file_id}],
            "outputFormat": "jpg",
            "output": {"url": f"{receiver.url}/bucket/result.jpg?sig=abc"},
        },
    ).json()["jobId"]
    job = wait_job(http, job_id)
    assert job["status"] == "completed", job
    assert job["outputs"][0]["deliveredTo"] == f"{receiver.url}/bucket/result.jpg"
    put = receiver.wait_for(lambda r: r.method == "PUT" and r.path.startswith("/bucket/result.jpg"))
    assert Image.open(io.BytesIO(put[0].body)).size == (40, 30)


def test_an_idle_worker_is_woken_for_a_new_job(_plugin_path: None) -> None:
    """Workers that look at the queue once a minute still start a new job at once: the server wakes
    them, and they leave no socket behind when they stop."""
    data = Path(tempfile.mkdtemp(prefix="cv-", dir="/tmp"))  # short: a Unix socket path has a limit
    sockets = data / "run" / "workers"
    live = start_server(job_settings(data, job_poll_interval=60.0))
    try:
        deadline = time.monotonic() + 30
        while len(list(sockets.glob("*.sock"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(list(sockets.glob("*.sock"))) == 2
        time.sleep(1.0)  # past their first look at the queue: both sleep now
        with live.client() as http:
            file_id = upload(http, png_bytes((40, 30)))
            reply = http.post("/v1/jobs", json={"inputs": [{"fileId": file_id}], "outputFormat": "jpg"})
            assert reply.status_code == 202, reply.text
            assert wait_job(http, reply.json()["jobId"], timeout=20)["status"] == "completed"
    finally:
        live.stop()
    assert not list(sockets.glob("*.sock"))
    shutil.rmtree(data)
