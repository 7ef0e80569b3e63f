"""The names of a zip's members, whatever tool wrote them.

The rule, entry by entry:

1. the UTF-8 flag (general purpose bit 11) is set: the name is UTF-8;
2. an Info-ZIP Unicode Path extra field (0x7075, version 1) whose CRC-32
   matches the stored name: its UTF-8 name (a stale field, left by a tool
   that renamed the entry, is ignored);
3. otherwise the name is in the encoding that reads best for all such names
   of the archive together (:func:`conversio_archive.legacy_names.choose_encoding`):
   UTF-8 when they are (macOS and Linux tools do not set the flag), else the
   DOS or Windows code page of the tool that wrote them, CP437 when nothing
   reads better. One archive is written by one tool, so one encoding serves all.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Sequence

from conversio_archive.legacy_names import ZIP_ENCODINGS, choose_encoding

_UTF8_FLAG = 0x800
_UNICODE_PATH = 0x7075


def member_names(infos: Sequence[zipfile.ZipInfo]) -> list[str]:
    """The name of every entry of ``infos``, in order."""
    names: list[str | None] = [_declared_name(info) for info in infos]
    legacy = [_raw(info) for info, name in zip(infos, names, strict=True) if name is None]
    encoding = choose_encoding(legacy, ZIP_ENCODINGS) if legacy else "cp437"
    return [
        name if name is not None else _raw(info).decode(encoding, "replace")
        for info, name in zip(infos, names, strict=True)
    ]


def _raw(info: zipfile.ZipInfo) -> bytes:
    """The name's bytes as stored: zipfile decoded them as CP437, which maps every byte."""
    return info.orig_filename.encode("cp437")


def _declared_name(info: zipfile.ZipInfo) -> str | None:
    """The name when the entry says how it is encoded (flag or extra field), else None."""
    if info.flag_bits & _UTF8_FLAG:
        return info.orig_filename
    return unicode_path(info.extra, _raw(info))


def unicode_path(extra: bytes, raw: bytes) -> str | None:
    """The UTF-8 name of an Info-ZIP Unicode Path field in ``extra`` that is valid for ``raw``."""
    offset = 0
    while offset + 4 <= len(extra):
        kind, size = struct.unpack_from("<HH", extra, offset)
        data = extra[offset + 4 : offset + 4 + size]
        offset += 4 + size
        if kind != _UNICODE_PATH or len(data) < 5 or data[0] != 1:
            continue
        if struct.unpack_from("<I", data, 1)[0] != zlib.crc32(raw):
            return None
        try:
            return data[5:].decode("utf-8")
        except UnicodeDecodeError:
            return None
    return None
