"""What the client sends and gets back: input references, stored files, file results, jobs and batches."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

#: How often :meth:`Client.wait` polls: every ``interval`` seconds while the wait is younger than
#: ``until`` seconds (the API guide's client: 1 s for 10 s, then 5 s for a minute, then 15 s).
POLL_SCHEDULE: tuple[tuple[float, float], ...] = ((10.0, 1.0), (60.0, 5.0), (float("inf"), 15.0))

FINISHED = ("completed", "failed", "cancelled")


@attrs.frozen
class FileId:
    """An input already on the server: an uploaded file or a stored result, by id."""

    id: str


@attrs.frozen
class Url:
    """An input the server fetches from ``url`` (through its SSRF-safe client)."""

    url: str
    name: str | None = None


@attrs.frozen
class StoredFile:
    """A file kept on the server: an upload or a result. ``download_url`` needs no key until it expires."""

    id: str
    name: str
    format: str
    size: int
    sha256: str
    url: str
    content_url: str
    download_url: str
    created_at: str | None = None
    expires_at: str | None = None
    delivered_to: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StoredFile:
        return cls(
            id=str(data["id"]),
            name=str(data["name"]),
            format=str(data["format"]),
            size=int(data["size"]),
            sha256=str(data.get("sha256", "")),
            url=str(data.get("url", "")),
            content_url=str(data.get("contentUrl", "")),
            download_url=str(data.get("downloadUrl", "")),
            created_at=data.get("createdAt"),
            expires_at=data.get("expiresAt"),
            delivered_to=data.get("deliveredTo"),
        )


#: An input: a local path, raw bytes, ``(name, bytes)``, a stored file (or its :class:`FileId`), or a
#: :class:`Url`.
Input = str | os.PathLike[str] | bytes | tuple[str, bytes] | StoredFile | FileId | Url


@attrs.frozen
class FileResult:
    """A file the server answered with (``content`` in memory)."""

    name: str
    content_type: str
    content: bytes = attrs.field(repr=lambda c: f"<{len(c)} bytes>")

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the file to ``path``, or into ``path`` under its own name when ``path`` is a folder."""
        target = Path(path)
        if target.is_dir():
            target = target / Path(self.name).name
        target.write_bytes(self.content)
        return target


@attrs.frozen
class Job:
    """A job as ``GET /v1/jobs/{id}`` shows it. ``progress`` is a percentage."""

    id: str
    status: str
    progress: float = 0.0
    eta: float | None = None
    step: str = ""
    steps: tuple[dict[str, Any], ...] = ()
    outputs: tuple[StoredFile, ...] = ()
    warnings: tuple[str, ...] = ()
    error: dict[str, Any] | None = None
    tag: str | None = None
    batch_id: str | None = None
    created_at: str | None = None
    url: str = ""

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Job:
        return cls(
            id=str(data["jobId"]),
            status=str(data["status"]),
            progress=float(data.get("progress") or 0.0),
            eta=data.get("eta"),
            step=str(data.get("step") or ""),
            steps=tuple(data.get("steps") or ()),
            outputs=tuple(StoredFile.from_json(o) for o in data.get("outputs") or ()),
            warnings=tuple(data.get("warnings") or ()),
            error=data.get("error"),
            tag=data.get("tag"),
            batch_id=data.get("batchId"),
            created_at=data.get("createdAt"),
            url=str(data.get("url") or ""),
        )


@attrs.frozen
class BatchInfo:
    """A batch as ``POST /v1/batch`` and ``GET /v1/batch/{id}`` show it."""

    id: str
    status: str
    job_ids: tuple[str, ...]
    counts: dict[str, int] = attrs.field(factory=dict)

    @property
    def finished(self) -> bool:
        """Whether every job of the batch has finished (completed, failed or cancelled)."""
        return sum(self.counts.get(s, 0) for s in FINISHED) >= len(self.job_ids)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BatchInfo:
        return cls(
            id=str(data["batchId"]),
            status=str(data["status"]),
            job_ids=tuple(str(j["jobId"]) for j in data.get("jobs") or ()),
            counts=dict(data.get("counts") or {}),
        )


def poll_interval(waited: float, schedule: Sequence[tuple[float, float]] = POLL_SCHEDULE) -> float:
    """The pause before the next look at a job after ``waited`` seconds of waiting."""
    for until, interval in schedule:
        if waited < until:
            return interval
    return schedule[-1][1]


def zipped(files: Sequence[FileResult], name: str) -> FileResult:
    """Several results as one zip, as the server answers a bundle."""
    buffer = io.BytesIO()
    used: set[str] = set()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            member, n = Path(file.name).name or "file", 1
            while member in used:
                n += 1
                member = f"{Path(file.name).stem}-{n}{Path(file.name).suffix}"
            used.add(member)
            archive.writestr(member, file.content)
    return FileResult(name, "application/zip", buffer.getvalue())
