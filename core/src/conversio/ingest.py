"""A caller's local file on its way into the store, which the first step may read in place.

Storing an input (hash and copy) takes time in proportion to its size: about 60 ms for
a 55 MB WAV, a fixed share of every conversion of it. An :class:`Arriving` file is
stored in the background while the engine may start the first step on the caller's own
file; the step's result is kept only if the file did not change while it was read.
:meth:`conversio.Conversio.arriving` makes them, for the Python API and the server alike.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import attrs

from conversio.stores.base import Artifact, ArtifactStore


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
class Arriving:
    """A local file that may still be arriving in the store.

    ``path`` was sniffed as ``format`` (and is shown as ``name``) when it was in ``state``;
    ``stored`` gives its artifact once the store has taken it. Until then the file stays
    where it is and is never written again by its owner. ``warning`` is what sniffing
    had to say (a name that disagrees with the content).
    """

    path: Path
    name: str
    format: str
    stored: Future[Artifact]
    state: FileState
    warning: str | None = None

    @property
    def size(self) -> int:
        return self.state.size

    def unchanged(self) -> bool:
        """Whether the file is still what it was when it was sniffed."""
        try:
            return file_state(self.path) == self.state
        except OSError:
            return False

    def settled(self) -> Artifact:
        """The stored artifact, waiting for the store if need be (its error, if it failed)."""
        return self.stored.result()


def settled(item: Artifact | Arriving) -> Artifact:
    """The artifact of ``item``, waiting for it to be stored if need be."""
    return item.settled() if isinstance(item, Arriving) else item


#: Local files are stored several at a time only when they are this big on average: for
#: smaller ones the threads cost more than they save (50 PDFs of 18 KB: 46 ms threaded, 22 ms not).
THREADED_INGEST_BYTES = 512 * 1024

#: ``sniff(path, name)``: the format of a file, its state when it was read, and a warning.
Sniff = Callable[[Path, str], tuple[str, FileState, "str | None"]]


def arrive(
    files: Sequence[tuple[Path, str]],
    sniff: Sniff,
    store: ArtifactStore,
    pool: Executor | None,
    *,
    owned: bool,
) -> list[Arriving]:
    """``files`` (paths and the names they are shown by) on their way into ``store``: all
    sniffed first, then stored by ``pool``, by default threads of their own (see
    :meth:`conversio.Conversio.arriving`)."""
    if not files:
        return []
    sniffed = [sniff(path, name) for path, name in files]
    threads = pool or ThreadPoolExecutor(
        max_workers=_storing_threads([state.size for _, state, _ in sniffed]),
        thread_name_prefix="conversio-put",
    )
    try:
        return [
            Arriving(
                path,
                name,
                fmt,
                threads.submit(store.put_file, path, name=name, format=fmt, share=owned),
                state,
                warning,
            )
            for (path, name), (fmt, state, warning) in zip(files, sniffed, strict=True)
        ]
    finally:
        if pool is None:
            threads.shutdown(wait=False)  # its threads end once every file is stored


def _storing_threads(sizes: list[int]) -> int:
    """Threads to store files of ``sizes`` with: one a core for several big files (hashing and
    copying release the GIL), else one."""
    big = len(sizes) > 1 and sum(sizes) >= THREADED_INGEST_BYTES * len(sizes)
    return (os.cpu_count() or 1) if big else 1
