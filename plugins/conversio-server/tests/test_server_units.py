"""The parts that need no server: settings, the runner's bound, the plugin's registration."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conversio_server.errors import ApiError
from conversio_server.metrics import Metrics
from conversio_server.runner import ConversionRunner
from conversio_server.settings import ServerSettings
from conversio_server.uploads import Scratch

from conversio.errors import InvalidOption


def test_settings_from_environment_and_overrides(tmp_path: Path) -> None:
    env = {
        "CONVERSIO_SERVER_PORT": "9123",
        "CONVERSIO_SERVER_RETENTION": "600",
        "CONVERSIO_SERVER_URL_ALLOW": "10.0.0.0/8, files.internal",
        "CONVERSIO_SERVER_DATA_DIR": str(tmp_path),
        "CONVERSIO_SERVER_WORKERS": "3",
    }
    settings = ServerSettings.load(env, port=9200)
    assert settings.port == 9200 and settings.workers == 3 and settings.concurrency == 3
    assert settings.url_allow == ("10.0.0.0/8", "files.internal")
    assert settings.store_url == f"{(tmp_path / 'server-store').resolve().as_uri()}?durable=1&ttl=600"
    assert settings.database_url.endswith("server.sqlite3")
    assert settings.outbound.allow.permits("files.internal", __import__("ipaddress").ip_address("10.1.2.3"))


def test_dev_mode_binds_loopback_only(tmp_path: Path) -> None:
    assert (
        ServerSettings.load({"CONVERSIO_SERVER_HOST": "0.0.0.0"}, dev=True, data_dir=tmp_path).host
        == "127.0.0.1"
    )
    with pytest.raises(InvalidOption):
        ServerSettings.load({}, dev=True, host="0.0.0.0", data_dir=tmp_path)


def test_invalid_settings_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidOption):
        ServerSettings.load({"CONVERSIO_SERVER_PORT": "eighty"}, data_dir=tmp_path)
    with pytest.raises(InvalidOption):
        ServerSettings.load({}, sync_timeout=0, data_dir=tmp_path)
    with pytest.raises(InvalidOption):
        ServerSettings.load({}, url_allow=("http://x/",), data_dir=tmp_path)


def test_a_request_removes_what_it_left_at_its_scratch_paths_and_nothing_else(tmp_path: Path) -> None:
    other = tmp_path / "another-request.part"
    other.write_bytes(b"not mine")
    with Scratch(tmp_path) as scratch:
        upload, fetched, stored = scratch.path("part-"), scratch.path("fetch-"), scratch.path("part-")
        assert len({upload, fetched, stored}) == 3 and all(p.parent == tmp_path for p in (upload, fetched))
        upload.write_bytes(b"upload")
        (fetched / "inner").mkdir(parents=True)
        (fetched / "inner" / "file").write_bytes(b"fetched")
        stored.write_bytes(b"moved into the store")
        stored.rename(tmp_path.parent / f"{tmp_path.name}-stored")  # as put_file(move=True) does
    assert sorted(tmp_path.iterdir()) == [other]


def test_runner_answers_503_when_running_and_queued_work_is_full() -> None:
    metrics = Metrics()
    runner = ConversionRunner(running=1, max_queued=1, metrics=metrics)
    release = threading.Event()
    try:
        first = runner.submit(release.wait)
        second = runner.submit(release.wait)
        deadline = time.monotonic() + 5
        while metrics.in_flight._value.get() != 1 and time.monotonic() < deadline:  # type: ignore[attr-defined]
            time.sleep(0.01)
        assert metrics.queued._value.get() == 1  # type: ignore[attr-defined]
        with pytest.raises(ApiError) as refused:
            runner.submit(release.wait)
        assert refused.value.status == 503 and refused.value.code == "SERVICE_UNAVAILABLE"
        assert int(refused.value.headers["Retry-After"]) > 0
        release.set()
        assert first.result(5) and second.result(5)
        assert runner.submit(lambda: 42).result(5) == 42
    finally:
        release.set()
        runner.close()


def test_plugin_registration_imports_no_web_framework() -> None:
    code = (
        "import sys, click\n"
        "import conversio_server.plugin as p\n"
        "group = click.Group()\n"
        "p.register_commands(group)\n"
        "assert 'serve' in group.commands, group.commands\n"
        "heavy = ('fastapi', 'uvicorn', 'starlette', 'pydantic', 'prometheus_client')\n"
        "heavy = [m for m in heavy if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_serve_command_help_lists_its_flags() -> None:
    from conversio.cli import cli

    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0, result.output
    for flag in ("--host", "--port", "--dev", "--workers", "--store", "--sync-timeout"):
        assert flag in result.output


def test_serve_refuses_dev_mode_on_a_public_address() -> None:
    from conversio.cli import cli

    result = CliRunner().invoke(cli, ["serve", "--dev", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "127.0.0.1" in result.output


def test_job_progress_counts_planned_steps_and_items() -> None:
    from conversio_server.leases import JobProgress

    from conversio.events import Event, EventKind

    job = JobProgress()
    job.planned = 2
    job.observe(Event(EventKind.STEP_STARTED, 0, "a", items=2, message="pdf → jpg"))
    job.observe(Event(EventKind.PROGRESS, 0, "a", item=0, items=2, fraction=1.0))
    assert job.fraction == pytest.approx(0.25) and job.step == "pdf → jpg"
    job.observe(Event(EventKind.PROGRESS, 0, "a", item=1, items=2, fraction=0.5, eta=2.0))
    assert job.fraction == pytest.approx(0.375) and job.eta == 2.0
    job.observe(Event(EventKind.STEP_FINISHED, 0, "a", items=5, fraction=1.0))
    assert job.fraction == pytest.approx(0.5)
    job.observe(Event(EventKind.STEP_STARTED, 1, "b", message="jpg → zip"))
    job.observe(Event(EventKind.PROGRESS, 1, "b", fraction=1.0))
    assert job.fraction == pytest.approx(0.99)  # never 1 before the job is done
    assert [(s["index"], s["status"]) for s in job.snapshot()] == [(0, "completed"), (1, "running")]


def test_an_upload_arrives_linked_into_the_store(tmp_path: Path) -> None:
    """An upload is sniffed, then stored in the background by a link (no copy): it stays readable
    where it arrived, for a conversion that may start on it (by the Python API's rule)."""
    from conversio_server.service import Server
    from conversio_server.worker import make_conversio

    settings = ServerSettings.load(environ={}, dev=True, data_dir=tmp_path / "data")
    conversio = make_conversio(settings, workers=1)
    server = Server(settings, conversio)
    try:
        upload = server.scratch_folder / "part-upload"
        upload.write_text("a,b\n1,2\n")
        arrived = server.intake.arriving(upload, "table.csv")
        assert (arrived.path, arrived.name, arrived.format) == (upload, "table.csv", "csv")
        stored = arrived.settled()
        assert upload.read_text() == "a,b\n1,2\n"  # still readable where it arrived
        assert upload.stat().st_nlink == 2  # and the store's copy is the same file
        with server.store.open(stored.id) as content:
            assert stored.format == "csv" and content.read() == b"a,b\n1,2\n"
    finally:
        server.close()
        conversio.close()
