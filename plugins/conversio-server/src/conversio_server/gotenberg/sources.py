"""The inputs of a Gotenberg request as conversio inputs: uploads as they are, a page with its
assets as an ``htmlz`` bundle (a zip with ``index.html`` at its root), a URL as a ``url`` file.

Each is a call that stores the input as the caller's file (blocking), made on the conversion's own
thread (:meth:`~conversio_server.service.Server.start`)."""

from __future__ import annotations

import zipfile
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

import attrs

from conversio.stores.base import Artifact
from conversio_server.auth import Principal
from conversio_server.conversions import Order
from conversio_server.inputs import InputResolver, Pending
from conversio_server.models import StepSpec
from conversio_server.service import Server
from conversio_server.uploads import Scratch, UploadedFile


@attrs.frozen
class Work:
    """What a Gotenberg request asks of conversio: its inputs (to store), the target format, the
    conversion's options and the steps after it."""

    inputs: tuple[Pending, ...]
    target: str | None
    options: Mapping[str, object] = attrs.field(factory=dict)
    then: tuple[StepSpec, ...] = ()
    #: The uploads' names, when each becomes one result (LibreOffice's): Gotenberg names the files
    #: of its zip after them (``memo.docx.pdf``).
    names: tuple[str, ...] = ()

    def order(self) -> Order:
        """The order, its inputs stored (blocking)."""
        return Order(tuple(call() for call in self.inputs), self.target, (), dict(self.options), self.then)


#: The name of a page bundle; its results are ``index.pdf``, ``index.png``…
PAGE_NAME = "index.htmlz"


class Sources:
    """Makes the pending inputs of one request, stored under its scratch folder and owned by its key."""

    def __init__(
        self, server: Server, principal: Principal, resolver: InputResolver, scratch: Scratch
    ) -> None:
        self.server = server
        self.principal = principal
        self.resolver = resolver
        self.scratch = scratch

    def upload(self, part: UploadedFile) -> Pending:
        """An uploaded file, as it is."""
        return partial(self.resolver.upload, part)

    def page(self, files: Sequence[UploadedFile]) -> Pending:
        """The uploaded files as one page bundle (``index.html`` among them)."""
        return partial(self._bundle, list(files))

    def address(self, url: str) -> Pending:
        """A web address to load, as a file named after its host (``example.com.url``:
        ``example.com.pdf``)."""
        return partial(self._address, url)

    def _address(self, url: str) -> Artifact:
        return self.resolver.web_address(url, f"{urlsplit(url).hostname or 'page'}.url")

    def _bundle(self, files: list[UploadedFile]) -> Artifact:
        path = self.scratch.path("page-")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bundle:
            for part in files:
                bundle.write(part.path, _basename(part.filename or part.name))
        return self._stored(path, PAGE_NAME)

    def _stored(self, path: Path, name: str) -> Artifact:
        artifact = self.server.intake.store_file(path, name)
        self.server.tenancy.own(self.principal, [artifact])
        return artifact


def _basename(name: str) -> str:
    return name.replace("\\", "/").rsplit("/", 1)[-1]
