"""A synchronous conversion answers by the sync limit even when every worker is busy: 202 with a job
whether it was running, waiting for the worker, or still waiting for a place; 503 with ``Retry-After``
only beyond ``max_queued``. Every job it became completes."""

from __future__ import annotations

import io
import json
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from conftest import LiveServer, needs, start_server
from PIL import Image
from server_samples import png_bytes
from test_jobs import job_settings, upload, wait_job

needs("image")

SYNC_TIMEOUT = 2.0
#: What a loaded CI machine may add to the sync limit before the 202 arrives.
MARGIN = 3.0
#: One worker: four conversions in flight (one converting, three waiting for the worker) and two queued.
WORKERS, MAX_QUEUED = 1, 2
IN_FLIGHT = 4 * WORKERS


def _sleep(seconds: float) -> list[dict[str, Any]]:
    return [{"step": "sleep", "options": {"seconds": seconds}}]


class Timed:
    """A request sent on a thread of its own: its reply and how long it took."""

    def __init__(self, send: Callable[[], httpx.Response]) -> None:
        self.reply: httpx.Response | None = None
        self.seconds = 0.0
        self._send = send
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        started = time.monotonic()
        self.reply = self._send()
        self.seconds = time.monotonic() - started

    def result(self) -> httpx.Response:
        self._thread.join(timeout=60)
        assert self.reply is not None, "the request did not answer within 60 s"
        return self.reply


def _gauge(http: httpx.Client, name: str) -> float:
    found = re.search(rf"^{name} (\S+)$", http.get("/metrics").text, re.MULTILINE)
    assert found is not None, name
    return float(found.group(1))


def _until(http: httpx.Client, name: str, value: float) -> None:
    deadline = time.monotonic() + 10
    while _gauge(http, name) != value:
        assert time.monotonic() < deadline, f"{name} never reached {value}"
        time.sleep(0.05)


def _handed_off(timed: Timed, status: str) -> str:
    reply = timed.result()
    assert reply.status_code == 202, reply.text
    assert timed.seconds < SYNC_TIMEOUT + MARGIN, f"202 after {timed.seconds:.1f} s"
    body = reply.json()
    assert body["status"] == status and reply.headers["location"] == body["url"]
    return str(body["jobId"])


def _completed_png(http: httpx.Client, job_id: str, size: tuple[int, int]) -> None:
    job = wait_job(http, job_id, timeout=40)
    assert job["status"] == "completed", job
    (output,) = job["outputs"]
    assert Image.open(io.BytesIO(http.get(output["contentUrl"]).content)).size == size


def _server(tmp_path: Path) -> LiveServer:
    # no cache: identical conversions all run, and an upload converts while the store takes it in
    settings = job_settings(
        tmp_path,
        workers=WORKERS,
        max_queued=MAX_QUEUED,
        sync_timeout=SYNC_TIMEOUT,
        job_workers=1,
        cache=False,
    )
    return start_server(settings)


def _saturate(http: httpx.Client, send: Callable[[], httpx.Response]) -> list[Timed]:
    """Every place in flight taken by ``send``."""
    blockers = [Timed(send) for _ in range(IN_FLIGHT)]
    _until(http, "conversio_conversions_in_flight", IN_FLIGHT)
    return blockers


def test_every_request_answers_by_the_sync_limit_and_beyond_the_queue_503(tmp_path: Path) -> None:
    server = _server(tmp_path)
    try:
        with server.client() as http:
            file_id = upload(http, png_bytes((40, 30)))

            def sync(seconds: float) -> Callable[[], httpx.Response]:
                body = {"inputs": [{"fileId": file_id}], "then": _sleep(seconds)}
                return lambda: http.post("/v1/convert", json=body)

            # four in flight: one converting on the only worker, three waiting for it (2.5 s each)
            blockers = _saturate(http, sync(2.5))
            # two more wait for a place: an upload and a stored file
            form = {"then": json.dumps(_sleep(0.1))}
            upload_request = Timed(
                lambda: http.post("/v1/convert", files={"file": ("up.png", png_bytes((20, 10)))}, data=form)
            )
            queued = [upload_request, Timed(sync(0.1))]
            _until(http, "conversio_conversions_queued", MAX_QUEUED)
            refused = http.post("/v1/convert", json={"inputs": [{"fileId": file_id}], "then": _sleep(0.1)})
            assert refused.status_code == 503, refused.text
            assert refused.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
            assert int(refused.headers["retry-after"]) >= 1

            # those that waited for a place are queued jobs, the job workers run them
            upload_job, stored_job = (_handed_off(t, "queued") for t in queued)
            _completed_png(http, upload_job, (20, 10))
            _completed_png(http, stored_job, (40, 30))
            # those in flight go on as jobs here, the one worker running them in turn
            for job_id in [_handed_off(t, "processing") for t in blockers]:
                _completed_png(http, job_id, (40, 30))
            scratch = server.app.state.server.scratch_folder  # no upload left behind
            deadline = time.monotonic() + 5
            while any(scratch.iterdir()) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert list(scratch.iterdir()) == []
            # every place was given back (those withdrawn from the queue too): idle, a request is answered
            assert _gauge(http, "conversio_conversions_queued") == 0
            assert _gauge(http, "conversio_conversions_in_flight") == 0
            done = sync(0.1)()
            assert done.status_code == 200, done.text
            assert Image.open(io.BytesIO(done.content)).size == (40, 30)
    finally:
        server.stop()


def test_a_convertapi_request_that_times_out_while_queued_never_runs(tmp_path: Path) -> None:
    """ConvertAPI has no jobs: past its ``Timeout`` the request answers TIMEOUT, and a conversion still
    waiting for a place is dropped (its place freed at once), not run later for nobody."""
    server = _server(tmp_path)
    try:
        with server.client() as http:
            file_id = upload(http, png_bytes((40, 30)))
            body = {"inputs": [{"fileId": file_id}], "then": _sleep(2.2)}  # each past the sync limit
            blockers = _saturate(http, lambda: http.post("/v1/convert", json=body))
            timed = Timed(lambda: http.post("/convert/png/to/jpg", data={"File": file_id, "Timeout": "1"}))
            reply = timed.result()
            assert reply.status_code == 422 and reply.json()["Code"] == 4222, reply.text
            assert timed.seconds < 1 + MARGIN
            assert _gauge(http, "conversio_conversions_queued") == 0
            for job_id in [_handed_off(t, "processing") for t in blockers]:
                _completed_png(http, job_id, (40, 30))
            _until(http, "conversio_conversions_in_flight", 0)
            assert 'target="jpg"' not in http.get("/metrics").text  # never converted
    finally:
        server.stop()
