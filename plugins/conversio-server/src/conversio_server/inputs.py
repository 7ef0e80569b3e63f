"""Turning a request's inputs into stored artifacts: uploads, stored ids, URLs and base64 content."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from conversio.ingest import Arriving
from conversio.stores.base import Artifact
from conversio_server.intake import own_file_id
from conversio_server.models import InputRef
from conversio_server.outbound import check_url
from conversio_server.uploads import Scratch, UploadedFile

if TYPE_CHECKING:
    from conversio_server.auth import Principal
    from conversio_server.service import Server

#: An input the route will have: stored, or for an upload on its way into the store.
Pending = Callable[[], Artifact | Arriving]
T = TypeVar("T")


class InputResolver:
    """Stores the inputs of one request as the principal's files (stored ids and this server's URLs
    must be its own); files are written to its scratch files before they are stored.

    Every method but :meth:`all` blocks (disk and network): a route lists the inputs it needs as
    calls and has them made in order on one thread: by :meth:`all`, or by the conversion's own
    thread (:meth:`~conversio_server.service.Server.start`).
    """

    def __init__(
        self, server: Server, request: Request, principal: Principal, scratch: Scratch, max_bytes: int
    ) -> None:
        from conversio_server.routes.common import base_url

        self.server = server
        self.principal = principal
        self.scratch = scratch
        self.max_bytes = max_bytes
        self._own_urls = [base_url(request), str(request.base_url)]

    async def all(self, pending: Sequence[Callable[[], T]]) -> list[T]:
        """The inputs of ``pending``, in order, made off the event loop in one thread hop."""
        if not pending:
            return []
        return await run_in_threadpool(lambda: [call() for call in pending])

    def resolve(self, ref: InputRef) -> Artifact:
        if ref.fileId is not None:
            return self.file_id(ref.fileId)
        if ref.url is not None:
            return self.url(ref.url, ref.name)
        assert ref.base64 is not None
        return self.base64(ref.base64, ref.name)

    def upload(self, part: UploadedFile) -> Arriving:
        """An uploaded file on its way into the store (:meth:`~conversio_server.service.Server.arriving`):
        keep the request's scratch files until :func:`stored` says it arrived."""
        arriving = self.server.intake.arriving(part.path, part.filename)

        def own(done: Future[Artifact]) -> None:
            if not done.cancelled() and done.exception() is None:
                self._owned(done.result())

        arriving.stored.add_done_callback(own)
        return arriving

    def file_id(self, file_id: str) -> Artifact:
        return self.server.tenancy.file_for(self.principal, file_id.strip())

    def base64(self, data: str, name: str | None) -> Artifact:
        return self._owned(
            self.server.intake.store_base64(data, name, self.scratch.path("base64-"), self.max_bytes)
        )

    def url(self, url: str, name: str | None = None) -> Artifact:
        """A stored file of this server by its URL (no download), else the content fetched safely."""
        own = own_file_id(url.strip(), self._own_urls)
        if own is not None:
            return self.file_id(own)
        return self._owned(
            self.server.intake.fetch_url(url.strip(), name, self.scratch.path("fetch-"), self.max_bytes)
        )

    def web_page(self, url: str, name: str | None = None) -> Artifact:
        """The file at ``url``, fetched as :meth:`url` does (refused or failed the same way); when it
        is an HTML page and a browser engine is installed, the page's address instead, as a ``.url``
        file, so that the engine loads the page live with its own styles and images (every request
        it makes goes through the engine's guard, under the same outbound policy)."""
        fetched = self.url(url, name)
        if fetched.format != "html" or "url" not in self.server.conversio.registry.formats:
            return fetched
        address = check_url(url.strip(), self.server.settings.outbound)
        return self.web_address(str(address), f"{fetched.name.rsplit('.', 1)[0] or 'page'}.url")

    def web_address(self, url: str, name: str) -> Artifact:
        """``url`` stored as a web address (an Internet Shortcut file called ``name``), for a browser
        engine to load; not fetched here."""
        path = self.scratch.path("address-")
        path.write_text(f"[InternetShortcut]\r\nURL={url}\r\n", encoding="utf-8")
        return self._owned(self.server.intake.store_file(path, name))

    def _owned(self, artifact: Artifact) -> Artifact:
        self.server.tenancy.own(self.principal, [artifact])
        return artifact


async def stored(inputs: Iterable[Artifact | Arriving]) -> None:
    """Wait (on the event loop) until every upload among ``inputs`` is stored, or failed to be."""
    pending = [
        asyncio.wrap_future(i.stored) for i in inputs if isinstance(i, Arriving) and not i.stored.done()
    ]
    if pending:
        await asyncio.wait(pending)
