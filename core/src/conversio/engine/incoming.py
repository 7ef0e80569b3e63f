"""A caller's local file on its way into the store, which the first step may read in place.

Storing an input (hash and copy) takes time in proportion to its size: about 60 ms for
a 55 MB WAV, a fixed share of every conversion of it. An :class:`Incoming` lets the
engine start the first step on the caller's own file while the store takes its copy;
the step's result is kept only if the file did not change while it was read.
"""

from __future__ import annotations

import os
from concurrent.futures import Future
from pathlib import Path
from typing import NamedTuple

import attrs

from conversio.stores.base import Artifact


class FileState(NamedTuple):
    """What tells that a file changed."""

    device: int
    inode: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, info: os.stat_result) -> FileState:
        """The state a file's status tells."""
        return cls(info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


def file_state(path: Path) -> FileState:
    """The :class:`FileState` of ``path`` now."""
    return FileState.of(os.stat(path))


@attrs.frozen(eq=False)
class Incoming:
    """``path`` as sniffed (``format``, shown as ``name``); ``stored`` gives its artifact."""

    path: Path
    name: str
    format: str
    stored: Future[Artifact]
    #: :func:`file_state` when the file was sniffed.
    state: FileState

    def unchanged(self) -> bool:
        """Whether the file is still what it was before it was sniffed and stored."""
        try:
            return file_state(self.path) == self.state
        except OSError:
            return False


def settled(item: Artifact | Incoming) -> Artifact:
    """The artifact of ``item``, waiting for it to be stored if need be."""
    return item.stored.result() if isinstance(item, Incoming) else item
