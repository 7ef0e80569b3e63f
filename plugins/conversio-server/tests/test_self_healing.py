"""A server that heals its workers, for real: a job worker SIGKILLed mid-job (default job settings) is
replaced at once, its job completes and the next job runs, with no restart; ``/readyz`` answers 503
while a worker is missing and 200 again after. A conversion worker killed while idle is replaced too.
"""

from __future__ import annotations

import io
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import LiveServer, dev_settings, needs, start_server
from server_samples import png_bytes
from test_jobs import PLUGIN, TESTS, upload, wait_job

needs("image")


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveServer]:
    """Default job settings (lease, heartbeat, poll, job worker count); the slow test plugin loaded."""
    monkeypatch.setenv("PYTHONPATH", TESTS + os.pathsep + os.environ.get("PYTHONPATH", ""))
    live = start_server(dev_settings(tmp_path, extra_plugins=(PLUGIN,)))
    yield live
    live.stop()


def parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def wait_for(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.02)
    raise AssertionError(f"not {what} within {timeout} s")


def readiness(http: httpx.Client) -> tuple[int, dict[str, object]]:
    reply = http.get("/readyz")
    return reply.status_code, reply.json()


def sleep_job(http: httpx.Client, file_id: str, seconds: float, pidfile: Path | None = None) -> str:
    options: dict[str, object] = {"seconds": seconds}
    if pidfile is not None:
        options["pidfile"] = str(pidfile)
    reply = http.post(
        "/v1/jobs", json={"inputs": [{"fileId": file_id}], "then": [{"step": "sleep", "options": options}]}
    )
    assert reply.status_code == 202, reply.text
    return str(reply.json()["jobId"])


def image_size(content: bytes) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(content)) as image:
        image.load()
        return image.size


def test_a_killed_job_worker_is_replaced_and_its_job_completes(server: LiveServer, tmp_path: Path) -> None:
    supervisor = server.app.state.background.pool
    configured = server.settings.job_worker_count
    with server.client() as http:
        wait_for(lambda: readiness(http)[0] == 200, 60, "ready at start")
        assert readiness(http)[1]["checks"]["jobWorkers"] == {  # type: ignore[index]
            "ok": True,
            "alive": configured,
            "configured": configured,
        }
        workers_before = set(supervisor.pids())
        file_id = upload(http, png_bytes((37, 23)))
        pidfile = tmp_path / "engine.pid"
        job_id = sleep_job(http, file_id, 3, pidfile)
        wait_for(lambda: pidfile.exists() and pidfile.read_text(), 60, "running")
        engine = int(pidfile.read_text())
        victim = parent_of(engine)  # the engine worker's parent: the job worker
        assert victim in workers_before

        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        seen: list[tuple[int, dict[str, object]]] = []
        wait_for(lambda: seen.append(readiness(http)) or seen[-1][0] == 503, 10, "unready while replacing")
        body = seen[-1][1]
        check = body["checks"]["jobWorkers"]  # type: ignore[index]
        assert body["status"] == "unavailable" and check["ok"] is False, body
        assert check["alive"] == configured - 1 and "being replaced" in check["reason"], check

        job = wait_job(http, job_id, timeout=60)
        elapsed = time.monotonic() - killed_at
        print(f"\nkill -9 of the job worker to the job's completion: {elapsed:.2f} s")
        assert job["status"] == "completed" and job["attempts"] == 2, job
        # resumed long before the 30 s lease of the dead worker would have expired
        assert elapsed < server.settings.job_lease, elapsed
        content = httpx.get(job["outputs"][0]["downloadUrl"]).content
        assert image_size(content) == (37, 23)

        wait_for(lambda: readiness(http)[0] == 200, 30, "ready again")
        assert supervisor.alive() == configured and supervisor.replaced == 1
        wait_for(lambda: not running(engine), 10, "the dead worker's engine ended too")
        assert f"conversio_job_workers_alive {float(configured)}" in http.get("/metrics").text
        assert victim not in supervisor.pids() and len(supervisor.pids()) == configured

        following = sleep_job(http, upload(http, png_bytes((11, 7))), 0.2)
        job = wait_job(http, following, timeout=60)
        assert job["status"] == "completed" and job["attempts"] == 1, job
        assert image_size(httpx.get(job["outputs"][0]["downloadUrl"]).content) == (11, 7)
        assert server.thread.is_alive()  # the same server all along


