"""A fair job queue, for real: several jobs run at once on one worker host, so a cheap job submitted
after two slow ones starts within seconds; a key with many queued jobs does not starve another key's
job (claims go to the key with the fewest running jobs); and one slow kind of work never takes every
place of a worker, so a key's cheap job behind many slow ones of its own still starts (lanes)."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import LiveServer, dev_settings, needs, start_server
from conversio_server.auth import AuthConfig
from conversio_server.keys import KeyStore
from conversio_server.settings import ServerSettings
from conversio_server.tiers import Tier
from PIL import Image
from server_samples import png_bytes
from test_jobs import PLUGIN, TESTS, upload, wait_job

needs("image")


@pytest.fixture(autouse=True)
def plugin_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", TESTS + os.pathsep + os.environ.get("PYTHONPATH", ""))


def sleep_job(http: httpx.Client, seconds: float, size: tuple[int, int] = (8, 8)) -> str:
    body = {
        "inputs": [{"fileId": upload(http, png_bytes(size))}],
        "then": [{"step": "sleep", "options": {"seconds": seconds}}],
    }
    reply = http.post("/v1/jobs", json=body)
    assert reply.status_code == 202, reply.text
    return str(reply.json()["jobId"])


def started(http: httpx.Client, job_id: str) -> float:
    job = wait_job(http, job_id, timeout=120)
    assert job["status"] == "completed", job
    return datetime.fromisoformat(job["startedAt"].replace("Z", "+00:00")).timestamp()


def cheap_job(http: httpx.Client, behind: str) -> dict[str, Any]:
    """A png -> gif job submitted now, once completed (it must not wait behind slow jobs)."""
    submitted = time.monotonic()
    cheap = http.post(
        "/v1/jobs", json={"inputs": [{"fileId": upload(http, png_bytes((19, 11)))}], "outputFormat": "gif"}
    ).json()["jobId"]
    job = wait_job(http, cheap, timeout=60)
    waited = time.monotonic() - submitted
    print(f"\nthe cheap job behind {behind} completed {waited:.2f} s after submission")
    assert job["status"] == "completed", job
    content = httpx.get(job["outputs"][0]["downloadUrl"]).content
    assert Image.open(io.BytesIO(content)).size == (19, 11)
    return job


def test_a_cheap_job_after_two_slow_ones_starts_within_seconds(tmp_path: Path) -> None:
    """Default job settings: one job worker per two cores, several jobs in flight each."""
    server = start_server(dev_settings(tmp_path, extra_plugins=(PLUGIN,)))
    try:
        with server.client() as http:
            slow = [sleep_job(http, 30) for _ in range(2)]
            cheap_job(http, "two slow ones")
            # it did not wait behind the 30 s jobs: they are still running
            assert [http.get(f"/v1/jobs/{j}").json()["status"] for j in slow] == ["processing"] * 2
            for job_id in slow:
                assert http.delete(f"/v1/jobs/{job_id}").status_code in (200, 202)
            for job_id in slow:
                assert wait_job(http, job_id, timeout=60)["status"] == "cancelled"
    finally:
        server.stop()


def test_a_cheap_job_behind_many_slow_ones_of_the_same_key_starts(tmp_path: Path) -> None:
    """Default job settings (four places per worker): six slow jobs of one kind take three places at
    most, and the same key's image job submitted after them takes the fourth."""
    server = start_server(dev_settings(tmp_path, extra_plugins=(PLUGIN,), job_workers=1))
    try:
        with server.client() as http:
            slow = [sleep_job(http, 30) for _ in range(6)]
            cheap_job(http, "six slow ones of its key")
            statuses = sorted(http.get(f"/v1/jobs/{j}").json()["status"] for j in slow)
            assert statuses == ["processing"] * 3 + ["queued"] * 3, statuses
            for job_id in slow:
                assert http.delete(f"/v1/jobs/{job_id}").status_code in (200, 202)
    finally:
        server.stop()


@pytest.fixture
def two_keys(tmp_path: Path) -> Iterator[tuple[LiveServer, str, str]]:
    """One job worker running two jobs at once; two keys with no running limit."""
    base = dev_settings(tmp_path)
    tiers = {"free": Tier(name="free")}
    settings = ServerSettings.load(
        environ={},
        data_dir=tmp_path,
        workers=1,
        extra_plugins=(PLUGIN,),
        job_workers=1,
        job_concurrency=2,
        sweep_interval=3600.0,
        auth=AuthConfig(database_url=base.database_url, tiers=tiers),
    )
    with KeyStore(settings.database_url) as keys:
        _, busy = keys.create("busy", "read,convert", "free")
        _, other = keys.create("other", "read,convert", "free")
    server = start_server(settings)
    yield server, busy, other
    server.stop()


def test_a_key_with_many_jobs_does_not_starve_another(two_keys: tuple[LiveServer, str, str]) -> None:
    server, busy_key, other_key = two_keys
    with (
        server.client(headers={"Authorization": f"Bearer {busy_key}"}) as busy,
        server.client(headers={"Authorization": f"Bearer {other_key}"}) as other,
    ):
        many = [sleep_job(busy, 2) for _ in range(5)]
        deadline = time.monotonic() + 60
        while busy.get(f"/v1/jobs/{many[0]}").json()["status"] == "queued" and time.monotonic() < deadline:
            time.sleep(0.05)
        late = sleep_job(other, 0.1, (5, 3))
        late_start = started(other, late)
        starts = sorted(started(busy, job_id) for job_id in many)
        # the other key's job took the first free slot: at most the two running ones started before it
        assert sum(s < late_start for s in starts) <= 2, (late_start, starts)
        job = other.get(f"/v1/jobs/{late}").json()
        content = httpx.get(job["outputs"][0]["downloadUrl"]).content
        assert Image.open(io.BytesIO(content)).size == (5, 3)
