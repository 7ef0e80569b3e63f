"""The process pool heals itself: an idle worker that dies is replaced at once, before any task needs
it, and the next task runs on a live worker."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_engine import app_with, fake, own

from conversio.engine.executors import InlineExecutor, PoolHealth, ProcessPoolExecutor
from conversio.options import Option, OptionsSchema

OPTIONS = OptionsSchema.of(Option("seconds", "float", default=0.0), Option("pidfile", "str", default=""))


def engine_workers() -> set[int]:
    """The ids of this process's engine worker children."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == os.getpid() and fields[0] != "Z" and b"conversio.engine.worker" in command:
            found.add(int(entry.name))
    return found


def eventually(condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_an_idle_worker_killed_is_replaced_at_once(tmp_path: Path) -> None:
    pool = ProcessPoolExecutor(1)
    try:
        app = app_with(pool, own("fa", "fb", "sleep_recording_pid", options=OPTIONS))
        pidfile = tmp_path / "pid"
        result = app.convert(fake(tmp_path, "x.fa"), to="fb", options={"pidfile": str(pidfile)}).run()
        assert result.read_bytes().decode() == "FAKE:fb\nhello\n"
        first = int(pidfile.read_text())
        assert pool.health() == PoolHealth(size=1, running=1)

        os.kill(first, signal.SIGKILL)
        # no task is asked for: the watcher alone starts the replacement
        assert eventually(lambda: bool(engine_workers() - {first})), engine_workers()
        assert eventually(lambda: pool.health() == PoolHealth(size=1, running=1))

        again = app.convert(fake(tmp_path, "y.fa", "again"), to="fb", options={"pidfile": str(pidfile)}).run()
        assert again.read_bytes().decode() == "FAKE:fb\nagain\n"
        assert int(pidfile.read_text()) != first
        assert pool.health().ok
    finally:
        pool.close()
    assert pool.health().closed and not pool.health().ok


def test_tasks_right_after_every_idle_worker_died_run_on_live_workers(tmp_path: Path) -> None:
    """Whether the watcher or the task finds the dead workers first, no task is given one."""
    pool = ProcessPoolExecutor(2)
    try:
        app = app_with(pool, own("fa", "fb", "sleep_recording_pid", options=OPTIONS))
        pidfiles = [tmp_path / "a", tmp_path / "b"]
        runs = [
            app.convert(
                fake(tmp_path, f"{n}.fa", str(n)), to="fb", options={"seconds": 0.5, "pidfile": str(p)}
            )
            for n, p in enumerate(pidfiles)
        ]
        threads = [threading.Thread(target=run.run) for run in runs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        pids = {int(p.read_text()) for p in pidfiles}
        assert len(pids) == 2
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        for n in range(4):
            result = app.convert(
                fake(tmp_path, f"z{n}.fa", f"z{n}"), to="fb", options={"pidfile": str(tmp_path / "z")}
            ).run()
            assert result.read_bytes().decode() == f"FAKE:fb\nz{n}\n"
            assert int((tmp_path / "z").read_text()) not in pids
    finally:
        pool.close()


def test_the_inline_executor_is_always_healthy() -> None:
    assert InlineExecutor().health() == PoolHealth(size=1, running=1)


def test_a_pool_that_cannot_start_workers_says_so_and_recovers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool = ProcessPoolExecutor(1)
    try:
        app = app_with(pool, own("fa", "fb", "sleep_recording_pid", options=OPTIONS))
        monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python"))
        with pytest.raises(OSError):
            app.convert(fake(tmp_path, "x.fa"), to="fb").run()
        health = pool.health()
        assert not health.ok and health.running == 0 and "FileNotFoundError" in (health.failure or "")
        monkeypatch.undo()
        # the pool tries again by itself: ready again without a task asking
        assert eventually(lambda: pool.health() == PoolHealth(size=1, running=1), 30), pool.health()
        result = app.convert(
            fake(tmp_path, "y.fa", "back"), to="fb", options={"pidfile": str(tmp_path / "p")}
        ).run()
        assert result.read_bytes().decode() == "FAKE:fb\nback\n"
    finally:
        pool.close()


def test_a_worker_that_dies_as_it_is_handed_a_task_is_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found alive, dead by the time the task is sent (its pipe broken): another worker takes it."""
    pool = ProcessPoolExecutor(1)
    try:
        app = app_with(pool, own("fa", "fb", "sleep_recording_pid", options=OPTIONS))
        acquire, killed = pool._acquire, []

        def dying() -> Any:
            worker = acquire()
            if not killed:
                os.kill(worker.process.pid, signal.SIGKILL)
                worker.process.wait()
                killed.append(worker.process.pid)
            return worker

        monkeypatch.setattr(pool, "_acquire", dying)
        pidfile = tmp_path / "pid"
        result = app.convert(fake(tmp_path, "x.fa"), to="fb", options={"pidfile": str(pidfile)}).run()
        assert result.read_bytes().decode() == "FAKE:fb\nhello\n"
        assert killed and int(pidfile.read_text()) != killed[0]
    finally:
        pool.close()
