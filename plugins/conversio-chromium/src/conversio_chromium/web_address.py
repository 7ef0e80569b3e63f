"""Files that hold one web address: a Windows Internet Shortcut, or a list of one URL.

An Internet Shortcut is an INI file whose ``[InternetShortcut]`` section has ``URL=``, often
after other sections (``[DEFAULT]``, ``[{000214A0-...}]``). A URI list (``text/uri-list``) is
text whose only line that is neither blank nor a ``#`` comment is the URL. Only the address's
form is checked here; where a page may connect is the network guard's decision.
"""

from __future__ import annotations

import codecs
import re
from urllib.parse import urlsplit

from conversio.errors import CorruptFile, InvalidRequest

#: The largest web address file read, in bytes: it holds one address and a few settings.
MAX_FILE_SIZE = 4096
#: The longest address loaded, in characters.
MAX_URL_LENGTH = 2048

_SECTION = re.compile(r"^\[([^\]]*)\]$")
_LONE_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)
#: Control characters no text file of an address holds (tab and line ends are fine).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def looks_like_address_file(data: bytes) -> bool:
    """Whether ``data`` (a whole file) is an Internet Shortcut or a list of one http(s) URL."""
    if len(data) > MAX_FILE_SIZE:
        return False
    text = _decoded(data)
    if text is None or _CONTROL.search(text):
        return False
    if _shortcut_url(text) is not None:
        return True
    lines = _meaningful_lines(text)
    return len(lines) == 1 and _LONE_URL.match(lines[0]) is not None


def read_address(data: bytes, name: str) -> str:
    """The address the file ``name`` holds, checked: http or https, a host, no credentials.

    A file holding no address is ``CORRUPT_FILE``; an address that cannot be loaded is ``INVALID_REQUEST``.
    """
    text = _decoded(data)
    if text is None:
        raise CorruptFile(f"{name} is not text: it holds no web address", file=name)
    url = _shortcut_url(text)
    if url is None:
        lines = _meaningful_lines(text)
        if len(lines) != 1:
            raise CorruptFile(
                f"{name} does not hold one web address: give an Internet Shortcut ([InternetShortcut] "
                "with URL=) or a text file whose only line is the address",
                file=name,
                lines=len(lines),
            )
        url = lines[0]
    check_address(url, name)
    return url


def check_address(url: str, name: str) -> None:
    """Refuse (``INVALID_REQUEST``) an address a page cannot be loaded from."""

    def refuse(why: str) -> InvalidRequest:
        shown = url if len(url) <= 80 else url[:77] + "..."
        return InvalidRequest(f"{name}: cannot load {shown!r}: {why}", file=name, reason="INVALID_URL")

    if len(url) > MAX_URL_LENGTH:
        raise refuse(f"the address is longer than {MAX_URL_LENGTH} characters")
    if _CONTROL.search(url) or any(c.isspace() for c in url):
        raise refuse("the address holds spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        raise refuse("it is not a well-formed address") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise refuse("only http and https addresses are loaded")
    if not parts.hostname:
        raise refuse("it names no host")
    if parts.username is not None or parts.password is not None:
        raise refuse("an address with a user name or password in it is not loaded; use the headers option")


def _decoded(data: bytes) -> str | None:
    """The file's text: UTF-8 or UTF-16 by their byte order mark, else UTF-8, else Windows-1252
    (what Windows writes shortcuts in); None for binary data."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _meaningful_lines(text: str) -> list[str]:
    """The lines of a URI list that are neither blank nor ``#`` comments, stripped."""
    return [s for line in text.splitlines() if (s := line.strip()) and not s.startswith("#")]


def _shortcut_url(text: str) -> str | None:
    """``URL=`` of the ``[InternetShortcut]`` section, if the text is an Internet Shortcut."""
    section = None
    for line in text.splitlines():
        stripped = line.strip()
        if heading := _SECTION.match(stripped):
            section = heading.group(1).strip().lower()
            continue
        key, equals, value = stripped.partition("=")
        if section == "internetshortcut" and equals and key.strip().lower() == "url":
            return value.strip()
    return None
