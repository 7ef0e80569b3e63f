"""Gotenberg's ``downloadFrom`` field: files fetched from URLs, through the server's outbound client
(the outbound policy, the upload size limit), and then taken as if they had been uploaded, under the
name the remote server gives them (``Content-Disposition``, else the URL's last part)."""

from __future__ import annotations

from conversio_server.gotenberg.answers import GotenbergError
from conversio_server.gotenberg.forms import Invalid, json_value
from conversio_server.service import Server
from conversio_server.uploads import Scratch, UploadedFile

FIELD = "downloadFrom"


def urls(value: str) -> list[str]:
    """The URLs of a ``downloadFrom`` value (a JSON list of ``{"url": …}``); what this server does not
    do with them (extra headers, embedding) is refused."""
    try:
        entries = json_value(value)
    except Invalid as exc:
        raise GotenbergError(400, f"Invalid form data: form field '{FIELD}' is invalid ({exc})") from None
    if not isinstance(entries, list) or not all(isinstance(e, dict) and e.get("url") for e in entries):
        raise GotenbergError(
            400, f"Invalid form data: form field '{FIELD}' is not a JSON list of {{\"url\": …}}"
        )
    for entry in entries:
        for key in ("extraHttpHeaders", "embedded", "field"):
            if entry.get(key):
                raise GotenbergError(
                    400, f"Invalid form data: form field '{FIELD}': '{key}' is not supported by this server"
                )
    return [str(entry["url"]) for entry in entries]


def fetch(server: Server, scratch: Scratch, addresses: list[str], limit: int) -> list[UploadedFile]:
    """Each URL's content as an uploaded file of the request (blocking)."""
    files = []
    for url in addresses:
        fetched = server.outbound.fetch_to_file(url, scratch.path("download-"), max_bytes=limit)
        path = scratch.path("downloaded-")
        fetched.path.rename(path)
        server.metrics.bytes_in.inc(fetched.size)
        files.append(UploadedFile("files", fetched.name, path, fetched.size, fetched.content_type or ""))
    return files
