"""Taking inputs in: uploads (stored while a conversion may already read them), base64 content, URLs
fetched through the SSRF-safe client, and links to this server's own stored files."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from conversio.converters import safe_filename
from conversio.errors import UnsupportedFormat
from conversio.ingest import Arriving
from conversio.stores.base import Artifact
from conversio_server.errors import ApiError
from conversio_server.uploads import too_large

if TYPE_CHECKING:
    from conversio.api import Conversio
    from conversio_server.metrics import Metrics
    from conversio_server.outbound import OutboundClient

#: Paths of this server's stored files; a URL input matching one is used without downloading it.
#: The native links and the ConvertAPI download links (``/d/{id}/{name}``), under any path prefix
#: (a server published below one).
OWN_FILE_PATHS: tuple[re.Pattern[str], ...] = (
    re.compile(r"(?:/.*)?/v1/files/(?P<id>[A-Za-z0-9_-]{1,128})(?:/content)?"),
    re.compile(r"(?:/.*)?/d/(?P<id>[A-Za-z0-9_-]{1,128})(?:/[^/]*)?"),
)


class Intake:
    """Stores what clients send, sniffed (unrecognised content is ``bin``). Every method blocks:
    call it from a thread."""

    def __init__(self, conversio: Conversio, metrics: Metrics, outbound: OutboundClient) -> None:
        self.conversio = conversio
        self.store = conversio.store
        self.metrics = metrics
        self.outbound = outbound
        #: Stores uploads while their conversion may start on the scratch file (:meth:`arriving`).
        self._storing = ThreadPoolExecutor(max_workers=4, thread_name_prefix="conversio-server-store")

    def close(self) -> None:
        self._storing.shutdown(wait=True)

    def store_file(self, path: Path, filename: str) -> Artifact:
        """Sniff and store a local file (moved into the store)."""
        name = safe_filename(filename or "file")
        try:
            fmt = self.conversio.sniff(path, name=name).format
        except UnsupportedFormat:
            fmt = "bin"
        return self.store.put_file(path, name=name, format=fmt, move=True)

    def arriving(self, path: Path, filename: str) -> Arriving:
        """An upload on its way into the store (hashed, and linked: no copy) while a conversion may
        start on ``path`` (:meth:`~conversio.api.Conversio.arriving`). The caller keeps ``path`` until
        it is stored (:func:`~conversio_server.inputs.stored`) and never writes it again."""
        name = safe_filename(filename or "file")
        [upload] = self.conversio.arriving(
            [path], names=[name], pool=self._storing, owned=True, unknown="bin"
        )
        return upload

    def store_base64(self, data: str, filename: str | None, path: Path, max_bytes: int) -> Artifact:
        """Decode base64 content to ``path`` and store it."""
        if len(data) > (max_bytes // 3 + 1) * 4 + 4:
            raise too_large(max_bytes)
        try:
            content = base64.b64decode("".join(data.split()), validate=True)
        except (binascii.Error, ValueError):
            raise ApiError("INVALID_REQUEST", "an input's base64 content is not valid base64") from None
        if len(content) > max_bytes:
            raise too_large(max_bytes)
        path.write_bytes(content)
        self.metrics.bytes_in.inc(len(content))
        return self.store_file(path, filename or "file")

    def fetch_url(self, url: str, name: str | None, folder: Path, max_bytes: int) -> Artifact:
        """Fetch ``url`` through the outbound client (SSRF-safe) under ``folder`` and store it."""
        fetched = self.outbound.fetch_to_file(url, folder, max_bytes=max_bytes)
        self.metrics.bytes_in.inc(fetched.size)
        return self.store_file(fetched.path, name or fetched.name)


def own_file_id(url: str, base_urls: Sequence[str]) -> str | None:
    """The id when ``url`` points at one of the stored files of the server at ``base_urls``."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return None
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    if origin not in {
        urlsplit(b)._replace(path="", query="", fragment="").geturl().lower() for b in base_urls
    }:
        return None
    for pattern in OWN_FILE_PATHS:
        match = pattern.fullmatch(parts.path)
        if match:
            return match.group("id")
    return None
