"""What Chromium is given to load: a page served from memory (:class:`Site`) or a web address.

``html``, ``md`` and ``htmlz`` inputs become a :class:`Site` (the page and its files, in memory,
served to the browser under :data:`SITE_ORIGIN`, never from the host's filesystem); a ``url``
input becomes the address to load. (Interface first; the readers are being written.)
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import attrs

from conversio.converters import ConversionRequest, Output
from conversio.errors import UnsupportedFormat

#: The origin a :class:`Site` is served under. ``.invalid`` never resolves, so nothing but the
#: network guard can answer for it.
SITE_ORIGIN = "https://document.invalid"


@attrs.frozen
class Site:
    """A page and the files it refers to, by their path relative to the page (``css/a.css``)."""

    files: Mapping[str, bytes]
    index: str = "index.html"

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
    raise UnsupportedFormat(f"conversio-chromium cannot read {request.source} yet")


def sniff(head: bytes, path: Path, name: str) -> str | None:
    """``url`` or ``htmlz`` when the file is one, else ``None``."""
    return None


def zip_to_htmlz(request: ConversionRequest) -> list[Output]:
    """A zip with ``index.html`` at its root, relabelled as a page with its files."""
    raise UnsupportedFormat(f"{request.input.name}: not written yet")
