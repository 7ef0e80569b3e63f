"""Turning a request's inputs into stored artifacts: uploads, stored ids, URLs and base64 content."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from conversio.stores.base import Artifact
from conversio_server.models import InputRef
from conversio_server.uploads import UploadedFile

if TYPE_CHECKING:
    from conversio_server.service import Server


class InputResolver:
    """Stores the inputs of one request; files are written under ``folder`` before they are stored."""

    def __init__(self, server: Server, request: Request, folder: Path, max_bytes: int) -> None:
        self.server = server
        self.request = request
        self.folder = folder
        self.max_bytes = max_bytes

    async def resolve(self, ref: InputRef) -> Artifact:
        if ref.fileId is not None:
            return await self.file_id(ref.fileId)
        if ref.url is not None:
            return await self.url(ref.url, ref.name)
        assert ref.base64 is not None
        return await run_in_threadpool(
            self.server.store_base64, ref.base64, ref.name, self.folder, self.max_bytes
        )

    async def upload(self, part: UploadedFile) -> Artifact:
        return await run_in_threadpool(self.server.store_file, part.path, part.filename)

    async def file_id(self, file_id: str) -> Artifact:
        return await run_in_threadpool(self.server.get, file_id.strip())

    async def url(self, url: str, name: str | None = None) -> Artifact:
        """A stored file of this server by its URL (no download), else the content fetched safely."""
        from conversio_server.routes.common import base_url

        own = self.server.own_file_id(url.strip(), [base_url(self.request), str(self.request.base_url)])
        if own is not None:
            return await self.file_id(own)
        return await self.server.fetch_url(url.strip(), name, self.folder, self.max_bytes)
