"""Where the filesystem store keeps what under its root, and the locks that let processes share it.

Layout under the root::

    blobs/ab/<sha256>     content, read-only, shared by every artifact with that content
    meta/<id>.json        one artifact's metadata, written last: an id is only ever visible complete
    refs/<sha256>/<id>    which artifacts use a blob, so that ``delete`` frees it without a scan
    cache/<key>.json      the result cache: a key and the ids of the artifacts it produced
    tmp/                  uploads being written and scratch directories (same filesystem: renames),
                          named after their owner process (:mod:`conversio.stores.owners`)
    locks/                ``flock`` files: ``store`` (writers share it, ``sweep`` holds it alone)
                          and one per blob shard (writers of blobs in that shard take turns)

Several processes may use one root at once. Content is written and hashed outside any lock;
only placing the blob, its reference and the metadata happen under the locks.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from conversio.stores.common import check_cache_key, new_artifact_id
from conversio.stores.disk import flocked, mark_in_use
from conversio.stores.owners import owned_name


class Layout:
    """The places of one store under ``root``; ``durable``: every write there is synced to disk."""

    def __init__(self, root: Path, durable: bool) -> None:
        self.root = root
        self.durable = durable
        self.blobs = root / "blobs"
        self.meta = root / "meta"
        self.refs = root / "refs"
        self.cache = root / "cache"
        self.tmp = root / "tmp"
        self.locks = root / "locks"

    def create(self) -> None:
        """Make the directories that are missing."""
        for directory in (self.blobs, self.meta, self.refs, self.cache, self.tmp, self.locks):
            directory.mkdir(parents=True, exist_ok=True)

    def blob(self, sha: str) -> Path:
        return self.blobs / sha[:2] / sha

    def ref(self, sha: str, artifact_id: str) -> Path:
        return self.refs / sha / artifact_id

    def meta_file(self, artifact_id: str) -> Path:
        return self.meta / f"{artifact_id}.json"

    def cache_file(self, key: str) -> Path:
        return self.cache / f"{check_cache_key(key)}.json"

    def tmp_name(self, prefix: str) -> Path:
        """A new name under ``tmp/`` that tells its owner process; its random part makes it unique."""
        return self.tmp / f"{owned_name(prefix)}{new_artifact_id()}"

    def new_tmp(self, prefix: str) -> tuple[int, Path]:
        """A new, empty file under ``tmp/`` that only this call created, open for reading and writing
        and marked in use (a sweep leaves it alone).

        Its name is random (128 bits), so unlike :func:`tempfile.mkstemp` it needs no retry loop.
        """
        path = self.tmp_name(prefix)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            mark_in_use(fd)
        except BaseException:
            os.close(fd)
            path.unlink(missing_ok=True)
            raise
        return fd, path

    @contextmanager
    def writing(self, sha: str) -> Iterator[None]:
        """Writers share the store lock, and take turns on the lock of the blob's shard."""
        with (
            flocked(self.locks / "store", fcntl.LOCK_SH),
            flocked(self.locks / f"shard-{sha[:2]}", fcntl.LOCK_EX),
        ):
            yield

    def sweeping(self) -> AbstractContextManager[None]:
        """The store lock, held alone: no writer places anything meanwhile."""
        return flocked(self.locks / "store", fcntl.LOCK_EX)
