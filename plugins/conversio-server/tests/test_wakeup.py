"""Waking the webhook dispatcher and job workers from another process: a datagram on a Unix socket,
or a PostgreSQL NOTIFY from another host; best effort."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

from conversio_server.outbox import Outbox
from conversio_server.settings import ServerSettings
from conversio_server.wakeup import JOBS_CHANNEL, NotifyListener, WakeListener, announce, wake, wake_all
from conversio_server.worker import Worker


def _listener(path: Path) -> tuple[WakeListener, threading.Event]:
    woken = threading.Event()
    return WakeListener(path, woken.set), woken


def test_a_notify_in_another_outbox_wakes_the_listener(tmp_path: Path) -> None:
    path = tmp_path / "run" / "webhooks.sock"
    listener, woken = _listener(path)
    assert listener.start()
    try:
        outbox = Outbox(f"sqlite:///{tmp_path / 'db.sqlite3'}", wake_path=path)
        try:
            assert not woken.wait(0.3)  # nothing sent yet
            outbox.notify()
            assert woken.wait(5)
        finally:
            outbox.close()
    finally:
        listener.stop()
    assert not path.exists()


def test_a_stale_socket_is_replaced_but_a_live_one_is_not_taken(tmp_path: Path) -> None:
    path = tmp_path / "webhooks.sock"
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    dead.bind(os.fsencode(path))
    dead.close()  # the file stays: a server that died
    first, first_woken = _listener(path)
    assert first.start()
    try:
        second, _ = _listener(path)
        assert not second.start()  # someone listens: not stolen
        wake(path)
        assert first_woken.wait(5)
    finally:
        first.stop()


def test_waking_nobody_or_an_unusable_path_is_harmless(tmp_path: Path) -> None:
    wake(tmp_path / "nobody.sock")
    listener, _ = _listener(tmp_path / ("x" * 200) / "webhooks.sock")  # too long for a Unix socket
    assert not listener.start()


def test_wake_all_wakes_every_listener_and_clears_the_dead(tmp_path: Path) -> None:
    folder = tmp_path / "workers"
    listeners = [_listener(folder / f"w{i}.sock") for i in range(2)]
    for listener, _ in listeners:
        assert listener.start()
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    dead.bind(os.fsencode(folder / "dead.sock"))
    dead.close()  # a worker that died: its socket file stays
    (folder / "notes.txt").write_text("not a socket")
    try:
        wake_all(folder)
        assert all(woken.wait(5) for _, woken in listeners)
    finally:
        for listener, _ in listeners:
            listener.stop()
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
    wake_all(tmp_path / "nobody")  # no folder: nothing to do


def test_a_sleeping_worker_stops_at_once() -> None:
    """A worker that looks at the queue once a minute still stops as soon as it is told to."""
    data = Path(tempfile.mkdtemp(prefix="cv-", dir="/tmp"))  # short: a Unix socket path has a limit
    settings = ServerSettings.load(environ={}, dev=True, data_dir=data, job_poll_interval=60.0)
    worker = Worker(settings)
    runner = threading.Thread(target=worker.run)
    runner.start()
    try:
        deadline = time.monotonic() + 30
        while not list(settings.job_wake_dir.glob("*.sock")) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert list(settings.job_wake_dir.glob("*.sock")), "the worker never listened"
        time.sleep(0.3)  # asleep now
        stopped = time.monotonic()
        worker.stop()
        runner.join(5)
        assert not runner.is_alive() and time.monotonic() - stopped < 2.0
        assert not list(settings.job_wake_dir.glob("*.sock"))
    finally:
        worker.stop()
        runner.join(5)
        worker.close()
        shutil.rmtree(data)


def test_a_job_queued_on_postgresql_notifies_every_host(postgres_url: str) -> None:
    """The queuing transaction's NOTIFY reaches a listener on another engine (another host), after it
    commits; a listener whose connection the database dropped listens again and wakes once."""
    import sqlalchemy as sa
    from conversio_server.jobstore import JobStore, NewJob

    submitter, other = JobStore(postgres_url), JobStore(postgres_url)
    woken = threading.Event()
    listener = NotifyListener(other.engine, JOBS_CHANNEL, woken.set)
    assert listener.start()
    try:
        time.sleep(0.5)  # the LISTEN is in place
        with submitter.engine.begin() as db:
            announce(db, JOBS_CHANNEL)
            assert not woken.wait(0.3)  # not before the commit
        assert woken.wait(5)
        latencies = []
        for _ in range(10):
            woken.clear()
            started = time.monotonic()
            submitter.create([NewJob(spec={"inputs": ["x"]}, key_id="k1")])
            assert woken.wait(5)
            latencies.append(time.monotonic() - started)
        assert sorted(latencies)[5] < 0.5, latencies
        woken.clear()
        with submitter.engine.connect() as db:
            db.execute(
                sa.select(sa.func.pg_terminate_backend(sa.column("pid")))
                .select_from(sa.table("pg_stat_activity"))
                .where(sa.column("query").like("LISTEN%"))
            )
        assert woken.wait(10)  # listening again, in case a notification went by meanwhile
        woken.clear()
        submitter.create([NewJob(spec={"inputs": ["x"]}, key_id="k1")])
        assert woken.wait(5)
    finally:
        listener.stop()
        submitter.close()
        other.close()


def test_a_sqlite_database_has_no_notifications(tmp_path: Path) -> None:
    outbox = Outbox(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    try:
        assert not NotifyListener(outbox.engine, JOBS_CHANNEL, lambda: None).start()
    finally:
        outbox.close()
