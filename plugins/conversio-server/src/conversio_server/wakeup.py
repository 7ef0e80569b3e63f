"""Waking a thread of another process on the same host: one datagram on a Unix socket.

Two kinds of sleepers listen: the server's webhook dispatcher (job workers commit events to the
outbox in processes of their own) and job workers (the server queues jobs), each on a socket of its
own in a folder of the data directory. Everything here is best effort: a missing listener, a full
socket buffer or a path too long for a Unix socket only means the sleeper's next poll finds the work
a little later.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("conversio_server.wakeup")

#: What the listeners' socket files end with (:func:`wake_all` sends to those).
SOCKET_SUFFIX = ".sock"


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
