"""``memory://``: a store that keeps every artifact's bytes in the process (tests, small jobs)."""

from __future__ import annotations

import builtins
import hashlib
import io
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from conversio.stores.base import Artifact, Digest
from conversio.stores.common import (
    CHUNK_SIZE,
    check_cache_key,
    check_ttl,
    is_artifact_id,
    new_artifact,
    new_artifact_id,
    not_found,
)


class MemoryStore:
    """Artifacts in dictionaries; the same content is kept once, shared by its artifacts.

    Thread-safe; lives and dies with the process, so it cannot be shared with worker processes.
    """

    url = "memory://"

    def __init__(self, default_ttl: float | None = None) -> None:
        self.default_ttl = check_ttl(default_ttl, "default_ttl")
        self._lock = threading.Lock()
        self._artifacts: dict[str, Artifact] = {}
        self._blobs: dict[str, bytes] = {}
        self._refs: dict[str, set[str]] = {}
        self._cache: dict[str, builtins.list[str]] = {}

    # -- writing ---------------------------------------------------------------------------

    def put_file(
        self,
        path: Path,
        *,
        name: str,
        format: str,
        ttl: float | None = None,
        move: bool = False,
        share: bool = False,
        digest: Digest | None = None,
    ) -> Artifact:
        with open(path, "rb") as source:  # read whole anyway: hashing it too costs little
            artifact = self.put_stream(source, name=name, format=format, ttl=ttl)
        if move:
            os.unlink(path)
        return artifact

    def put_stream(self, stream: BinaryIO, *, name: str, format: str, ttl: float | None = None) -> Artifact:
        check_ttl(ttl)
        buffer = io.BytesIO()
        while chunk := stream.read(CHUNK_SIZE):
            buffer.write(chunk)
        data = buffer.getvalue()
        sha = hashlib.sha256(data).hexdigest()
        artifact = new_artifact(
            new_artifact_id(), name, format, Digest(sha, len(data)), ttl, self.default_ttl
        )
        with self._lock:
            self._blobs.setdefault(sha, data)
            self._refs.setdefault(sha, set()).add(artifact.id)
            self._artifacts[artifact.id] = artifact
        return artifact

    # -- reading ---------------------------------------------------------------------------

    def get(self, artifact_id: str) -> Artifact:
        artifact = self._artifacts.get(artifact_id) if is_artifact_id(artifact_id) else None
        if artifact is None or artifact.expired():
            raise not_found(artifact_id)
        return artifact

    def open(self, artifact_id: str) -> BinaryIO:
        return io.BytesIO(self._content(artifact_id))

    @contextmanager
    def local_path(self, artifact_id: str) -> Iterator[Path]:
        data = self._content(artifact_id)
        fd, name = tempfile.mkstemp(prefix="conversio-")
        path = Path(name)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            path.chmod(0o444)
            yield path
        finally:
            path.unlink(missing_ok=True)

    @contextmanager
    def scratch_dir(self) -> Iterator[Path]:
        with tempfile.TemporaryDirectory(prefix="conversio-scratch-") as name:
            yield Path(name)

    def list(self) -> Iterator[Artifact]:
        now = time.time()
        with self._lock:
            live = [a for a in self._artifacts.values() if not a.expired(now)]
        return iter(sorted(live, key=lambda a: (a.created, a.id)))

    # -- forgetting ------------------------------------------------------------------------

    def delete(self, artifact_id: str) -> None:
        """Forget the artifact; an expired one is freed too, but reported as not found."""
        with self._lock:
            artifact = self._artifacts.get(artifact_id) if is_artifact_id(artifact_id) else None
            if artifact is None:
                raise not_found(artifact_id)
            self._forget(artifact)
        if artifact.expired():
            raise not_found(artifact_id)

    def sweep(self, now: float | None = None) -> int:
        now = time.time() if now is None else now
        with self._lock:
            expired = [a for a in self._artifacts.values() if a.expired(now)]
            for artifact in expired:
                self._forget(artifact)
            gone = {key for key, ids in self._cache.items() if any(i not in self._artifacts for i in ids)}
            for key in gone:
                del self._cache[key]
        return len(expired)

    def _forget(self, artifact: Artifact) -> None:
        del self._artifacts[artifact.id]
        refs = self._refs[artifact.sha256]
        refs.discard(artifact.id)
        if not refs:
            del self._refs[artifact.sha256]
            del self._blobs[artifact.sha256]

    def _content(self, artifact_id: str) -> bytes:
        artifact = self.get(artifact_id)
        data = self._blobs.get(artifact.sha256)
        if data is None:  # deleted meanwhile
            raise not_found(artifact_id)
        return data

    # -- result cache ----------------------------------------------------------------------

    def cache_get(self, key: str) -> builtins.list[str] | None:
        check_cache_key(key)
        with self._lock:
            ids = self._cache.get(key)
        if ids is None:
            return None
        if all(self._is_live(artifact_id) for artifact_id in ids):
            return builtins.list(ids)
        with self._lock:
            if self._cache.get(key) is ids:
                del self._cache[key]
        return None

    def _is_live(self, artifact_id: str) -> bool:
        artifact = self._artifacts.get(artifact_id)
        return artifact is not None and not artifact.expired()

    def cache_put(self, key: str, artifact_ids: builtins.list[str]) -> None:
        check_cache_key(key)
        with self._lock:
            self._cache[key] = builtins.list(artifact_ids)
