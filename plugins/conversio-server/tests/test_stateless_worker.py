"""Nothing but the database and the store is shared: an API-only node (``job_workers`` 0) starts no
worker yet answers, converts synchronously and goes on with a conversion past the sync limit itself;
a ``conversio worker`` given only the PostgreSQL URL, the S3 URL and a data folder of its own reads
each input from the store into local scratch space and puts the results in the store."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import needs, start_server
from server_samples import png_bytes
from test_jobs import PLUGIN, TESTS, job_settings, upload, wait_job
from test_jobs_durability import CONVERSIO, stop

needs("image", "s3")

from conversio_s3.testing import local_s3_buckets  # noqa: E402

BUCKET = "stateless"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with local_s3_buckets(BUCKET) as endpoint:
        yield endpoint


def test_an_api_only_node_and_a_worker_share_only_the_database_and_the_store(
    tmp_path: Path, postgres_url: str, s3_endpoint: str
) -> None:
    from PIL import Image

    store_url = f"s3://{BUCKET}/{uuid.uuid4().hex[:12]}?endpoint={s3_endpoint}&path_style=1"
    api_dir, worker_dir = tmp_path / "api", tmp_path / "worker"
    settings = job_settings(
        api_dir, job_workers=0, database_url=postgres_url, store_url=store_url, sync_timeout=3.0
    )
    api = start_server(settings)
    worker = None
    try:
        assert api.app.state.background.pool is None  # no job worker here
        with api.client() as http:
            checks = http.get("/readyz").json()["checks"]
            assert checks["jobWorkers"] == {"ok": True, "alive": 0, "configured": 0}
            assert checks["store"]["ok"] and checks["database"]["ok"]
            file_id = upload(http, png_bytes((30, 20)))
            quick = http.post("/v1/convert", json={"inputs": [{"fileId": file_id}], "outputFormat": "jpg"})
            assert quick.status_code == 200 and Image.open(io.BytesIO(quick.content)).format == "JPEG"
            # past the sync limit the node goes on with the conversion itself
            step = {"step": "sleep", "options": {"seconds": 4.0}}
            handed = http.post("/v1/convert", json={"inputs": [{"fileId": file_id}], "then": [step]})
            assert handed.status_code == 202, handed.text
            assert wait_job(http, handed.json()["jobId"])["status"] == "completed"
            # a job waits for a worker: there is none yet
            record = tmp_path / "read-from.txt"
            step = {"step": "sleep", "options": {"seconds": 0.2, "record": str(record)}}
            job_id = http.post("/v1/jobs", json={"inputs": [{"fileId": file_id}], "then": [step]}).json()[
                "jobId"
            ]
            time.sleep(1.0)
            assert http.get(f"/v1/jobs/{job_id}").json()["status"] == "queued"
            env = dict(os.environ, PYTHONPATH=TESTS + os.pathsep + os.environ.get("PYTHONPATH", ""))
            env.update(CONVERSIO_SERVER_EXTRA_PLUGINS=PLUGIN, CONVERSIO_SERVER_WORKERS="1")
            worker = subprocess.Popen(
                [
                    CONVERSIO,
                    "worker",
                    "--database",
                    postgres_url,
                    "--store",
                    store_url,
                    "--data-dir",
                    str(worker_dir),
                ],
                env=env,
                start_new_session=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            job = wait_job(http, job_id, timeout=90)
            assert job["status"] == "completed", job
            read_from = Path(record.read_text())
            # a local copy, not the API node's or the worker's folder, gone once the step ended
            assert not read_from.is_relative_to(api_dir) and not read_from.is_relative_to(worker_dir)
            assert not read_from.exists()
            (output,) = job["outputs"]
            assert Image.open(io.BytesIO(http.get(output["contentUrl"]).content)).size == (30, 20)
        os.kill(worker.pid, signal.SIGTERM)
        assert worker.wait(30) == 0
        # the worker kept nothing of its own but its sockets' folder: no store, no database
        assert sorted(p.name for p in worker_dir.iterdir()) == ["run"]
    finally:
        if worker is not None:
            stop(worker)
        api.stop()
