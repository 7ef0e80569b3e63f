"""A page with its files (``.htmlz``: a zip with ``index.html`` at its root), read into memory.

Nothing is written to disk: the files are held in memory and served to the browser by the
network guard. The zip is read defensively:

- at most ``max_members`` entries; at most :data:`MAX_SITE_SIZE` bytes unpacked in all (or
  ``max_unpacked_size``, or ``max_compression_ratio`` times the zip's size, whichever is less),
  checked against the sizes the zip declares first, then against the bytes really unpacked;
  no member unpacks to more than ``max_compression_ratio`` times its compressed size (ratios
  only count past :data:`RATIO_FLOOR`, so a small zip of text is never refused);
- names that reach outside the bundle (``../x``, ``/etc/x``, ``C:/x``) and two members of one
  name are refused; folders, symbolic links, special files and macOS's ``__MACOSX/`` copies
  are left out; ``\\`` is read as ``/`` (old Windows tools wrote it);
- a zip of a folder (``site/index.html``, ``site/style.css``: one folder holding everything)
  is read as if it were zipped from inside that folder.
"""

from __future__ import annotations

import lzma
import re
import stat
import struct
import zipfile
import zlib
from pathlib import Path

from conversio.errors import CorruptFile, FileTooLarge, UnsupportedEncryption, UnsupportedFormat
from conversio.limits import Limits

INDEX = "index.html"
#: The most bytes a bundle unpacks to, whatever the limits say: it is held in memory.
MAX_SITE_SIZE = 256 * 1024 * 1024
#: Compression ratios are only checked past this many unpacked bytes.
RATIO_FLOOR = 1024 * 1024

_READABLE = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
_ENCRYPTED = 0x1
#: How a message names a limit that is not one of :class:`~conversio.limits.Limits`.
_LIMITS_SAID = {"max_site_size": "the most one page's files may hold, in memory"}
_DRIVE = re.compile(r"^[A-Za-z]:")
#: What :mod:`zipfile` and its decompressors raise for damaged data.
_DATA_ERRORS = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError, ValueError, struct.error)


def read_bundle(path: Path, name: str, limits: Limits) -> dict[str, bytes]:
    """The files of the bundle at ``path`` (the user's ``name``), by their path from the page:
    ``index.html`` is among them."""
    try:
        with zipfile.ZipFile(path) as archive:
            files = _unpacked(archive, name, limits, path.stat().st_size)
    except _DATA_ERRORS as exc:
        raise CorruptFile(f"{name} is not a readable zip ({_reason(exc)})", file=name) from None
    except NotImplementedError:
        raise UnsupportedFormat(
            f"{name} uses a zip feature conversio cannot read; re-create it with Deflate", file=name
        ) from None
    return _rooted(files, name)


def _unpacked(archive: zipfile.ZipFile, name: str, limits: Limits, size: int) -> dict[str, bytes]:
    infos = archive.infolist()
    if len(infos) > limits.max_members:
        raise FileTooLarge(
            f"{name} has {len(infos)} entries, more than {limits.max_members} (max_members)",
            file=name,
            limit="max_members",
            maximum=limits.max_members,
        )
    members = [(info, member) for info in infos if (member := _member_name(info, name)) is not None]
    left, total_limit = _allowance(limits, size)
    if sum(info.file_size for info, _ in members) > left:
        raise _too_large(name, left, total_limit, limits)
    files: dict[str, bytes] = {}
    for info, member in members:
        if member in files:
            raise CorruptFile(f"{name} holds two files named {member!r}", file=name, member=member)
        by_ratio = _ratio_cap(limits, info.compress_size)
        cap, limit = (by_ratio, "max_compression_ratio") if by_ratio < left else (left, total_limit)
        data = _read(archive, info, member, name, cap)
        if len(data) > cap:
            raise _too_large(name, cap, limit, limits, member)
        left -= len(data)
        files[member] = data
    return files


def _member_name(info: zipfile.ZipInfo, name: str) -> str | None:
    """The member's path from the bundle's root, or None when it is left out (a folder, a link,
    a special file, macOS's resource copies); a name reaching outside the bundle is refused."""
    kind = stat.S_IFMT(info.external_attr >> 16)
    if info.is_dir() or kind not in (0, stat.S_IFREG):
        return None
    raw = info.filename.replace("\\", "/")
    parts = [part for part in raw.split("/") if part not in ("", ".")]
    if raw.startswith("/") or _DRIVE.match(raw) or ".." in parts or not parts:
        raise CorruptFile(
            f"{name} holds a file named {info.filename!r}, which points outside the bundle",
            file=name,
            member=info.filename,
        )
    if parts[0] == "__MACOSX":
        return None
    return "/".join(parts)


def _allowance(limits: Limits, size: int) -> tuple[int, str]:
    """The most bytes the whole bundle may unpack to, and the limit that sets it."""
    return min(
        (MAX_SITE_SIZE, "max_site_size"),
        (limits.max_unpacked_size, "max_unpacked_size"),
        (_ratio_cap(limits, size), "max_compression_ratio"),
    )


def _ratio_cap(limits: Limits, compressed: int) -> int:
    return max(RATIO_FLOOR, int(limits.max_compression_ratio * compressed))


def _too_large(
    name: str, allowance: int, limit: str, limits: Limits, member: str | None = None
) -> FileTooLarge:
    why = (
        f"more than {limits.max_compression_ratio:g} times its compressed size (max_compression_ratio): "
        "a likely decompression bomb"
        if limit == "max_compression_ratio"
        else f"more than {allowance} bytes ({_LIMITS_SAID.get(limit, limit)})"
    )
    where = f"{name}: {member!r}" if member else name
    return FileTooLarge(
        f"{where} unpacks to {why}", file=name, limit=limit, allowed_bytes=allowance, member=member
    )


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, member: str, name: str, cap: int) -> bytes:
    """The member's bytes, at most ``cap + 1`` of them whatever its header says."""
    if info.flag_bits & _ENCRYPTED:
        raise UnsupportedEncryption(
            f"{name}: {member!r} is encrypted; a page's files are read only unencrypted",
            file=name,
            member=member,
        )
    if info.compress_type not in _READABLE:
        raise UnsupportedFormat(
            f"{name}: {member!r} uses compression method {info.compress_type}, which conversio cannot "
            "read; re-create the zip with Deflate",
            file=name,
            member=member,
        )
    with archive.open(info) as stream:
        return stream.read(cap + 1)


def _rooted(files: dict[str, bytes], name: str) -> dict[str, bytes]:
    """The files with ``index.html`` at the root: a zip of one folder holding it is read from
    inside that folder."""
    if INDEX in files:
        return files
    tops = {member.split("/", 1)[0] for member in files}
    if len(tops) == 1 and all("/" in member for member in files):
        prefix = f"{tops.pop()}/"
        if prefix + INDEX in files:
            return {member[len(prefix) :]: data for member, data in files.items()}
    raise CorruptFile(
        f"{name} has no {INDEX} at its root: a page with its files is a zip with {INDEX} at its root "
        "(or in the one folder it holds) and the files the page refers to",
        file=name,
    )


def _reason(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
