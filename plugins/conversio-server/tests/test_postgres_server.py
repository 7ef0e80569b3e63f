"""A real ``conversio serve`` on a real PostgreSQL: jobs and a batch submitted over HTTP complete, run
by the server's worker processes, and every webhook is delivered exactly once; nothing is kept in a
SQLite file."""

from __future__ import annotations

import os
import subprocess
import time
from collections import Counter
from pathlib import Path

import sqlalchemy as sa
from conftest import start_server
from conversio_server.jobstore import jobs
from jobs_support.receiver import Receiver
from server_samples import png_bytes
from test_batch import wait_batch
from test_jobs import PLUGIN, TESTS, job_settings, secret_of, upload, wait_job

from conversio.webhooks import verify_webhook

JOBS = 8


def test_jobs_and_a_batch_complete_with_each_webhook_delivered_once(
    tmp_path: Path, postgres_url: str
) -> None:
    receiver = Receiver()
    server = start_server(job_settings(tmp_path, database_url=postgres_url, job_workers=2))
    try:
        with server.client() as http:
            file_id = upload(http, png_bytes((30, 20)))
            job_ids = []
            for n in range(JOBS):
                reply = http.post(
                    "/v1/jobs",
                    json={
                        "inputs": [{"fileId": file_id}],
                        "outputFormat": ("jpg", "gif", "webp", "bmp")[n % 4],
                        "webhook": f"{receiver.url}/hook/{n}",
                    },
                )
                assert reply.status_code == 202, reply.text
                job_ids.append(reply.json()["jobId"])
            batch = http.post(
                "/v1/batch",
                json={
                    "jobs": [{"inputs": [{"fileId": file_id}], "outputFormat": "jpg"} for _ in range(3)],
                    "webhook": f"{receiver.url}/hook/batch",
                    "callbackMode": "batch",
                },
            )
            assert batch.status_code == 202, batch.text
            finished = [wait_job(http, job_id, timeout=60) for job_id in job_ids]
            assert [job["status"] for job in finished] == ["completed"] * JOBS, finished
            assert [job["outputs"][0]["format"] for job in finished] == [
                ("jpg", "gif", "webp", "bmp")[n % 4] for n in range(JOBS)
            ]
            assert wait_batch(http, batch.json()["batchId"], timeout=60)["counts"]["completed"] == 3
            receiver.wait_for(lambda r: r.path == "/hook/batch")
            deadline = time.monotonic() + 60
            while len(receiver.matching(lambda r: r.json()["event"] == "job.completed")) < JOBS:
                assert time.monotonic() < deadline, "not every job.completed webhook arrived"
                time.sleep(0.05)
            recorded = {
                d["eventId"]: d["status"]
                for job_id in job_ids
                for d in http.get(f"/v1/jobs/{job_id}/webhooks").json()["deliveries"]
            }
            time.sleep(0.5)  # a second delivery of any of them would arrive by now
        webhooks = receiver.matching(lambda r: r.method == "POST")
        ids = Counter(r.headers["webhook-id"] for r in webhooks)
        assert set(ids.values()) == {1}, ids  # no event was delivered twice
        assert set(recorded.values()) == {"delivered"} and set(recorded) <= set(ids)
        secret = secret_of(server)
        events = Counter((r.path, verify_webhook(r.body, r.headers, secret)["event"]) for r in webhooks)
        for n in range(JOBS):
            assert events[(f"/hook/{n}", "job.queued")] == events[(f"/hook/{n}", "job.completed")] == 1
        assert [r.json()["event"] for r in webhooks if r.path == "/hook/batch"] == ["batch.completed"]
        assert not list(tmp_path.glob("*.sqlite3")), "the server kept a SQLite database"
        engine = sa.create_engine(postgres_url)
        try:
            with engine.connect() as db:
                statuses = Counter(db.scalars(sa.select(jobs.c.status)).all())
        finally:
            engine.dispose()
        assert statuses == {"completed": JOBS + 3}
    finally:
        server.stop()
        receiver.close()


def test_a_worker_on_another_host_starts_a_queued_job_at_once(tmp_path: Path, postgres_url: str) -> None:
    """A ``conversio worker`` with a data folder of its own (no datagram from the API node reaches it)
    and a 30 s poll interval starts each job the API node queues within a fraction of a second: the
    queuing transaction's NOTIFY wakes it."""
    from test_jobs_durability import CONVERSIO, stop

    server = start_server(job_settings(tmp_path / "api", database_url=postgres_url, job_workers=0))
    env = dict(os.environ)
    env["PYTHONPATH"] = TESTS + os.pathsep + env.get("PYTHONPATH", "")
    env.update(
        CONVERSIO_SERVER_EXTRA_PLUGINS=PLUGIN,
        CONVERSIO_SERVER_STORE_URL=server.settings.store_url,
        CONVERSIO_SERVER_JOB_POLL_INTERVAL="30",
        CONVERSIO_SERVER_WORKERS="1",
    )
    worker = subprocess.Popen(
        [CONVERSIO, "worker", "--dev", "--data-dir", str(tmp_path / "worker"), "--database", postgres_url],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with server.client() as http:
            file_id = upload(http, png_bytes())
            spec = {"inputs": [{"fileId": file_id}], "outputFormat": "gif"}
            first = http.post("/v1/jobs", json=spec).json()["jobId"]
            assert wait_job(http, first, timeout=60)["status"] == "completed"  # the worker is up
            job_ids = []
            for _ in range(5):
                time.sleep(0.3)  # the worker is back in its 30 s wait
                job_ids.append(http.post("/v1/jobs", json=spec).json()["jobId"])
                assert wait_job(http, job_ids[-1], timeout=20)["status"] == "completed"
        engine = sa.create_engine(postgres_url)
        try:
            with engine.connect() as db:
                waits = (
                    db.execute(sa.select(jobs.c.started_at - jobs.c.created_at).where(jobs.c.id.in_(job_ids)))
                    .scalars()
                    .all()
                )
        finally:
            engine.dispose()
        assert len(waits) == 5 and max(waits) < 2.0, waits
        print(f"queued to started after a NOTIFY: {sorted(waits)}")
    finally:
        stop(worker)
        server.stop()
