"""Waking the webhook dispatcher from another process on the same host: one datagram on a Unix socket.

Job workers run in processes of their own; when one commits a job's event to the outbox it sends an
empty datagram to the socket the server listens on (in its data directory), and the dispatcher claims
the delivery at once instead of at its next poll. Everything here is best effort: a missing listener,
a full socket buffer or a path too long for a Unix socket only means the dispatcher's poll finds the
delivery a little later.
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


def wake(path: Path) -> None:
    """Send one wake-up datagram to ``path`` (never blocks, never raises)."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
        sender.setblocking(False)
        sender.sendto(b"", os.fsencode(path))


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
            log.warning("webhook wake-ups off (%s: %s); the dispatcher polls", self.path, exc)
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
