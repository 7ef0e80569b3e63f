"""Waking a thread of another process: one datagram on a Unix socket (the same host), or a PostgreSQL
``NOTIFY`` (any host sharing the database).

Two kinds of sleepers listen: the server's webhook dispatcher (job workers commit events to the
outbox in processes of their own) and job workers (the server queues jobs), each on a socket of its
own in a folder of the data directory, and on PostgreSQL each on a channel (:class:`NotifyListener`)
that the change's own transaction notifies (:func:`announce`), so the wake-up goes out when the
change commits. Everything here is best effort: a missing listener, a full socket buffer, a path too
long for a Unix socket or a lost database connection only means the sleeper's next poll finds the
work a little later.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

log = logging.getLogger("conversio_server.wakeup")

#: What the listeners' socket files end with (:func:`wake_all` sends to those).
SOCKET_SUFFIX = ".sock"
#: The PostgreSQL channels: a job was queued; a webhook delivery was enqueued.
JOBS_CHANNEL, OUTBOX_CHANNEL = "conversio_jobs", "conversio_outbox"
#: Seconds between attempts to listen again after the database connection was lost.
RECONNECT_DELAY = 1.0


def wake(path: Path) -> None:
    """Send one wake-up datagram to ``path`` (never blocks, never raises)."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
        sender.setblocking(False)
        sender.sendto(b"", os.fsencode(path))


def wake_all(folder: Path) -> None:
    """Wake every listener with a socket in ``folder``; a socket nobody listens on any more (its
    process died) is removed. Never blocks, never raises."""
    try:
        paths = [p for p in folder.iterdir() if p.suffix == SOCKET_SUFFIX]
    except OSError:
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
        sender.setblocking(False)
        for path in paths:
            try:
                sender.sendto(b"", os.fsencode(path))
            except ConnectionRefusedError:
                path.unlink(missing_ok=True)
            except OSError:
                continue


class WakeListener:
    """Calls ``on_wake`` for every datagram that arrives on the Unix socket ``path`` (from a thread)."""

    def __init__(self, path: Path, on_wake: Callable[[], None]) -> None:
        self.path, self.on_wake = path, on_wake
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def start(self) -> bool:
        """Listen; ``False`` (and the dispatcher keeps polling) when the socket cannot be bound."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            try:
                listener.bind(os.fsencode(self.path))
            except OSError:
                if not _stale(self.path):
                    raise
                self.path.unlink(missing_ok=True)
                listener.bind(os.fsencode(self.path))
        except OSError as exc:
            listener.close()
            log.warning("wake-ups off (%s: %s); polling instead", self.path, exc)
            return False
        listener.settimeout(0.5)
        self._socket = listener
        self._thread = threading.Thread(target=self._listen, name="webhook-wakeup", daemon=True)
        self._thread.start()
        return True

    def _listen(self) -> None:
        assert self._socket is not None
        while not self._stopping.is_set():
            try:
                self._socket.recv(16)
            except TimeoutError:
                continue
            except OSError:
                return
            self.on_wake()

    def stop(self) -> None:
        if self._socket is None:
            return
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._socket.close()
        self.path.unlink(missing_ok=True)
        self._socket = None


def _stale(path: Path) -> bool:
    """Whether ``path`` is a socket file nobody listens on any more (a server that died)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(os.fsencode(path))
        except ConnectionRefusedError:
            return True
        except OSError:
            return False
    return False


def announce(db: sa.Connection, channel: str) -> None:
    """On PostgreSQL, notify ``channel`` when ``db``'s transaction commits (nothing on SQLite)."""
    if db.dialect.name == "postgresql":
        db.execute(sa.select(sa.func.pg_notify(channel, "")))


class NotifyListener:
    """Calls ``on_wake`` for every ``NOTIFY`` on ``channel`` of the PostgreSQL database of ``engine``,
    from a thread with a connection of its own; after a lost connection it listens again and calls
    ``on_wake`` once (a notification may have gone by meanwhile)."""

    def __init__(self, engine: sa.Engine, channel: str, on_wake: Callable[[], None]) -> None:
        self.engine, self.channel, self.on_wake = engine, channel, on_wake
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> bool:
        """Listen; ``False`` (nothing to do) when the database is not PostgreSQL."""
        if self.engine.dialect.name != "postgresql":
            return False
        if self._thread is not None:
            return True
        self._stopping.clear()
        self._thread = threading.Thread(target=self._listen, name=f"listen-{self.channel}", daemon=True)
        self._thread.start()
        return True

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _listen(self) -> None:
        first = True
        while not self._stopping.is_set():
            try:
                with self._connect() as connection:
                    connection.execute(f"LISTEN {self.channel}")
                    if not first:
                        self.on_wake()
                    first = False
                    while not self._stopping.is_set():
                        for _ in connection.notifies(timeout=0.5, stop_after=1):
                            self.on_wake()
            except Exception as exc:  # the database restarted, the network dropped: listen again
                log.warning("wake-ups on %s lost (%s); listening again", self.channel, exc)
                first = False
                self._stopping.wait(RECONNECT_DELAY)

    def _connect(self) -> Any:
        """A new autocommit psycopg connection to the engine's database (outside its pool)."""
        args, kwargs = self.engine.dialect.create_connect_args(self.engine.url)
        return self.engine.dialect.loaded_dbapi.connect(*args, autocommit=True, **kwargs)