def engine_workers() -> set[int]:
    """The server's conversion workers: the test process's children running ``conversio.engine.worker``
    (the server runs in a thread of this process; the job workers' own engines are grandchildren)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and fields[0] != "Z" and b"conversio.engine.worker" in command:
            found.add(int(entry.name))
    return found


def convert_to_gif(http: httpx.Client, size: tuple[int, int]) -> tuple[int, int]:
    reply = http.post(
        "/v1/convert", files={"file": ("in.png", png_bytes(size))}, data={"outputFormat": "gif"}
    )
    assert reply.status_code == 200, reply.text
    return image_size(reply.content)


def test_a_killed_idle_conversion_worker_is_replaced(server: LiveServer) -> None:
    with server.client() as http:
        wait_for(lambda: readiness(http)[0] == 200, 60, "ready at start")
        assert convert_to_gif(http, (21, 13)) == (21, 13)
        before = engine_workers()
        assert before, "the conversion left no idle worker"
        running = readiness(http)[1]["checks"]["conversionWorkers"]["running"]  # type: ignore[index]
        victim = min(before)

        os.kill(victim, signal.SIGKILL)
        # replaced by the pool itself, before any request needs it
        wait_for(lambda: len(engine_workers() - {victim}) == len(before), 20, "replaced")
        status, body = readiness(http)
        assert status == 200, body
        check = body["checks"]["conversionWorkers"]  # type: ignore[index]
        assert check["ok"] is True and check["running"] == running, check

        for n in range(3):  # every request works, whichever worker it gets
            assert convert_to_gif(http, (30 + n, 10)) == (30 + n, 10)
        assert server.thread.is_alive()


def test_a_job_that_kills_its_worker_each_time_fails_and_the_queue_goes_on(
    server: LiveServer, tmp_path: Path
) -> None:
    from conversio_server.supervisor import CRASH_LIMIT

    supervisor = server.app.state.background.pool
    with server.client() as http:
        wait_for(lambda: readiness(http)[0] == 200, 60, "ready at start")
        pidfile = tmp_path / "engine.pid"
        job_id = sleep_job(http, upload(http, png_bytes((9, 9))), 5, pidfile)
        killed: list[int] = []
        for _ in range(CRASH_LIMIT):  # the job's worker dies on every attempt
            wait_for(
                lambda: pidfile.exists() and pidfile.read_text() and int(pidfile.read_text()) not in killed,
                60,
                "running again",
            )
            engine = int(pidfile.read_text())
            killed.append(engine)
            os.kill(parent_of(engine), signal.SIGKILL)
        job = wait_job(http, job_id, timeout=60)
        assert job["status"] == "failed" and job["attempts"] == CRASH_LIMIT, job
        assert job["error"]["code"] == "CONVERSION_FAILED", job
        assert job["error"]["details"] == {"attempts": CRASH_LIMIT, "crashed": True}, job
        assert "stopped unexpectedly" in job["error"]["message"]

        following = sleep_job(http, upload(http, png_bytes((12, 5))), 0.2)
        job = wait_job(http, following, timeout=90)  # the last replacement starts after a back-off
        assert job["status"] == "completed", job
        assert image_size(httpx.get(job["outputs"][0]["downloadUrl"]).content) == (12, 5)
        wait_for(lambda: readiness(http)[0] == 200, 60, "ready again")
        assert supervisor.replaced == CRASH_LIMIT


def spawned_children(pid: int) -> set[int]:
    """The multiprocessing children (the job workers) of process ``pid``."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z" and b"spawn_main" in command:
            found.add(int(entry.name))
    return found


def running(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


def test_job_workers_end_with_a_killed_server_and_hand_their_job_back(tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys

    from conversio_server.jobstore import JobStore

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "PYTHONPATH": TESTS + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "CONVERSIO_SERVER_EXTRA_PLUGINS": PLUGIN,
    }
    command = [str(Path(sys.executable).with_name("conversio")), "serve", "--dev", "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--data-dir", str(tmp_path), "--workers", "1"],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:

            def ready() -> bool:
                try:
                    return readiness(http)[0] == 200
                except httpx.TransportError:
                    return False

            wait_for(ready, 90, "serving")
            pidfile = tmp_path / "engine.pid"
            job_id = sleep_job(http, upload(http, png_bytes((17, 29))), 3, pidfile)
            wait_for(lambda: pidfile.exists() and pidfile.read_text(), 60, "running")
        workers = spawned_children(server.pid)
        assert parent_of(int(pidfile.read_text())) in workers

        os.kill(server.pid, signal.SIGKILL)  # the server only, not its process group
        server.wait(10)
        wait_for(lambda: not any(running(p) for p in workers), 20, "job workers ended with the server")
        store = JobStore(dev_settings(tmp_path).database_url)
        try:
            assert store.get(job_id)["status"] == "queued"  # handed back, no lease left to expire
        finally:
            store.close()
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)

    restarted = start_server(dev_settings(tmp_path, extra_plugins=(PLUGIN,)))
    try:
        with restarted.client() as http:
            job = wait_job(http, job_id, timeout=60)
            assert job["status"] == "completed" and job["attempts"] == 2, job
            assert image_size(httpx.get(job["outputs"][0]["downloadUrl"]).content) == (17, 29)
    finally:
        restarted.stop()
