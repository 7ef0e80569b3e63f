"""The Python client SDK (conversio.client) against a real server on 127.0.0.1 with real job workers."""

from __future__ import annotations

import asyncio
import io
import os
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from conftest import LiveServer, needs, start_server
from conversio_server.auth import AuthConfig
from conversio_server.keys import KeyStore
from conversio_server.limiting import RateLimiter
from conversio_server.settings import ServerSettings
from conversio_server.tiers import Tier
from jobs_support.receiver import Receiver
from PIL import Image
from server_samples import pdf_bytes, png_bytes
from test_jobs import TESTS, job_settings, secret_of

from conversio.client import (
    AsyncClient,
    BadRequest,
    Client,
    FileId,
    JobFailed,
    JobSpec,
    NotFound,
    RateLimited,
    RetryPolicy,
    Unauthorized,
    WaitTimeout,
    verify_webhook,
)

needs("image", "pdf")

#: Short polls, so the tests do not wait a second between looks at a job.
QUICK = ((float("inf"), 0.05),)


def _image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = TESTS + (os.pathsep + old if old else "")
    live = start_server(job_settings(tmp_path_factory.mktemp("client"), sync_timeout=1.5))
    yield live
    live.stop()
    if old is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = old


@pytest.fixture()
def client(server: LiveServer) -> Iterator[Client]:
    with Client(server.url, poll_schedule=QUICK) as c:
        yield c


def test_convert_answers_the_file_or_the_stored_results(client: Client, tmp_path: Path) -> None:
    source = tmp_path / "photo.png"
    source.write_bytes(png_bytes((64, 48)))
    jpeg = client.convert(source, "jpg")
    assert jpeg.name == "photo.jpg" and jpeg.content_type == "image/jpeg"
    assert _image(jpeg.content).format == "JPEG"
    assert jpeg.save(tmp_path).read_bytes() == jpeg.content

    pages = client.convert(("two.pdf", pdf_bytes(2)), "png", options={"dpi": 72}, store=True)
    assert [p.format for p in pages] == ["png", "png"]
    for page in pages:
        assert _image(client.download(page).content).size == (120, 160)

    # stored results are inputs of the next conversion, with a new upload mixed in
    both = client.convert([pages[0], FileId(pages[1].id), source], "pdf", then=["merge"])
    with pikepdf.open(io.BytesIO(both.content)) as pdf:
        assert len(pdf.pages) == 3


def test_several_results_come_as_a_zip(client: Client) -> None:
    bundle = client.convert(("three.pdf", pdf_bytes(3)), "jpg")
    assert bundle.content_type == "application/zip"
    with zipfile.ZipFile(io.BytesIO(bundle.content)) as archive:
        assert len(archive.namelist()) == 3


def test_a_conversion_past_the_sync_limit_is_waited_for(client: Client) -> None:
    result = client.convert(
        ("slow.png", png_bytes((20, 10))), None, then=[{"step": "sleep", "options": {"seconds": 2.5}}]
    )
    assert _image(result.content).size == (20, 10)


def test_files_upload_get_download_delete(client: Client, tmp_path: Path) -> None:
    stored = client.upload(png_bytes((9, 9)), name="nine.png")
    assert (stored.name, stored.format, stored.size) == ("nine.png", "png", len(png_bytes((9, 9))))
    assert client.get_file(stored.id) == stored
    saved = tmp_path / "copy.png"
    client.download(stored, saved)
    assert _image(saved.read_bytes()).size == (9, 9)
    client.delete_file(stored)
    with pytest.raises(NotFound) as gone:
        client.get_file(stored.id)
    assert gone.value.code == "FILE_NOT_FOUND" and gone.value.status == 404 and gone.value.request_id


def test_a_job_is_created_waited_for_and_its_outputs_downloaded(client: Client, tmp_path: Path) -> None:
    job = client.create_job(("in.png", png_bytes((30, 20))), "webp", tag="sdk")
    assert job.status in ("queued", "processing", "completed")
    done = client.wait(job, timeout=60)
    assert done.status == "completed" and done.progress == 100.0
    (output,) = done.outputs
    assert _image(client.download(output).content).format == "WEBP"
    assert [j.id for j in client.list_jobs(tag="sdk")] == [job.id]
    events = [kind for kind, _ in client.events(job)]
    assert events[-1] == "completed"


