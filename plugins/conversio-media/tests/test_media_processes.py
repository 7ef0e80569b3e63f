"""Progress, timeouts and cancellation: ffmpeg never outlives its conversion, nothing half-made is stored."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from conversio_media import runner
from media_helpers import duration, ffmpeg_processes

import conversio
from conversio.errors import ConversioError
from conversio.events import Event, EventKind
from conversio.limits import Limits
from conversio.testing import make_conversio

LONG_JOB = {"preset": "veryslow", "crf": 10}  # VP9 at cpu-used 0: minutes for the 30 s clip


@pytest.fixture
def pooled(tmp_path: Path) -> Iterator[conversio.Conversio]:
    """conversio-media in one worker process, a filesystem store, a 2 s step timeout."""
    with make_conversio(
        "conversio_media.plugin",
        executor="process",
        workers=1,
        store=(tmp_path / "store").as_uri(),
        limits=Limits(timeout=2.0),
    ) as app:
        yield app


def _gone(pids: set[int], within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        alive = [
            p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE
        ]
        if not alive:
            return True
        time.sleep(0.05)
    return False


def _stopped_run(
    app: conversio.Conversio, source: Path, *, cancel: bool
) -> tuple[ConversioError, set[int], float]:
    """Run the long job; note the ffmpeg processes seen while it ran; cancel it once it progresses."""
    seen: set[int] = set()
    stop = threading.Event()

    def watch(event: Event) -> None:
        if event.kind is EventKind.PROGRESS:
            seen.update(p.pid for p in ffmpeg_processes())
            if cancel and event.fraction > 0:
                stop.set()

    started = time.monotonic()
    with pytest.raises(ConversioError) as info:
        app.convert(source, to="webm", options=LONG_JOB).run(on_event=watch, cancel=stop)
    return info.value, seen, time.monotonic() - started


def _leftovers(app: conversio.Conversio, root: Path) -> list[str]:
    stored = [a.name for a in app.store.list()]
    parts = [p.name for p in root.rglob("*") if p.name.endswith(".part") or p.suffix == ".webm"]
    return stored + parts


def test_timeout_kills_ffmpeg_and_stores_nothing(
    pooled: conversio.Conversio, long_clip: Path, tmp_path: Path
) -> None:
    error, seen, took = _stopped_run(pooled, long_clip, cancel=False)
    assert error.code == "TIMEOUT"
    assert took < 2.0 + 4.0  # the timeout, plus starting the worker and probing
    assert seen, "ffmpeg was never seen running"
    assert _gone(seen)
    assert _leftovers(pooled, tmp_path / "store") == ["long.avi"]  # the input only


def test_cancel_kills_ffmpeg_and_stores_nothing(tmp_path: Path, long_clip: Path) -> None:
    with make_conversio(
        "conversio_media.plugin", executor="process", workers=1, store=(tmp_path / "store").as_uri()
    ) as app:
        error, seen, _ = _stopped_run(app, long_clip, cancel=True)
        assert error.code == "CANCELLED"
        assert seen and _gone(seen)
        assert _leftovers(app, tmp_path / "store") == ["long.avi"]


def test_progress_events_from_a_worker(tmp_path: Path, long_clip: Path) -> None:
    events: list[Event] = []
    with make_conversio(
        "conversio_media.plugin", executor="process", workers=1, store=(tmp_path / "store").as_uri()
    ) as app:
        [out] = (
            app.convert(long_clip, to="mp4", options={"preset": "fast"})
            .run(on_event=events.append)
            .save(tmp_path / "out.mp4")
        )
    assert duration(out) == pytest.approx(30.0, rel=0.02)
    fractions = [e.fraction for e in events if e.kind is EventKind.PROGRESS]
    assert fractions == sorted(fractions)
    assert len({round(f, 2) for f in fractions if 0 < f < 1}) >= 3
    assert fractions[-1] == 1.0
    assert any(e.eta is not None and e.eta > 0 for e in events if e.kind is EventKind.PROGRESS)


ENDLESS = ["ffmpeg", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-f", "null", "-"]


def test_an_exception_in_python_stops_ffmpeg() -> None:
    pids: list[int] = []

    def fail(fraction: float, message: str) -> None:
        pids.extend(p.pid for p in ffmpeg_processes())
        raise RuntimeError("the caller went away")

    with pytest.raises(RuntimeError):
        runner.run_ffmpeg(runner.command(ENDLESS), expected=60.0, progress=fail, timeout=30, what="endless")
    assert pids and _gone(set(pids), within=0.5)  # already reaped when run_ffmpeg returned


def test_own_deadline_stops_ffmpeg() -> None:
    started = time.monotonic()
    with pytest.raises(ConversioError) as info:
        runner.run_ffmpeg(
            runner.command(ENDLESS), expected=None, progress=lambda f, m: None, timeout=1.0, what="x"
        )
    assert info.value.code == "TIMEOUT"
    assert time.monotonic() - started < 1.0 + runner.TERMINATE_GRACE
    assert not ffmpeg_processes()


def test_a_process_ignoring_sigterm_is_killed() -> None:
    code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ready', flush=True); time.sleep(60)"
    )
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert process.stdout is not None and process.stdout.readline() == b"ready\n"
    started = time.monotonic()
    runner.stop(process)
    assert process.returncode == -9
    assert runner.TERMINATE_GRACE <= time.monotonic() - started < runner.TERMINATE_GRACE + 1.0
    process.stdout.close()
