"""Content sniffing: the bytes decide the format, not the file name."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from pathlib import Path

import attrs

from conversio.errors import CorruptFile, InvalidRequest, UnsupportedFormat
from conversio.formats import FormatRegistry

HEAD_SIZE = 8192
_XML_DECL = re.compile(rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*|<!DOCTYPE[^>]*>\s*)*", re.S)


@attrs.frozen
class Sniffed:
    """The sniffed format of a file, and what its name claimed."""

    format: str
    claimed: str | None = None

    @property
    def mismatch(self) -> bool:
        """True when the extension names another format than the content."""
        return self.claimed is not None and self.claimed != self.format

    @property
    def warning(self) -> str | None:
        if not self.mismatch:
            return None
        return f"the name says {self.claimed} but the content is {self.format}; using {self.format}"


def read_head(path: Path) -> tuple[bytes, os.stat_result]:
    """The first :data:`HEAD_SIZE` bytes of the regular file at ``path``, and its status, from
    one open (a FIFO or device is refused before anything is read from it)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise InvalidRequest(f"not a regular file: {path}", file=str(path))
            return os.read(fd, HEAD_SIZE), info
        finally:
            os.close(fd)
    except FileNotFoundError:
        raise InvalidRequest(f"no such file: {path}", file=str(path)) from None
    except OSError as exc:
        raise InvalidRequest(f"cannot read {path}: {exc.strerror}", file=str(path)) from None


def sniff(
    path: Path,
    formats: FormatRegistry,
    hook: Callable[[bytes, Path], str | None] | None = None,
    *,
    name: str | None = None,
) -> Sniffed:
    """Identify the file at ``path`` (whose user-facing name is ``name``): :func:`sniff_head`
    on its :func:`read_head`."""
    return sniff_head(read_head(path)[0], path, formats, hook, name=name)


def sniff_head(
    head: bytes,
    path: Path,
    formats: FormatRegistry,
    hook: Callable[[bytes, Path], str | None] | None = None,
    *,
    name: str | None = None,
) -> Sniffed:
    """Identify the file at ``path`` that starts with ``head`` (``name`` is what the user calls it).

    Order: the ``sniff_format`` hook (containers), the magic-byte table, text
    heuristics, and for plain text only, the extension. Empty files are
    ``CORRUPT_FILE``; unrecognisable binary files ``UNSUPPORTED_FORMAT``.
    """
    display = name or path.name
    claimed = _claimed(display, formats)
    if not head:
        raise CorruptFile(f"{display} is empty", file=display)
    found = hook(head, path) if hook else None
    if found is None:
        found = formats.identify(head)
    if found is None:
        found = _sniff_text(head, claimed)
    if found is None:
        raise UnsupportedFormat(
            f"could not recognise the format of {display}",
            file=display,
            claimed=claimed,
            supported=[f.name for f in formats],
        )
    return Sniffed(formats.canonical(found), claimed)


def _claimed(name: str, formats: FormatRegistry) -> str | None:
    lowered = name.lower()
    parts = lowered.split(".")
    # Longest extension first, so "x.tar.gz" claims tar.gz rather than gz.
    for i in range(1, len(parts)):
        fmt = formats.by_extension(".".join(parts[i:]))
        if fmt is not None:
            return fmt.name
    return None


def _sniff_text(head: bytes, claimed: str | None) -> str | None:
    if b"\x00" in head:
        return None
    text = head.lstrip(b"\xef\xbb\xbf")
    try:
        text.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the head is still text.
        if exc.start < len(text) - 4:
            try:
                text.decode("cp1252")
            except UnicodeDecodeError:
                return None
    prolog_end = _XML_DECL.match(text)
    body = text[prolog_end.end() if prolog_end else 0 :].lstrip()
    lower = body[:512].lower()
    if lower.startswith(b"<svg"):
        return "svg"
    if lower.startswith((b"<html", b"<head", b"<body")) or text.lstrip()[:15].lower() == b"<!doctype html>":
        return "html"
    if text.lstrip().startswith(b"<?xml"):
        return claimed if claimed in ("svg", "html", "xml") else "xml"
    if claimed in _TEXT_FORMATS:
        return claimed
    return "txt"


_TEXT_FORMATS = {"txt", "csv", "md", "json", "html", "xml", "svg", "rtf"}
