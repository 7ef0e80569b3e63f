"""What the routes share: the server of the app, links, file responses."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from conversio.stores.base import Artifact
from conversio_server.service import Server

CHUNK = 256 * 1024


def server_of(request: Request) -> Server:
    server: Server = request.app.state.server
    return server


def base_url(request: Request) -> str:
    """Where links point: the configured public URL, else the address this request came to."""
    configured = server_of(request).settings.public_url
    return (configured or str(request.base_url)).rstrip("/")


def iso(timestamp: float | None) -> str | None:
    """A time as the API shows it (ISO 8601, UTC, whole seconds)."""
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def describe(request: Request, artifact: Artifact) -> dict[str, Any]:
    """A stored file as the API shows it, with links to this server (``downloadUrl`` signed)."""
    server, base = server_of(request), base_url(request)
    file_url = f"{base}/v1/files/{artifact.id}"
    return {
        "id": artifact.id,
        "name": artifact.name,
        "format": artifact.format,
        "size": artifact.size,
        "sha256": artifact.sha256,
        "createdAt": iso(artifact.created),
        "expiresAt": iso(artifact.expires),
        "url": file_url,
        "contentUrl": f"{file_url}/content",
        "downloadUrl": server.links.content_url(artifact, base),
    }


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the UTF-8 name (RFC 6266 / 5987)."""
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    header = f'attachment; filename="{ascii_name}"'
    if ascii_name != filename:
        header += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return header


def small_content(server: Server, artifact: Artifact) -> bytes | None:
    """The artifact's content when it fits in one chunk, else ``None`` (it is streamed). Blocking."""
    if artifact.size > CHUNK:
        return None
    with server.store.open(artifact.id) as reader:
        return reader.read()


async def artifact_response(request: Request, artifact: Artifact, content: bytes | None = None) -> Response:
    """The artifact's content as an attachment: ``content`` when the caller read it already, read in
    one go when it fits in one chunk (no streaming machinery), else streamed from the store."""
    server = server_of(request)
    headers = {
        "Content-Disposition": content_disposition(artifact.name),
        "Content-Length": str(artifact.size),
    }
    media_type = server.conversio.media_type(artifact.format)
    server.metrics.bytes_out.inc(artifact.size)
    if content is None and artifact.size <= CHUNK:
        content = await run_in_threadpool(small_content, server, artifact)
    if content is not None:
        return Response(content, media_type=media_type, headers=headers)
    reader = server.store.open(artifact.id)

    def chunks() -> Iterator[bytes]:
        with reader:
            while chunk := reader.read(CHUNK):
                yield chunk

    return StreamingResponse(chunks(), media_type=media_type, headers=headers)


def temporary_file_response(request: Request, path: Path, filename: str, media_type: str) -> Response:
    """A temporary file as an attachment; the file is removed once sent."""
    size = path.stat().st_size
    server_of(request).metrics.bytes_out.inc(size)

    def chunks() -> Iterator[bytes]:
        with path.open("rb") as reader:
            while chunk := reader.read(CHUNK):
                yield chunk

    return StreamingResponse(
        chunks(),
        media_type=media_type,
        headers={"Content-Disposition": content_disposition(filename), "Content-Length": str(size)},
        background=BackgroundTask(os.unlink, path),
    )
