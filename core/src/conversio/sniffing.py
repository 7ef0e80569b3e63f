"""Content sniffing: the bytes decide the format, and a name is believed only when the content
agrees or parses as what it names.

The order: the ``sniff_format`` hook (containers), the magic-byte table, the same table past
leading tags (ID3v2, APE) and past junk before a PDF header, then text heuristics. Text whose
name has the extension of a text format (a plugin's ``yaml`` as much as ``csv``) is that
format, unless the format declares magic bytes the text lacks. A weak guess (text, or
nothing) that disagrees with the file's name asks the ``confirm_format`` hook whether the
file parses as what the name says; a text file named as a binary format is
``FORMAT_MISMATCH``.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path

import attrs

from conversio.errors import EmptyFile, FormatMismatch, InvalidRequest, UnsupportedFormat
from conversio.formats import FormatRegistry, Kind

HEAD_SIZE = 8192
_XML_DECL = re.compile(rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*|<!DOCTYPE[^>]*>\s*)*", re.S)
#: Readers accept up to 1024 bytes of anything before a PDF's header.
_PDF_HEADER = re.compile(rb"%PDF-[12]\.\d")
PDF_JUNK_BYTES = 1024
#: Tags that may come before an audio stream: how many follow one another at most.
_MAX_TAGS = 4

#: ``hook(head, path, name)``: a format the plugins recognise in the first bytes of the file at
#: ``path`` that the user calls ``name``, or None.
SniffHook = Callable[[bytes, Path, str], "str | None"]
#: ``confirm(path, format)``: whether the plugins say the file parses as ``format`` (None: no
#: plugin judges that format).
ConfirmHook = Callable[[Path, str], "bool | None"]


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
    hook: SniffHook | None = None,
    *,
    name: str | None = None,
    confirm: ConfirmHook | None = None,
) -> Sniffed:
    """Identify the file at ``path`` (whose user-facing name is ``name``): :func:`sniff_head`
    on its :func:`read_head`."""
    return sniff_head(read_head(path)[0], path, formats, hook, name=name, confirm=confirm)


def sniff_head(
    head: bytes,
    path: Path,
    formats: FormatRegistry,
    hook: SniffHook | None = None,
    *,
    name: str | None = None,
    confirm: ConfirmHook | None = None,
) -> Sniffed:
    """Identify the file at ``path`` that starts with ``head`` (``name`` is what the user calls it).

    A recognised signature wins over the name (reported as a warning). A weak guess (only
    text, or nothing recognised) gives way to the name when ``confirm`` says the file parses
    as the named format. Empty files are ``EMPTY_FILE``; text named as a binary format
    ``FORMAT_MISMATCH``; unrecognisable binary files ``UNSUPPORTED_FORMAT``.
    """
    display = name or path.name
    claimed = claimed_format(display, formats)
    if not head:
        raise EmptyFile(f"{display} is empty (0 bytes): there is nothing to convert", file=display)
    found = _signature(head, path, display, formats, hook, claimed, confirm)
    if found is not None and not (_is_text(formats, found) and _names_binary(formats, claimed)):
        return Sniffed(formats.canonical(found), claimed)
    if found is None:
        found = _sniff_text(head, claimed, formats)
    if claimed not in (None, found) and confirm is not None and confirm(path, claimed):
        return Sniffed(claimed, claimed)  # a weak guess gives way to a name the content parses as
    if found is None:
        raise UnsupportedFormat(
            f"could not recognise the format of {display}: "
            + (
                f"it does not read as {_described(formats, claimed)}"
                if claimed
                else "its content matches no format conversio reads"
            )
            + "; check that it is the file you meant",
            file=display,
            claimed=claimed,
            supported=[f.name for f in formats],
        )
    found = formats.canonical(found)
    if _names_binary(formats, claimed) and _is_text(formats, found):
        assert claimed is not None
        raise FormatMismatch(
            f"{display} is named as {_described(formats, claimed)}, but it is "
            f"{_described(formats, found)}; check that it is the file you meant, or rename it",
            file=display,
            claimed=claimed,
            format=found,
        )
    return Sniffed(found, claimed)


def claimed_format(name: str, formats: FormatRegistry) -> str | None:
    """The format the extension of ``name`` names, if any (``x.tar.gz`` names tar.gz, not gz)."""
    lowered = name.lower()
    parts = lowered.split(".")
    for i in range(1, len(parts)):  # longest extension first
        fmt = formats.by_extension(".".join(parts[i:]))
        if fmt is not None:
            return fmt.name
    return None


def _signature(
    head: bytes,
    path: Path,
    name: str,
    formats: FormatRegistry,
    hook: SniffHook | None,
    claimed: str | None,
    confirm: ConfirmHook | None,
) -> str | None:
    """The format a signature names: at the start, past leading tags, or past junk before a
    PDF header (believed when the name says pdf or nothing, or when the file parses as one)."""
    found = (hook(head, path, name) if hook else None) or formats.identify(head)
    if found is None:
        found = _past_tags(head, path, formats)
    junk_pdf = found is None and "pdf" in formats and _PDF_HEADER.search(head, 0, PDF_JUNK_BYTES + 8)
    if junk_pdf and (claimed in (None, "pdf") or (confirm is not None and confirm(path, "pdf"))):
        found = "pdf"
    return found


def _past_tags(head: bytes, path: Path, formats: FormatRegistry) -> str | None:
    """The format of the stream after the ID3v2 and APE tags at the start of the file.

    A FLAC or WAV file may start with an ID3v2 tag as an MP3 does; the stream after it
    decides. After a tag, an unrecognised stream is MP3 (what nearly every tagged file is).
    """
    offset, data = 0, head
    for _ in range(_MAX_TAGS):
        size = _tag_size(data)
        if not size:
            break
        offset += size
        data = _read_at(path, offset)
    if offset == 0:
        return None
    found = formats.identify(data) if data else None
    if found is None and _is_adts(data) and "m4a" in formats:
        return "m4a"  # raw AAC (ADTS), the usual .aac file, read by the m4a converters
    if found is None and "mp3" in formats:
        return "mp3"
    return found


def _is_adts(data: bytes) -> bool:
    """Whether ``data`` starts with an AAC ADTS frame header (sync word, layer 0)."""
    return len(data) >= 2 and data[0] == 0xFF and data[1] & 0xF6 == 0xF0


def _tag_size(data: bytes) -> int:
    """The size of the ID3v2 or APEv2 tag that ``data`` starts with; 0 if none."""
    if len(data) >= 10 and data[:3] == b"ID3" and data[3] in (2, 3, 4) and data[5] & 0x0F == 0:
        sizes = data[6:10]
        if all(b < 0x80 for b in sizes):
            size = (sizes[0] << 21) | (sizes[1] << 14) | (sizes[2] << 7) | sizes[3]
            footer = 10 if data[5] & 0x10 else 0
            return 10 + size + footer
    if len(data) >= 32 and data[:8] == b"APETAGEX":
        return 32 + int.from_bytes(data[12:16], "little")
    return 0


def _read_at(path: Path, offset: int) -> bytes:
    try:
        with path.open("rb") as fh:
            fh.seek(offset)
            return fh.read(HEAD_SIZE)
    except OSError:
        return b""


def _is_text(formats: FormatRegistry, name: str) -> bool:
    return name in formats and formats.get(name).kind is Kind.TEXT


def _names_binary(formats: FormatRegistry, claimed: str | None) -> bool:
    """Whether a name claims a format that is not text (an image, a document, a video...)."""
    if claimed is None or claimed not in formats or claimed == "svg":
        return False
    return formats.get(claimed).kind not in (Kind.TEXT, Kind.DATA)


def _described(formats: FormatRegistry, name: str) -> str:
    """``a PDF document``, ``an M3U playlist``, ``plain text``: the format as a user calls it."""
    description = formats.get(name).description.split(" (")[0] if name in formats else name
    if description.endswith(("text", "data", "values")):  # uncountable: no article
        return description[0].lower() + description[1:]
    acronym = description[:2].isupper()
    vowel = description[0] in ("AEFHILMNORSX" if acronym else "aeiouAEIOU")
    return f"{'an' if vowel else 'a'} {description}"


def _sniff_text(head: bytes, claimed: str | None, formats: FormatRegistry) -> str | None:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        head = _from_utf16(head)
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
    if claimed is not None and (claimed in _WRITTEN_AS_TEXT or _named_text(formats, claimed)):
        return claimed
    return "txt"


def _named_text(formats: FormatRegistry, claimed: str) -> bool:
    """Whether text named as ``claimed`` is that format: a text format no magic bytes mark
    (whichever plugin declares it), so the content has nothing stronger to say."""
    fmt = formats.get(claimed)
    return fmt.kind is Kind.TEXT and not fmt.magic


def _from_utf16(head: bytes) -> bytes:
    """A UTF-16 head (with its BOM) as UTF-8, for the text heuristics; NUL-filled when it is
    not UTF-16 text after all (a character cut at the end of the head is dropped)."""
    try:
        return head[: len(head) // 2 * 2].decode("utf-16", "strict").encode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4:
            return head[: exc.start].decode("utf-16").encode("utf-8")
        return b"\x00"


#: Formats of another kind that are written as text, and whose name text is believed for.
_WRITTEN_AS_TEXT = frozenset({"svg", "rtf"})
