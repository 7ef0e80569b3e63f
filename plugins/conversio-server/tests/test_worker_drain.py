"""Rolling restarts lose nothing, with real processes: a ``conversio worker`` (or ``conversio serve``) told
to stop by SIGTERM claims nothing more, lets its running job finish and exits 0; past its drain time it
hands the job back and another worker completes it, once; a second signal hands it back at once. Workers
register in the shared database while they run."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import LiveServer, needs, start_server
from conversio_server.fleet import Fleet, HostLoad
from conversio_server.jobstore import JobStore, NewJob
from jobs_support.receiver import Receiver
from server_samples import png_bytes
from test_jobs import PLUGIN, TESTS, job_settings, upload, wait_job
from test_jobs_durability import CONVERSIO, stop

needs("image")

HOST = "drain-test-host"


def worker_env(**more: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = TESTS + os.pathsep + env.get("PYTHONPATH", "")
    env.update(
        CONVERSIO_SERVER_EXTRA_PLUGINS=PLUGIN,
        CONVERSIO_SERVER_JOB_LEASE="3",
        CONVERSIO_SERVER_JOB_HEARTBEAT="0.3",
        CONVERSIO_SERVER_JOB_POLL_INTERVAL="0.05",
        CONVERSIO_SERVER_WORKERS="1",
        **more,
    )
    return env


def spawn_worker(data_dir: Path, database_url: str, store_url: str, *options: str) -> subprocess.Popen[bytes]:
    """A ``conversio worker`` of its own data folder, given only the database and the store."""
    command = [CONVERSIO, "worker", "--dev", "--data-dir", str(data_dir), "--database", database_url]
    return subprocess.Popen(
        [*command, "--store", store_url, "--hostname", HOST, *options],
        env=worker_env(),
        start_new_session=True,  # SIGTERM goes to the worker alone, as systemd's KillMode=mixed sends it
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def eventually(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def slow_job(http: httpx.Client, seconds: float, pidfile: Path, **more: Any) -> str:
    file_id = upload(http, png_bytes())
    step = {"step": "sleep", "options": {"seconds": seconds, "pidfile": str(pidfile)}}
    reply = http.post("/v1/jobs", json={"inputs": [{"fileId": file_id}], "then": [step], **more})
    assert reply.status_code == 202, reply.text
    return str(reply.json()["jobId"])


@pytest.fixture
def api(tmp_path: Path, database_url: str) -> Iterator[LiveServer]:
    """An API-only node (no job workers) with the webhook dispatchers."""
    server = start_server(job_settings(tmp_path / "api", job_workers=0, database_url=database_url))
    yield server
    server.stop()


def hosts(server: LiveServer) -> dict[str, HostLoad]:
    return Fleet(server.app.state.server.jobstore.engine).census().hosts


def test_sigterm_lets_the_running_job_finish_and_claims_nothing_more(
    tmp_path: Path, api: LiveServer, database_url: str
) -> None:
    worker = spawn_worker(tmp_path / "w1", database_url, api.settings.store_url)
    second = None
    try:
        with api.client() as http:
            pidfile = tmp_path / "pid"
            running = slow_job(http, 3, pidfile)
            eventually(pidfile.exists, 60)
            eventually(lambda: hosts(api) == {HOST: HostLoad(1, 0, 1)}, 5)  # its next heartbeat says so
            os.kill(worker.pid, signal.SIGTERM)
            eventually(lambda: hosts(api) == {HOST: HostLoad(1, 1, 1)})  # it shows itself draining
            queued = http.post(
                "/v1/jobs", json={"inputs": [{"fileId": upload(http, png_bytes())}], "outputFormat": "gif"}
            ).json()["jobId"]
            assert worker.wait(30) == 0
            job = http.get(f"/v1/jobs/{running}").json()
            assert job["status"] == "completed" and job["attempts"] == 1, job
            assert http.get(f"/v1/jobs/{queued}").json()["status"] == "queued"
            assert hosts(api) == {}  # its row went with it
            second = spawn_worker(tmp_path / "w2", database_url, api.settings.store_url)
            assert wait_job(http, queued, timeout=60)["status"] == "completed"
    finally:
        stop(worker)
        if second is not None:
            stop(second)


def test_past_its_drain_time_the_job_is_handed_back_and_completed_once(
    tmp_path: Path, api: LiveServer, database_url: str
) -> None:
    receiver = Receiver()
    first = spawn_worker(tmp_path / "w1", database_url, api.settings.store_url, "--drain-timeout", "0.5")
    second = None
    try:
        with api.client() as http:
            pidfile = tmp_path / "pid"
            job_id = slow_job(http, 5, pidfile, webhook=f"{receiver.url}/hook")
            eventually(pidfile.exists, 60)
            stopped = time.monotonic()
            os.kill(first.pid, signal.SIGTERM)
            assert first.wait(15) == 0
            assert time.monotonic() - stopped < 4.5  # it did not wait for the job
            job = wait_job(http, job_id, timeout=10, until=("queued",))
            assert job["attempts"] == 1, job
            second = spawn_worker(tmp_path / "w2", database_url, api.settings.store_url)
            job = wait_job(http, job_id, timeout=60)
            assert job["status"] == "completed" and job["attempts"] == 2 and len(job["outputs"]) == 1, job
            receiver.wait_for(lambda r: r.json()["event"] == "job.completed")
            time.sleep(1.0)  # a second terminal event would be delivered by now
        events = [r.json()["event"] for r in receiver.matching(lambda r: r.path == "/hook")]
        assert [e for e in events if e in ("job.completed", "job.failed", "job.cancelled")] == [
            "job.completed"
        ]
        assert events.count("job.processing") == 1, events
    finally:
        stop(first)
        if second is not None:
            stop(second)
        receiver.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_second_signal_hands_the_job_back_at_once(
    tmp_path: Path, api: LiveServer, database_url: str
) -> None:
    worker = spawn_worker(tmp_path / "w1", database_url, api.settings.store_url)
    try:
        with api.client() as http:
            pidfile = tmp_path / "pid"
            job_id = slow_job(http, 30, pidfile)
            eventually(pidfile.exists, 60)
            os.kill(worker.pid, signal.SIGTERM)
            eventually(lambda: hosts(api) == {HOST: HostLoad(1, 1, 1)})
            os.kill(worker.pid, signal.SIGINT)
            assert worker.wait(15) == 0
            job = http.get(f"/v1/jobs/{job_id}").json()
            assert job["status"] == "queued" and job["attempts"] == 1, job
    finally:
        stop(worker)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def serving(data_dir: Path) -> Iterator[tuple[subprocess.Popen[bytes], httpx.Client, JobStore]]:
    """``conversio serve`` with one job worker, once it is ready; a client of it and its job store."""
    port = free_port()
    command = [CONVERSIO, "serve", "--dev", "--port", str(port), "--data-dir", str(data_dir)]
    serve = subprocess.Popen(
        [*command, "--job-workers", "1"],
        env=worker_env(),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            eventually(lambda: _answers(http, "/readyz"), 90)
            store = JobStore(f"sqlite:///{data_dir / 'server.sqlite3'}")
            try:
                yield serve, http, store
            finally:
                store.close()
    finally:
        stop(serve)


def draining(store: JobStore) -> bool:
    return any(load.draining for load in Fleet(store.engine).census().hosts.values())


def test_conversio_serve_drains_its_job_workers(tmp_path: Path) -> None:
    """SIGTERM to ``conversio serve``: its job worker finishes the running job and claims no other."""
    with serving(tmp_path) as (serve, http, store):
        pidfile = tmp_path / "pid"
        job_id = slow_job(http, 3, pidfile)
        eventually(pidfile.exists, 60)
        serve.send_signal(signal.SIGTERM)
        eventually(lambda: draining(store))
        (late,) = store.create([NewJob(spec={"inputs": ["x"], "outputFormat": "gif"}, key_id="dev")])
        assert serve.wait(60) in (0, -signal.SIGTERM)  # uvicorn ends by its signal's default action
        assert store.get(job_id)["status"] == "completed" and store.get(job_id)["attempts"] == 1
        assert store.get(late["id"])["status"] == "queued"
        assert Fleet(store.engine).census().hosts == {}


def test_a_second_signal_to_conversio_serve_hands_the_job_back(tmp_path: Path) -> None:
    with serving(tmp_path) as (serve, http, store):
        pidfile = tmp_path / "pid"
        job_id = slow_job(http, 30, pidfile)
        eventually(pidfile.exists, 60)
        serve.send_signal(signal.SIGTERM)
        eventually(lambda: draining(store))
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(20) in (0, -signal.SIGTERM)
        job = store.get(job_id)
        assert job["status"] == "queued" and job["attempts"] == 1, job
        assert Fleet(store.engine).census().hosts == {}


def _answers(http: httpx.Client, path: str) -> bool:
    try:
        return http.get(path).status_code == 200
    except httpx.TransportError:
        return False
