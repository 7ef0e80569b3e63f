"""Durable execution for real: a SIGKILLed ``conversio worker`` process loses no job (on SQLite and on
PostgreSQL), a server restart loses no job, a key's running jobs stay within its limit, a full queue
answers with Retry-After."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import needs, start_server
from server_samples import png_bytes
from test_job_claims import status_counts
from test_jobs import TESTS, job_settings, upload, wait_job

needs("image")

CONVERSIO = str(Path(sys.executable).with_name("conversio"))


@pytest.fixture
def worker_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = dict(os.environ)
    env["PYTHONPATH"] = TESTS + os.pathsep + env.get("PYTHONPATH", "")
    env.update(
        {
            "CONVERSIO_SERVER_EXTRA_PLUGINS": "jobs_support.slow_plugin",
            "CONVERSIO_SERVER_JOB_LEASE": "2",
            "CONVERSIO_SERVER_JOB_HEARTBEAT": "0.3",
            "CONVERSIO_SERVER_JOB_POLL_INTERVAL": "0.05",
            "CONVERSIO_SERVER_WORKERS": "1",
        }
    )
    yield env


def spawn_worker(data_dir: Path, env: dict[str, str], database_url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [CONVERSIO, "worker", "--dev", "--data-dir", str(data_dir), "--database", database_url],
        env=env,
        start_new_session=True,  # its own process group: killing it kills its engine workers too
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def test_sigkilled_worker_job_is_picked_up_by_another(
    tmp_path: Path, worker_env: dict[str, str], database_url: str
) -> None:
    from PIL import Image

    server = start_server(job_settings(tmp_path, job_workers=0, job_lease=2.0, database_url=database_url))
    first = spawn_worker(tmp_path, worker_env, database_url)
    second = None
    try:
        with server.client() as http:
            file_id = upload(http, png_bytes((33, 22)))
            pidfile = tmp_path / "pid"
            job_id = http.post(
                "/v1/jobs",
                json={
                    "inputs": [{"fileId": file_id}],
                    "then": [{"step": "sleep", "options": {"seconds": 3, "pidfile": str(pidfile)}}],
                },
            ).json()["jobId"]
            deadline = time.monotonic() + 30
            while not pidfile.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert http.get(f"/v1/jobs/{job_id}").json()["status"] == "processing"
            os.killpg(first.pid, signal.SIGKILL)  # mid-job, no goodbye
            first.wait(5)
            second = spawn_worker(tmp_path, worker_env, database_url)
            job = wait_job(http, job_id, timeout=40)
            assert job["status"] == "completed" and job["attempts"] == 2, job
            assert len(job["outputs"]) == 1
            content = httpx.get(job["outputs"][0]["downloadUrl"]).content
            assert Image.open(__import__("io").BytesIO(content)).size == (33, 22)
    finally:
        stop(first)
        if second is not None:
            stop(second)
        server.stop()


def test_restart_loses_no_job(tmp_path: Path) -> None:
    server = start_server(job_settings(tmp_path, job_workers=0))
    try:
        with server.client() as http:
            file_id = upload(http, png_bytes())
            job_id = http.post(
                "/v1/jobs", json={"inputs": [{"fileId": file_id}], "outputFormat": "gif"}
            ).json()["jobId"]
            assert http.get(f"/v1/jobs/{job_id}").json()["status"] == "queued"
    finally:
        server.stop()
    server = start_server(job_settings(tmp_path, job_workers=1))
    try:
        with server.client() as http:
            job = wait_job(http, job_id, timeout=30)
            assert job["status"] == "completed" and job["outputs"][0]["format"] == "gif"
            assert [j["jobId"] for j in http.get("/v1/jobs").json()["jobs"]] == [job_id]
    finally:
        server.stop()


def test_key_running_limit_and_full_queue(database_url: str) -> None:
    from conversio_server.errors import ApiError
    from conversio_server.jobstore import JobStore, NewJob

    store = JobStore(database_url)
    try:
        spec = {"inputs": ["x"], "outputFormat": "jpg"}
        store.create([NewJob(spec=spec, key_id="k1", max_running=1) for _ in range(2)])
        store.create([NewJob(spec=spec, key_id="k2", max_running=1)])
        first = store.claim("w1", lease=30)
        second = store.claim("w2", lease=30)
        assert first is not None and second is not None
        # the second of k1's jobs waits while k1's first runs; k2's job is claimed instead
        keys = {store.get(first.id)["key_id"], store.get(second.id)["key_id"]}
        assert keys == {"k1", "k2"}
        assert store.claim("w3", lease=30) is None
        assert store.finish(first.id, "w1", "completed", outputs=[])
        assert not store.finish(first.id, "w1", "completed", outputs=[])  # never twice
        assert store.claim("w3", lease=30) is not None
        with pytest.raises(ApiError) as per_key:
            store.create([NewJob(spec=spec, key_id="k1")], limits=(1, 100))
        assert per_key.value.code == "RATE_LIMITED" and per_key.value.headers["Retry-After"]
        with pytest.raises(ApiError) as full:
            store.create([NewJob(spec=spec, key_id="k9")], limits=(10, 2))
        assert full.value.code == "SERVICE_UNAVAILABLE" and full.value.status == 503
    finally:
        store.close()


def test_workers_racing_for_a_keys_last_slot_start_only_one_job(database_url: str) -> None:
    """Workers that all read "nothing running" before any of them claims still start one job of a key
    limited to one: the limit is checked by the claiming statement itself."""
    import threading

    from conversio_server.jobstore import JobStore, NewJob

    stores = [JobStore(database_url) for _ in range(6)]
    try:
        spec = {"inputs": ["x"], "outputFormat": "jpg"}
        stores[0].create([NewJob(spec=spec, key_id="k1", max_running=1) for _ in range(6)])
        ready = threading.Barrier(len(stores), timeout=30)
        claimed = []

        def race(store: JobStore, owner: str) -> None:
            real_connect = store.engine.connect
            calls = []

            def wait_before_claiming() -> object:
                calls.append(None)
                if len(calls) == 2:  # the first connection read the counts; every worker has by now
                    ready.wait()
                return real_connect()

            store.engine.connect = wait_before_claiming  # type: ignore[method-assign]
            claimed.append(store.claim(owner, lease=30))

        threads = [threading.Thread(target=race, args=(s, f"w{i}")) for i, s in enumerate(stores)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert len(claimed) == len(stores)
        assert sum(c is not None for c in claimed) == 1
        assert status_counts(stores[0], "k1") == {"processing": 1, "queued": 5}
    finally:
        for store in stores:
            store.close()


def test_full_queue_answers_503_over_http(tmp_path: Path) -> None:
    server = start_server(job_settings(tmp_path, job_workers=0, max_queued_jobs=1))
    try:
        with server.client() as http:
            file_id = upload(http, png_bytes())
            spec = {"inputs": [{"fileId": file_id}], "outputFormat": "jpg"}
            assert http.post("/v1/jobs", json=spec).status_code == 202
            refused = http.post("/v1/jobs", json=spec)
            assert refused.status_code == 503 and refused.headers["Retry-After"]
            assert refused.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    finally:
        server.stop()


def test_a_stopped_worker_hands_its_running_job_back(
    tmp_path: Path, worker_env: dict[str, str], database_url: str
) -> None:
    server = start_server(job_settings(tmp_path, job_workers=0, database_url=database_url))
    worker_env["CONVERSIO_SERVER_JOB_DRAIN_TIMEOUT"] = "0"  # no time to finish: the job goes back at once
    first = spawn_worker(tmp_path, worker_env, database_url)
    try:
        with server.client() as http:
            file_id = upload(http, png_bytes())
            pidfile = tmp_path / "pid"
            job_id = http.post(
                "/v1/jobs",
                json={
                    "inputs": [{"fileId": file_id}],
                    "then": [{"step": "sleep", "options": {"seconds": 20, "pidfile": str(pidfile)}}],
                },
            ).json()["jobId"]
            deadline = time.monotonic() + 30
            while not pidfile.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            os.kill(first.pid, signal.SIGTERM)  # a graceful stop: the job goes back to the queue at once
            first.wait(15)
            job = wait_job(http, job_id, timeout=10, until=("queued",))
            assert job["status"] == "queued" and job["attempts"] == 1, job
    finally:
        stop(first)
        server.stop()
