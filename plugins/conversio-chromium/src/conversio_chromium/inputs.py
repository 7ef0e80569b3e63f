"""What Chromium is given to load: a page served from memory (:class:`Site`) or a web address.

``html``, ``md`` and ``htmlz`` inputs become a :class:`Site` (the page and its files, in memory,
served to the browser under :data:`SITE_ORIGIN`, never from the host's filesystem); a ``url``
input becomes the address to load.

- ``html``: the file is the page, its bytes untouched, so its ``<meta charset>`` or byte order
  mark decides its encoding as in any browser. A page that declares no encoding and is UTF-8
  is given a UTF-8 byte order mark (Chromium would read it as Windows-1252: a page in Russian
  printed as ``Ð—Ð´Ñ€Ð°Ð²Ñ``), and so is every HTML file of a bundle;
- ``md``: rendered to a page of its own (:mod:`conversio_chromium.markdown`);
- ``htmlz``: a zip with ``index.html`` and its files (:mod:`conversio_chromium.bundles`), with
  Gotenberg's ``{{ toHTML "file.md" }}`` placeholders filled in;
- ``url``: a web address file (:mod:`conversio_chromium.web_address`).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

import attrs

from conversio.converters import ConversionRequest
from conversio.errors import FileTooLarge, UnsupportedFormat
from conversio_chromium.bundles import INDEX, read_bundle
from conversio_chromium.markdown import (
    MAX_MARKDOWN_SIZE,
    decode_markdown,
    expand_placeholders,
    render_document,
)
from conversio_chromium.web_address import MAX_FILE_SIZE, looks_like_address_file, read_address

#: The largest single HTML page loaded, in bytes.
MAX_PAGE_SIZE = 64 * 1024 * 1024
#: A page's own statement of its encoding, looked for in its first bytes as browsers do.
_DECLARED = re.compile(rb"<meta\b[^>]*charset", re.IGNORECASE)
_DECLARED_WITHIN = 8192
#: Names a text file holding one address may have for :func:`sniff` to call it ``url``: no
#: extension, plain text, or the address formats' own.
_ADDRESS_SUFFIXES = frozenset({"", ".txt", ".text", ".url", ".uri", ".uris"})
#: Names that say "a web address" whatever the file holds.
_NAMED_ADDRESS = frozenset({".url", ".uri", ".uris"})

#: The origin a :class:`Site` is served under. ``.invalid`` never resolves, so nothing but the
#: network guard can answer for it. Plain http, so that a page's http:// styles, scripts and
#: images load as written (an https page's would be blocked or upgraded as mixed content); the
#: browser still treats it as a secure context (:func:`~conversio_chromium.network.launch_arguments`).
SITE_ORIGIN = "http://document.invalid"


@attrs.frozen
class Site:
    """A page and the files it refers to, by their path relative to the page (``css/a.css``)."""

    files: Mapping[str, bytes]
    index: str = INDEX

    @property
    def url(self) -> str:
        """Where the browser loads the page from."""
        return f"{SITE_ORIGIN}/{self.index}"


@attrs.frozen
class Source:
    """What one conversion loads: a :class:`Site`, or a web address (``url``); ``name`` is the
    user's file name, for messages."""

    name: str
    site: Site | None = None
    url: str | None = None

    @property
    def address(self) -> str:
        """The URL the browser navigates to."""
        if self.site is not None:
            return self.site.url
        assert self.url is not None
        return self.url


def load_source(request: ConversionRequest) -> Source:
    """The request's input as something to load; hostile input is a coded error."""
    item = request.input
    if request.source == "url":
        data = _read(item.path, item.name, MAX_FILE_SIZE, "web address file")
        return Source(item.name, url=read_address(data, item.name))
    if request.source == "html":
        page = _read(item.path, item.name, MAX_PAGE_SIZE, "HTML page")
        return Source(item.name, Site({INDEX: utf8_marked(page)}))
    if request.source == "md":
        text = decode_markdown(_read(item.path, item.name, MAX_MARKDOWN_SIZE, "Markdown document"))
        return Source(item.name, Site({INDEX: render_document(text, Path(item.name).stem)}))
    if request.source == "htmlz":
        files = read_bundle(item.path, item.name, request.limits)
        files[INDEX] = expand_placeholders(files[INDEX], files, item.name)
        pages = {path: utf8_marked(data) for path, data in files.items() if path.endswith((".html", ".htm"))}
        return Source(item.name, Site(files | pages))
    raise UnsupportedFormat(f"conversio-chromium does not load {request.source} files", file=item.name)


def sniff(head: bytes, path: Path, name: str) -> str | None:
    """``htmlz`` for a zip whose name says so; ``url`` for a small text file holding one http(s)
    address (an Internet Shortcut, or one URL alone) whose name says nothing else (``notes.txt``,
    ``link``, ``x.url``: not ``x.md``), and any text named as an address (``x.url``); else
    ``None``. ``head`` is the first 8 KiB."""
    suffix = PurePosixPath(name.lower()).suffix
    if suffix == ".htmlz":
        return "htmlz" if head.startswith(b"PK\x03\x04") else None
    if suffix in _ADDRESS_SUFFIXES and looks_like_address_file(head):
        return "url"
    if suffix in _NAMED_ADDRESS and b"\x00" not in head:
        return "url"  # named as an address: loading it refuses one that holds none, never prints it
    return None


def utf8_marked(page: bytes) -> bytes:
    """``page`` with a UTF-8 byte order mark when it needs one: it has none, declares no
    encoding, holds characters beyond ASCII and is valid UTF-8. Its bytes are otherwise kept."""
    if page.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or page.isascii():
        return page
    if _DECLARED.search(page, 0, _DECLARED_WITHIN):
        return page
    try:
        page.decode("utf-8")
    except UnicodeDecodeError:
        return page
    return codecs.BOM_UTF8 + page


def _read(path: Path, name: str, limit: int, what: str) -> bytes:
    """The whole file, refused (``FILE_TOO_LARGE``) when it is over ``limit`` bytes."""
    with path.open("rb") as stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(
            f"{name} is larger than {limit} bytes, the most Chromium is given of one {what}",
            file=name,
            maximum=limit,
        )
    return data
