"""The artifact store protocol: immutable stored files with metadata and expiry."""

from __future__ import annotations

import builtins
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

import attrs


@attrs.frozen
class Digest:
    """The sha256 (hex) and size of a file's content."""

    sha256: str
    size: int


@attrs.frozen
class Artifact:
    """An immutable stored file.

    ``created`` and ``expires`` are Unix timestamps; ``expires`` is ``None`` for
    an artifact that is kept until deleted.
    """

    id: str
    name: str
    format: str
    size: int
    sha256: str
    created: float
    expires: float | None = None

    def expired(self, now: float | None = None) -> bool:
        return self.expires is not None and self.expires <= (time.time() if now is None else now)

    def to_dict(self) -> dict[str, object]:
        return attrs.asdict(self)


@runtime_checkable
class ArtifactStore(Protocol):
    """Where every input, intermediate and result lives.

    Writes are atomic: an id is only ever visible with its complete content.
    ``ttl`` is in seconds (``None``: the store's default retention).
    """

    #: The URL this store was opened with (``memory://``, ``file:///srv/data``).
    url: str

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
        """Store the file at ``path``; with ``move`` it may be renamed into the store (``path`` is gone).

        With ``share`` the store may take the file itself as its copy (a hard link; ``path`` stays):
        only for a file the caller never writes again, such as a server's upload.

        ``digest`` is the content's digest when the caller has it already (the engine hashes
        what its workers write as they write it): a store may take it instead of reading the
        file again, while the file's size agrees. Only the engine passes one; it runs as the
        store's user and could write into the store anyway.
        """
        ...

    def put_stream(self, stream: BinaryIO, *, name: str, format: str, ttl: float | None = None) -> Artifact:
        """Store everything read from ``stream``, chunk by chunk."""
        ...

    def get(self, artifact_id: str) -> Artifact:
        """The artifact's metadata; ``FILE_NOT_FOUND`` if unknown or expired."""
        ...

    def open(self, artifact_id: str) -> BinaryIO:
        """A binary reader over the artifact's content."""
        ...

    def local_path(self, artifact_id: str) -> AbstractContextManager[Path]:
        """A real, read-only path to the content for the duration of the block.

        Stores on the local disk give their own file (no copy); others copy to a
        temporary file that is removed afterwards.
        """
        ...

    def scratch_dir(self) -> AbstractContextManager[Path]:
        """A temporary directory on the store's filesystem, removed afterwards.

        Converters write there, so ``put_file(move=True)`` is a rename.
        """
        ...

    def delete(self, artifact_id: str) -> None:
        """Forget the artifact and free its content when nothing else shares it."""
        ...

    def list(self) -> Iterator[Artifact]:
        """Every artifact that has not expired."""
        ...

    def sweep(self, now: float | None = None) -> int:
        """Delete expired artifacts; returns how many were deleted."""
        ...

    def cache_get(self, key: str) -> builtins.list[str] | None:
        """Artifact ids cached under ``key``, if all of them still exist."""
        ...

    def cache_put(self, key: str, artifact_ids: builtins.list[str]) -> None:
        """Remember that ``key`` produced ``artifact_ids``."""
        ...


@runtime_checkable
class PresigningStore(Protocol):
    """A store that can sign a download link itself (S3's presigned GET), so that whoever holds the
    link downloads from the store directly, without going through conversio."""

    def presigned_url(self, artifact: Artifact, *, expires_in: int, disposition: str, media_type: str) -> str:
        """A URL that GETs ``artifact``'s content for ``expires_in`` seconds (the store may cap it),
        answered with ``disposition`` as its Content-Disposition and ``media_type`` as its Content-Type.
        Making it sends no request."""
        ...
