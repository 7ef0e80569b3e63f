"""Hashing a task's outputs while its worker writes them, so that storing them reads nothing again."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

from conversio.stores.base import Digest
from conversio.stores.common import CHUNK_SIZE

#: How often a file being written is looked at for more content.
_POLL_SECONDS = 0.002
#: The outputs of one task followed at most; later ones are hashed when they are stored.
MAX_FOLLOWED = 64


class OutputHasher:
    """Hashes the files a worker announces as it starts writing them, from their first byte
    as they grow, on a thread of its own (a worker's engine holds its own GIL, not this one).

    Only for files written the way :meth:`~conversio.converters.ConversionRequest.write`
    writes them: append-only, one after another. A file is complete once the next one is
    announced or the task is over. A store uses a digest only while the file has the size
    that was hashed, so an output that grew afterwards is hashed again, never mislabelled.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._names: list[str] = []
        self._over = False  # the task ended: every announced file is complete
        self._abandoned = False
        self._found: dict[str, Digest] = {}
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def follow(self, name: str) -> None:
        """The worker started writing ``name`` (relative to the folder)."""
        with self._lock:
            if self._over or len(self._names) >= MAX_FOLLOWED:
                return
            self._names.append(name)
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="conversio-hash", daemon=True)
                try:
                    thread.start()
                except RuntimeError:  # no thread to be had: the store hashes the outputs
                    self._over = True
                    return
                self._thread = thread
        self._wake.set()

    def digests(self) -> dict[str, Digest]:
        """The digests of the followed files, by name; call once the task has succeeded."""
        self._end(abandon=False)
        return self._found

    def close(self) -> None:
        """Stop hashing, whatever is left (the task failed, or its outputs are stored)."""
        self._end(abandon=True)

    def _end(self, *, abandon: bool) -> None:
        with self._lock:
            self._over = True
            self._abandoned = self._abandoned or abandon
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join()

    def _state(self, index: int) -> tuple[str | None, bool]:
        """The ``index``-th announced file, if any yet, and whether it is complete."""
        with self._lock:
            name = self._names[index] if index < len(self._names) else None
            return name, self._over or index + 1 < len(self._names)

    def _run(self) -> None:
        index = 0
        while not self._abandoned:
            self._wake.clear()  # before the state is read: no announcement goes unseen
            name, complete = self._state(index)
            if name is None:
                if complete:
                    return
                self._wake.wait()
                continue
            digest = self._hash(name, index)
            if digest is None or self._abandoned:  # closed as the last pass ended: not a result
                return
            self._found[name] = digest
            index += 1

    def _hash(self, name: str, index: int) -> Digest | None:
        """Hash the ``index``-th file from its start, following it until it is complete."""
        try:
            fd = os.open(self.folder / name, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        digest = hashlib.sha256()
        offset = 0
        try:
            while True:
                self._wake.clear()
                complete = self._state(index)[1]  # before the size is read: a last pass sees it all
                size = os.fstat(fd).st_size
                while offset < size:
                    if self._abandoned:
                        return None
                    chunk = os.pread(fd, min(CHUNK_SIZE, size - offset), offset)
                    if not chunk:
                        break
                    digest.update(chunk)
                    offset += len(chunk)
                if complete:
                    return Digest(digest.hexdigest(), offset)
                self._wake.wait(_POLL_SECONDS)
        except (OSError, MemoryError):
            return None
        finally:
            os.close(fd)
