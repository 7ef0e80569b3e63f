"""A full disk told apart from every other failure, and refused as ``INSUFFICIENT_STORAGE``.

A write that fails for want of room (``ENOSPC``, or ``EDQUOT`` past a quota) is the server's
problem, not the input's: it must never read as ``CONVERSION_FAILED`` or ``CORRUPT_FILE``.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from conversio.errors import InsufficientStorage

#: The ``errno`` values of a write that found no room.
FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
#: A filesystem with less free space than this counts as full (a failed write just filled it).
FULL_BELOW_BYTES = 1024 * 1024
_SQLITE_FULL = 13


def is_full(error: BaseException) -> bool:
    """Whether ``error`` (or what it wraps: a database driver's error) says the disk is full."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in FULL_ERRNOS:
            return True
        if isinstance(current, sqlite3.Error) and getattr(current, "sqlite_errorcode", None) == _SQLITE_FULL:
            return True
        context = None if current.__suppress_context__ else current.__context__
        current = getattr(current, "orig", None) or current.__cause__ or context
    return False


def out_of_space(what: str = "the file") -> InsufficientStorage:
    """The error a user sees: nothing was kept, and the same request may succeed later."""
    return InsufficientStorage(f"there is no room left to store {what}; nothing was kept: try again later")


@contextmanager
def refusing_full(what: str = "the file") -> Iterator[None]:
    """Turn a write that found no room, inside the block, into :func:`out_of_space`."""
    try:
        yield
    except OSError as exc:
        if exc.errno in FULL_ERRNOS:
            raise out_of_space(what) from None
        raise


def nearly_full(path: Path) -> bool:
    """Whether the filesystem of ``path`` has (almost) no free space or no free inodes left."""
    try:
        info = os.statvfs(path)
    except OSError:
        return False
    no_inodes = info.f_files > 0 and info.f_favail == 0
    return info.f_bavail * info.f_frsize < FULL_BELOW_BYTES or no_inodes
