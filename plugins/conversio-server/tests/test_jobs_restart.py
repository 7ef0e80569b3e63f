"""The issue's end-to-end promises, on real processes on 127.0.0.1: a server stopped and started again in
the middle of a 50-job batch completes every job exactly once with its webhooks delivered, and a webhook
receiver that is down for a while still gets every event, signed, with retries under the same id."""

from __future__ import annotations

import io
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
from conftest import needs, start_server
from jobs_support.receiver import Received, Receiver
from PIL import Image
from server_samples import png_bytes
from test_jobs import job_settings, secret_of, upload, wait_job

from conversio.webhooks import verify_webhook

needs("image")

#: Short waits between webhook attempts, so a receiver that comes back is reached within seconds.
QUICK_RETRIES = "0.2,0.4,0.8,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1"


def _batch(http: httpx.Client, base: str) -> dict[str, Any]:
    reply = http.get(f"/v1/batch/{base}")
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def _events(got: list[Received], secret: str) -> dict[str, list[dict[str, Any]]]:
    """Every received webhook, verified, grouped by its ``webhook-id``."""
    by_id: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for request in got:
        by_id[request.headers["webhook-id"]].append(verify_webhook(request.body, request.headers, secret))
    return by_id


def test_a_server_restarted_mid_batch_completes_every_job_once(tmp_path: Path) -> None:
    receiver = Receiver()
    settings = job_settings(tmp_path, webhook_retry=QUICK_RETRIES)
    formats = ("jpg", "gif", "webp", "bmp", "tiff")
    first = start_server(settings)
    try:
        with first.client() as http:
            file_id = upload(http, png_bytes((30, 20)))
            jobs = [
                {
                    "inputs": [{"fileId": file_id}],
                    "then": [{"step": "sleep", "options": {"seconds": 0.1}}, fmt],
                }
                for fmt in formats * 10
            ]
            body = http.post(
                "/v1/batch", json={"jobs": jobs, "webhook": f"{receiver.url}/b", "callbackMode": "both"}
            ).json()
            batch_id, ids = body["batchId"], [j["jobId"] for j in body["jobs"]]
            deadline = time.monotonic() + 60
            while _batch(http, batch_id)["counts"]["completed"] < 8 and time.monotonic() < deadline:
                time.sleep(0.05)
            before = _batch(http, batch_id)["counts"]
    finally:
        first.stop()
    assert 8 <= before["completed"] < 50, f"the server must stop mid-batch: {before}"
    second = start_server(settings)
    try:
        with second.client() as http:
            for job_id in ids:
                wait_job(http, job_id, timeout=120)
            assert _batch(http, batch_id)["counts"]["completed"] == 50
            for job_id, fmt in zip(ids, formats * 10, strict=True):
                (output,) = http.get(f"/v1/jobs/{job_id}").json()["outputs"]
                assert output["format"] == fmt
                content = http.get(output["contentUrl"]).content
                assert Image.open(io.BytesIO(content)).size == (30, 20)
        receiver.wait_for(lambda r: r.json()["event"] == "batch.completed", timeout=60)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            completed = {
                r.json()["jobId"] for r in receiver.matching(lambda r: r.json()["event"] == "job.completed")
            }
            if completed >= set(ids):
                break
            time.sleep(0.1)
        events = _events(receiver.matching(lambda r: True), secret_of(second))
    finally:
        second.stop()
        receiver.close()
    for copies in events.values():  # a redelivered event is the same event
        assert all(c == copies[0] for c in copies)
    kinds: dict[tuple[str, str], int] = defaultdict(int)
    for copies in events.values():
        payload = copies[0]
        kinds[payload["event"], payload.get("jobId") or payload.get("batchId")] += 1
    for job_id in ids:
        assert kinds["job.completed", job_id] == 1, (
            f"{job_id} completed {kinds['job.completed', job_id]} times"
        )
        assert kinds["job.failed", job_id] == kinds["job.cancelled", job_id] == 0
    assert kinds["batch.completed", batch_id] == 1


def test_a_receiver_down_for_a_while_gets_every_event(tmp_path: Path) -> None:
    probe = Receiver()
    port = probe.httpd.server_address[1]
    probe.close()  # down: connections to the port are refused
    server = start_server(job_settings(tmp_path, job_workers=1, webhook_retry=QUICK_RETRIES))
    receiver: Receiver | None = None
    try:
        with server.client() as http:
            file_id = upload(http, png_bytes())
            url = f"http://127.0.0.1:{port}/hook"
            ids = [
                http.post(
                    "/v1/jobs", json={"inputs": [{"fileId": file_id}], "outputFormat": fmt, "webhook": url}
                ).json()["jobId"]
                for fmt in ("jpg", "gif", "webp")
            ]
            for job_id in ids:
                assert wait_job(http, job_id)["status"] == "completed"

            def deliveries() -> list[dict[str, Any]]:
                found = []
                for job_id in ids:
                    found += http.get(f"/v1/jobs/{job_id}/webhooks").json()["deliveries"]
                return found

            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not all(
                d["attempts"] >= 2 for d in deliveries() if d["event"] == "job.completed"
            ):
                time.sleep(0.1)
            failed_attempts = [
                a for d in deliveries() for a in d["attemptLog"] if a["outcome"] != "delivered"
            ]
            assert failed_attempts, "the receiver was down: attempts must have failed"
            # up again; the first request for each event is answered 503 after being recorded
            seen: set[str] = set()

            def answer(request: Received) -> int:
                first = request.headers["webhook-id"] not in seen
                seen.add(request.headers["webhook-id"])
                return 503 if first else 200

            receiver = Receiver(port, answer)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and any(d["status"] != "delivered" for d in deliveries()):
                time.sleep(0.1)
            final = deliveries()
            assert final and all(d["status"] == "delivered" for d in final), final
        events = _events(receiver.matching(lambda r: True), secret_of(server))
    finally:
        server.stop()
        if receiver is not None:
            receiver.close()
    assert {d["eventId"] for d in final} == set(events)
    for event_id, copies in events.items():
        assert len(copies) >= 2 and all(c == copies[0] for c in copies), event_id
    for job_id in ids:
        kinds = sorted(c[0]["event"] for c in events.values() if c[0]["jobId"] == job_id)
        assert {"job.queued", "job.processing", "job.completed"} <= set(kinds), kinds
