"""A full disk against a real server on 127.0.0.1: 507 ``INSUFFICIENT_STORAGE`` with nothing partial left,
and everything works again once there is room; leftovers of a killed server go at the next start.

The store is a small tmpfs mounted for the test (root only: CI runs as root; elsewhere the tests
skip), filled up to :data:`ROOM` bytes by a filler file that is removed to free the space.
"""

from __future__ import annotations

import base64
import io
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from conftest import LiveServer, dev_settings, needs, start_server
from PIL import Image
from server_samples import png_bytes

needs("image")

#: The size of the store's filesystem, and the room left in it while it is "full".
DISK_SIZE = "32m"
ROOM = 2 * 1024 * 1024
#: A 1500 × 1000 picture: a PNG of a few KB whose BMP (4.5 MB) does not fit in :data:`ROOM`.
PICTURE = (1500, 1000)
DEADLINE = 60.0


def mount_tmpfs(path: Path) -> None:
    """Mount a tmpfs of :data:`DISK_SIZE` at ``path``, or skip the test saying why it cannot."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs as a full disk needs root (CI runs as root)")
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_SIZE},mode=0700", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {mounted.stderr.strip()}")


@pytest.fixture(scope="module")
def disk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The data folder of the server, whose store (``server-store``) is a tmpfs of its own."""
    data = tmp_path_factory.mktemp("full-disk")
    store = data / "server-store"
    mount_tmpfs(store)
    try:
        yield data
    finally:
        subprocess.run(["umount", "--lazy", str(store)], check=False)


@pytest.fixture(scope="module")
def server(disk: Path) -> Iterator[LiveServer]:
    live = start_server(dev_settings(disk, max_upload_bytes=16 * 1024 * 1024, job_workers=1))
    yield live
    live.stop()


@pytest.fixture
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


@contextmanager
def full(store: Path) -> Iterator[None]:
    """Leave only :data:`ROOM` bytes free on the store's filesystem for the block."""
    filler = store / "filler"
    info = os.statvfs(store)
    size = info.f_bavail * info.f_frsize - ROOM
    assert size > 0, "the tmpfs is already full"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        chunk = bytes(1024 * 1024)
        while size > 0:
            size -= os.write(fd, chunk[: min(size, len(chunk))])
    finally:
        os.close(fd)
    try:
        yield
    finally:
        filler.unlink()


def store_of(disk: Path) -> Path:
    return disk / "server-store"


def artifacts(disk: Path) -> dict[str, dict[str, object]]:
    """Every stored file's metadata by id; each has its whole blob (the store is consistent)."""
    found = {}
    for meta in (store_of(disk) / "meta").glob("*.json"):
        data = json.loads(meta.read_text())
        sha = str(data["sha256"])
        blob = store_of(disk) / "blobs" / sha[:2] / sha
        assert blob.stat().st_size == data["size"], f"{meta.name} has no whole blob"
        found[str(data["id"])] = data
    return found


def scratch_files(disk: Path) -> list[Path]:
    """Every file in the store's temporary folder (uploads, scratch folders): none between requests."""
    return sorted(p for p in (store_of(disk) / "tmp").rglob("*") if p.is_file())


def assert_insufficient_storage(reply: httpx.Response, disk: Path) -> str:
    """The native error body of a 507, in the user's terms; its message."""
    assert reply.status_code == 507, reply.text
    error = reply.json()["error"]
    assert error["code"] == "INSUFFICIENT_STORAGE" and "no room left" in error["message"]
    assert str(disk) not in reply.text and "Errno" not in reply.text and "Traceback" not in reply.text
    return str(error["message"])


def assert_convertapi_507(reply: httpx.Response, disk: Path) -> None:
    assert reply.status_code == 507, reply.text
    body = reply.json()
    assert body["Code"] == 5070 and "no room left" in body["Message"], body
    assert str(disk) not in reply.text and "Errno" not in reply.text


def stored_id(reply: httpx.Response) -> str:
    assert reply.status_code in (200, 201), reply.text
    return str(reply.json()["files"][0]["id"])


def bmp_size(content: bytes) -> tuple[int, int]:
    image = Image.open(io.BytesIO(content))
    assert image.format == "BMP"
    return image.size


