"""Small operations on the local disk that the filesystem store is built of.

A write in one piece, a directory made and synced, ``flock``s (among them the one that marks a
temporary entry as in use, so that a sweep leaves it alone), and removing a tree that a
converter left read-only.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def flocked(path: Path, operation: int) -> Iterator[None]:
    """Hold the ``flock`` ``operation`` on the file at ``path`` (made if missing) for the block."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, operation)
        yield
    finally:
        os.close(fd)


def mark_in_use(fd: int) -> None:
    """Mark the open temporary entry ``fd`` as in use while it stays open (see :func:`in_use`)."""
    fcntl.flock(fd, fcntl.LOCK_SH)


def in_use(path: Path) -> bool:
    """Whether a live process holds the ``flock`` that marks a temporary entry as in use."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def write_all(fd: int, content: bytes) -> None:
    """Write all of ``content`` to ``fd`` (``os.write`` may write less than asked)."""
    view = memoryview(content)
    while view:
        view = view[os.write(fd, view) :]


def entries(directory: Path) -> list[Path]:
    """What ``directory`` holds (nothing, if it is gone)."""
    try:
        with os.scandir(directory) as found:
            return [Path(entry.path) for entry in found]
    except FileNotFoundError:
        return []


def make_dir(path: Path, sync: bool) -> None:
    """Create ``path`` (one level), if it is missing; with ``sync`` durably."""
    if not path.is_dir():
        path.mkdir(exist_ok=True)
        fsync_dir(path.parent, sync)


def fsync_dir(path: Path, sync: bool) -> None:
    """With ``sync``, make the entries of the directory ``path`` durable."""
    if not sync:
        return
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_tree(path: Path) -> None:
    """``rmtree``, also when a converter left read-only directories behind."""
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        return
    except PermissionError:
        _make_writable(path)
        shutil.rmtree(path, ignore_errors=True)


def _make_writable(directory: Path) -> None:
    directory.chmod(0o700)
    for entry in entries(directory):
        if entry.is_dir() and not entry.is_symlink():
            _make_writable(entry)