def test_the_same_idempotency_key_gives_the_same_job(client: Client) -> None:
    stored = client.upload(png_bytes())
    first = client.create_job(stored, "gif", idempotency_key="order-7")
    again = client.create_job(stored, "gif", idempotency_key="order-7")
    assert first.id == again.id


def test_cancel_and_a_failed_job(client: Client) -> None:
    job = client.create_job(
        ("s.png", png_bytes()), None, then=[{"step": "sleep", "options": {"seconds": 30}}]
    )
    deadline = time.monotonic() + 30
    while client.get_job(job).status == "queued" and time.monotonic() < deadline:
        time.sleep(0.05)
    client.cancel(job)
    with pytest.raises(JobFailed) as cancelled:
        client.wait(job, timeout=30)
    assert cancelled.value.code == "CANCELLED" and cancelled.value.job.status == "cancelled"

    broken = client.create_job(("bad.png", png_bytes()[:40]), "jpg")
    with pytest.raises(JobFailed) as failed:
        client.wait(broken, timeout=30)
    assert failed.value.code == "CORRUPT_FILE"
    assert client.wait(broken, timeout=30, check=False).error["code"] == "CORRUPT_FILE"  # type: ignore[index]

    # a retried job is queued again under the same id, runs again, and fails again the same way
    again = client.retry_job(broken)
    assert again.id == broken.id and again.status in ("queued", "processing", "failed")
    with pytest.raises(JobFailed) as failed_again:
        client.wait(again, timeout=30)
    assert failed_again.value.code == "CORRUPT_FILE"


def test_a_wait_that_runs_out_says_so(client: Client) -> None:
    job = client.create_job(("s.png", png_bytes()), None, then=[{"step": "sleep", "options": {"seconds": 5}}])
    with pytest.raises(WaitTimeout) as timed_out:
        client.wait(job, timeout=0.3)
    assert timed_out.value.details["jobIds"] == [job.id]
    client.cancel(job)


def test_a_batch_is_waited_for_as_a_whole(client: Client) -> None:
    stored = client.upload(png_bytes((12, 8)))
    specs = [JobSpec([stored], fmt) for fmt in ("jpg", "gif", "bmp")] + [
        JobSpec([("x.png", png_bytes()[:40])], "jpg")
    ]
    batch = client.batch(specs, callback_mode="batch")
    jobs = batch.wait_all(timeout=60)
    assert [j.id for j in jobs] == list(batch.job_ids)
    assert [j.status for j in jobs] == ["completed", "completed", "completed", "failed"]
    assert [j.outputs[0].format for j in jobs[:3]] == ["jpg", "gif", "bmp"]


def test_errors_are_typed_with_code_status_and_request_id(client: Client) -> None:
    with pytest.raises(NotFound) as missing:
        client.get_job("job_" + "x" * 22)
    assert missing.value.code == "JOB_NOT_FOUND" and missing.value.status == 404
    assert missing.value.request_id and missing.value.request_id in str(missing.value)
    with pytest.raises(BadRequest) as unsupported:
        client.convert(("a.png", png_bytes()), "mp3")
    assert unsupported.value.code == "UNSUPPORTED_FORMAT"
    assert "png" not in unsupported.value.details["supportedInputFormats"]


def test_webhooks_received_verify(client: Client, server: LiveServer) -> None:
    receiver = Receiver()
    try:
        job = client.create_job(("w.png", png_bytes()), "jpg", webhook=f"{receiver.url}/hook")
        client.wait(job, timeout=30)
        got = receiver.wait_for(lambda r: r.json()["event"] == "job.completed")
        payload = verify_webhook(got[0].body, got[0].headers, secret_of(server))
        assert payload["jobId"] == job.id
    finally:
        receiver.close()