def test_an_upload_larger_than_the_free_space_is_507_and_leaves_nothing(
    http: httpx.Client, disk: Path
) -> None:
    content = os.urandom(ROOM * 2)
    before = artifacts(disk)
    with full(store_of(disk)):
        native = http.post("/v1/files", files={"file": ("big.bin", content)})
        message = assert_insufficient_storage(native, disk)
        assert "store big.bin;" in message
        raw = http.post("/v1/files", content=content, headers={"Content-Type": "application/octet-stream"})
        assert_insufficient_storage(raw, disk)
        convertapi = http.post(
            "/upload", content=content, headers={"Content-Disposition": 'attachment; filename="big.bin"'}
        )
        assert_convertapi_507(convertapi, disk)
        assert artifacts(disk) == before and scratch_files(disk) == []
    # with room again, the same upload is stored whole
    file_id = stored_id(http.post("/v1/files", files={"file": ("big.bin", content)}))
    assert http.get(f"/v1/files/{file_id}/content").content == content
    assert scratch_files(disk) == []


def test_base64_content_larger_than_the_free_space_is_507(http: httpx.Client, disk: Path) -> None:
    data = base64.b64encode(os.urandom(ROOM + ROOM // 4)).decode()
    before = artifacts(disk)
    with full(store_of(disk)):
        native = http.post(
            "/v1/convert", json={"inputs": [{"base64": data, "name": "big.png"}], "outputFormat": "jpg"}
        )
        assert_insufficient_storage(native, disk)
        parameters = [{"Name": "File", "FileValue": {"Name": "big.png", "Data": data}}]
        convertapi = http.post("/convert/png/to/jpg", json={"Parameters": parameters})
        assert_convertapi_507(convertapi, disk)
        assert artifacts(disk) == before and scratch_files(disk) == []


def test_a_sync_conversion_whose_result_does_not_fit_is_507(http: httpx.Client, disk: Path) -> None:
    picture = png_bytes(PICTURE)
    assert len(picture) < ROOM // 10
    with full(store_of(disk)):
        before = artifacts(disk)
        native = http.post(
            "/v1/convert", files={"file": ("wide.png", picture, "image/png")}, data={"outputFormat": "bmp"}
        )
        assert "converting wide.png;" in assert_insufficient_storage(native, disk)
        convertapi = http.post("/convert/png/to/bmp", files={"File": ("wide.png", picture, "image/png")})
        assert_convertapi_507(convertapi, disk)
        # only the inputs were kept (stored whole, as any input is); no result, nothing half-written
        kept = {k: v for k, v in artifacts(disk).items() if k not in before}
        assert {v["format"] for v in kept.values()} <= {"png"}
        assert scratch_files(disk) == []
    converted = http.post(
        "/v1/convert", files={"file": ("wide.png", picture, "image/png")}, data={"outputFormat": "bmp"}
    )
    assert converted.status_code == 200, converted.text
    assert bmp_size(converted.content) == PICTURE
    again = http.post("/convert/png/to/bmp", files={"File": ("wide.png", picture, "image/png")})
    assert again.status_code == 200, again.text
    (result,) = again.json()["Files"]
    assert result["FileName"] == "wide.bmp" and int(result["FileSize"]) > ROOM


def wait_job(http: httpx.Client, job_id: str) -> dict[str, object]:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        job = http.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("completed", "failed", "cancelled"):
            return dict(job)
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not end within {DEADLINE} s")


def test_a_job_whose_result_does_not_fit_fails_with_insufficient_storage(
    http: httpx.Client, disk: Path
) -> None:
    file_id = stored_id(http.post("/v1/files", files={"file": ("tall.png", png_bytes(PICTURE[::-1]))}))
    spec = {"inputs": [{"fileId": file_id}], "outputFormat": "bmp"}
    with full(store_of(disk)):
        submitted = http.post("/v1/jobs", json=spec)
        assert submitted.status_code == 202, submitted.text
        job = wait_job(http, submitted.json()["jobId"])
        assert job["status"] == "failed", job
        error = job["error"]
        assert isinstance(error, dict) and error["code"] == "INSUFFICIENT_STORAGE", error
        assert "converting tall.png;" in error["message"] and str(disk) not in error["message"]
        assert scratch_files(disk) == []
    # once there is room, the same job retried completes
    job_id = submitted.json()["jobId"]
    assert http.post(f"/v1/jobs/{job_id}/retry").status_code == 202
    retried = wait_job(http, job_id)
    assert retried["status"] == "completed", retried
    outputs = retried["outputs"]
    assert isinstance(outputs, list)
    assert bmp_size(http.get(outputs[0]["contentUrl"]).content) == PICTURE[::-1]


# -- leftovers of a killed server ------------------------------------------------------------------

_SERVE = textwrap.dedent(
    """
    import socket, sys
    import uvicorn
    from conversio_server.app import create_app
    from conversio_server.settings import ServerSettings

    settings = ServerSettings.load(environ={}, dev=True, data_dir=sys.argv[1], workers=1, job_workers=0)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)  # a connection made before uvicorn serves waits in the backlog
    print(sock.getsockname()[1], flush=True)
    uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning")).run(sockets=[sock])
    """
)


def _half_sent_upload(port: int) -> socket.socket:
    """A multipart upload of 1 MB of which half is sent: the server is writing it to its scratch folder."""
    boundary = "conversio-test-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="half.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    length = len(head) + 1_000_000 + len(f"\r\n--{boundary}--\r\n")
    connection = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE)
    connection.sendall(
        (
            f"POST /v1/files HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {length}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n\r\n"
        ).encode()
        + head
        + bytes(500_000)
    )
    return connection


def _wait_for(condition: object, what: str) -> None:
    assert callable(condition)
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {DEADLINE} s"
        time.sleep(0.05)


def test_a_killed_servers_half_upload_and_scratch_folder_go_at_the_next_start(tmp_path: Path) -> None:
    tmp = tmp_path / "server-store" / "tmp"
    killed = subprocess.Popen(
        [sys.executable, "-c", _SERVE, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert killed.stdout is not None
        port = int(killed.stdout.readline())
        _wait_for(lambda: tmp.is_dir() and any(tmp.iterdir()), "the server made its scratch folder")
        connection = _half_sent_upload(port)
        _wait_for(
            lambda: any(p.name.startswith("part-") for p in tmp.rglob("*")), "the upload was being written"
        )
        killed.kill()  # SIGKILL mid-write: no clean-up runs
        killed.wait(timeout=DEADLINE)
        connection.close()
    finally:
        if killed.poll() is None:
            killed.kill()
            killed.wait(timeout=DEADLINE)
    (dead_folder,) = list(tmp.iterdir())
    assert any(dead_folder.rglob("part-*"))

    started = time.monotonic()
    restarted = start_server(dev_settings(tmp_path, job_workers=0))
    try:
        _wait_for(lambda: not dead_folder.exists(), "the start-up sweep removed the dead server's folder")
        print(f"\nrestart to the killed server's scratch folder removed: {time.monotonic() - started:.2f} s")
        (own_folder,) = list(tmp.iterdir())  # the live server's own folder is kept
        assert own_folder == restarted.app.state.server.scratch_folder
        with restarted.client() as http:
            reply = http.post("/v1/files", files={"file": ("whole.bin", b"x" * 1000)})
            assert reply.status_code in (200, 201), reply.text
    finally:
        restarted.stop()


def test_a_killed_job_workers_scratch_folder_goes_at_the_next_sweep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_jobs import PLUGIN, TESTS, upload
    from test_self_healing import parent_of, sleep_job

    monkeypatch.setenv("PYTHONPATH", TESTS + os.pathsep + os.environ.get("PYTHONPATH", ""))
    server = start_server(dev_settings(tmp_path, extra_plugins=(PLUGIN,), job_workers=1, sweep_interval=0.5))
    tmp = tmp_path / "server-store" / "tmp"
    try:
        with server.client() as http:
            pidfile = tmp_path / "engine.pid"
            job_id = sleep_job(http, upload(http, png_bytes((13, 9))), 30, pidfile)
            _wait_for(lambda: pidfile.exists() and pidfile.read_text(), "the job's step is running")
            victim = parent_of(int(pidfile.read_text()))  # the job worker, which made the step's folder

            def victims_folders() -> list[Path]:
                return [p for p in tmp.iterdir() if f"-{victim}-" in p.name]

            assert victims_folders(), "the step's scratch folder carries its owner's pid"
            os.kill(victim, signal.SIGKILL)
            killed_at = time.monotonic()
            _wait_for(lambda: not victims_folders(), "the sweeper removed the killed worker's folder")
            print(f"\nkill -9 of a job worker to its folder removed: {time.monotonic() - killed_at:.2f} s")
            assert http.delete(f"/v1/jobs/{job_id}").status_code == 200  # the retried job: not waited for
    finally:
        server.stop()