def test_the_async_client_does_the_same(server: LiveServer) -> None:
    async def flow() -> dict[str, Any]:
        async with AsyncClient(server.url, poll_schedule=QUICK) as client:
            jpeg = await client.convert(("a.png", png_bytes((16, 16))), "jpg")
            stored = await client.upload(png_bytes((8, 8)), name="eight.png")
            job = await client.create_job(stored, "gif")
            done = await client.wait(job, timeout=60)
            gif = await client.download(done.outputs[0])
            batch = await client.batch([JobSpec([stored], "bmp"), JobSpec([stored], "webp")])
            finished = await batch.wait_all(timeout=60)
            kinds = [kind async for kind, _ in client.events(job)]
            try:
                await client.get_file("nope" * 5)
            except NotFound as exc:
                missing = exc.code
            return {"jpeg": jpeg, "gif": gif, "batch": finished, "kinds": kinds, "missing": missing}

    got = asyncio.run(flow())
    assert _image(got["jpeg"].content).format == "JPEG"
    assert _image(got["gif"].content).format == "GIF"
    assert [j.status for j in got["batch"]] == ["completed", "completed"]
    assert got["kinds"][-1] == "completed" and got["missing"] == "FILE_NOT_FOUND"


# -- keys: unauthorised, and a rate-limited key backs off and succeeds ---------------------------


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    base = job_settings(tmp_path_factory.mktemp("client-keys"), job_workers=0)
    settings = ServerSettings.load(
        environ={},
        data_dir=base.data_dir,
        dev=False,
        workers=1,
        sweep_interval=3600.0,
        job_workers=0,
        webhook_dispatchers=0,
        auth=AuthConfig(
            database_url=base.database_url, tiers={"tiny": Tier(name="tiny", requests_per_minute=2)}
        ),
    )
    with KeyStore(settings.database_url) as keys:
        _, key = keys.create("tiny", "read,convert", "tiny")
    server = start_server(settings)
    # a 2-second window instead of a minute, so that the test waits seconds, not a minute
    server.app.state.server.guard.limiter = RateLimiter(window=2.0)
    yield server, key
    server.stop()


def test_a_missing_key_is_unauthorized(keyed: tuple[LiveServer, str]) -> None:
    server, _ = keyed
    with Client(server.url) as client, pytest.raises(Unauthorized) as refused:
        client.list_jobs()
    assert refused.value.code == "UNAUTHORIZED" and refused.value.status == 401


def test_a_rate_limited_key_backs_off_and_succeeds(keyed: tuple[LiveServer, str]) -> None:
    server, key = keyed
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    with Client(server.url, key, sleep=sleep, retry=RetryPolicy(attempts=5)) as client:
        started = time.monotonic()
        answers = [client.list_jobs() for _ in range(5)]
        took = time.monotonic() - started
    assert answers == [[]] * 5
    assert slept and all(s in (1.0, 2.0) for s in slept)  # the Retry-After the server gave, in seconds
    assert took >= sum(slept)
    with (
        Client(server.url, key, retry=RetryPolicy(attempts=1)) as impatient,
        pytest.raises(RateLimited) as limited,
    ):
        for _ in range(3):
            impatient.list_jobs()
    assert limited.value.retry_after is not None and limited.value.retry_after >= 1


def test_the_quickstart_example_runs(server: LiveServer, tmp_path: Path) -> None:
    needs("office", "archive")
    import subprocess
    import sys

    script = Path(__file__).parents[3] / "examples" / "client_quickstart.py"
    command = [sys.executable, str(script), server.url, str(tmp_path)]
    run = subprocess.run(command, check=False, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    with pikepdf.open(tmp_path / "report.pdf") as pdf:
        assert len(pdf.pages) == 3
    with zipfile.ZipFile(tmp_path / "pages.zip") as archive:
        assert len(archive.namelist()) == 3
        assert all(_image(archive.read(n)).format == "JPEG" for n in archive.namelist())
    assert _image((tmp_path / "sunset.webp").read_bytes()).format == "WEBP"
    assert run.stdout.count("batch job") == 3 and "completed" in run.stdout
