"""tar archives, plain or compressed (gz, bz2, xz), with the standard library's :mod:`tarfile`."""

from __future__ import annotations

import functools
import lzma
import tarfile
import zlib
from pathlib import Path
from typing import Literal, cast

from conversio.converters import ConversionRequest, Output
from conversio.errors import FileTooLarge
from conversio_archive.extraction import CHUNK, Extraction, attempt, guarded
from conversio_archive.legacy_names import TAR_ENCODINGS, choose_encoding
from conversio_archive.packing import archive_output, members
from conversio_archive.report import LeftOut

#: Errors :mod:`tarfile` and its decompressors raise for damaged data (bz2 uses OSError).
_DATA_ERRORS: tuple[type[BaseException], ...] = (
    tarfile.TarError,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    OSError,
    ValueError,
)
#: Header blocks tarfile reads into memory whole: pax headers and GNU long names.
_METADATA_TYPES = (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE, tarfile.GNUTYPE_LONGNAME,
                   tarfile.GNUTYPE_LONGLINK)  # fmt: skip
MAX_METADATA = 1024 * 1024
_Preset = Literal[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]


def pack_tar(request: ConversionRequest) -> list[Output]:
    """Every input as a member of one tar (compressed as ``request.target`` says), in input order.

    Members are plain files, mode 0644, owned by uid/gid 0 with no user names;
    ``TarFile.addfile`` copies each file in chunks.
    """
    out = archive_output(request, request.target)
    items = members(request)
    with _open_for_writing(out.path, request.target, request.options.get("level")) as archive:
        for index, (item, name) in enumerate(items):
            info = tarfile.TarInfo(name)
            stat = item.path.stat()
            info.size = stat.st_size
            info.mtime = int(stat.st_mtime)
            info.mode = 0o644
            with item.path.open("rb") as src:
                archive.addfile(info, src)
            request.progress((index + 1) / len(items))
    return [out]


def _open_for_writing(path: Path, target: str, level: int | None) -> tarfile.TarFile:
    pax = tarfile.PAX_FORMAT
    if target == "tar.gz":
        return tarfile.open(path, "w:gz", compresslevel=9 if level is None else level, format=pax)
    if target == "tar.bz2":
        return tarfile.open(path, "w:bz2", compresslevel=9 if level is None else level, format=pax)
    if target == "tar.xz":
        # The option schema keeps the level within 0..9.
        return tarfile.open(path, "w:xz", preset=cast(_Preset, 6 if level is None else level), format=pax)
    return tarfile.open(path, "w", format=pax)


def unpack_tar(request: ConversionRequest) -> list[Output]:
    """Every regular member of a tar (of any compression), written safely.

    The archive is read front to back once: members are found and written as
    they come, so limits are enforced while reading, not from a listing.
    """
    extraction = Extraction(request)
    size = max(extraction.budget.archive_size, 1)
    corrupt = extraction.corrupt
    names = _Names()
    with request.input.path.open("rb") as raw:
        opener = functools.partial(
            tarfile.open,
            fileobj=raw,
            mode="r:*",
            tarinfo=_BoundedTarInfo,
            encoding="utf-8",
            errors="surrogateescape",
        )
        with attempt(opener, _DATA_ERRORS, corrupt) as archive:
            while (member := attempt(archive.next, _DATA_ERRORS, corrupt)) is not None:
                name = names.decode(member.name)
                extraction.admit(name)
                if member.isreg():
                    src = attempt(functools.partial(archive.extractfile, member), _DATA_ERRORS, corrupt)
                    if src is not None:
                        with src:
                            extraction.copy(guarded(src.read, _DATA_ERRORS, corrupt), name)
                elif not member.isdir():  # links, devices, fifos and unknown types are left out
                    extraction.leave_out(name, _left_out(member))
                    if member.type not in tarfile.SUPPORTED_TYPES:
                        # tarfile reads past the data of unknown types: count it.
                        extraction.budget.charge_skipped(name, member.size)
                request.progress(raw.tell() / size)
            if archive.fileobj is not raw:
                _read_to_the_end(archive, extraction)
    return extraction.finish()


def _left_out(member: tarfile.TarInfo) -> LeftOut:
    if member.issym():
        return LeftOut.SYMLINK
    if member.islnk():
        return LeftOut.HARDLINK
    if member.ischr() or member.isblk() or member.isfifo():
        return LeftOut.SPECIAL
    return LeftOut.UNKNOWN


#: Non-UTF-8 names that choose a tar's encoding; later ones keep it.
_NAMES_DECIDING = 20


class _Names:
    """Member names: UTF-8, else decoded in the encoding that reads best for the non-UTF-8
    names seen so far (a tar is read once, front to back: earlier names cannot wait)."""

    def __init__(self) -> None:
        self._legacy: list[bytes] = []
        self._encoding = TAR_ENCODINGS[0]

    def decode(self, name: str) -> str:
        """``name`` as tarfile read it (UTF-8, undecodable bytes as surrogate escapes), decoded."""
        if name.isascii() or not any("\udc80" <= c <= "\udcff" for c in name):
            return name
        raw = name.encode("utf-8", "surrogateescape")
        if len(self._legacy) < _NAMES_DECIDING:
            self._legacy.append(raw)
            self._encoding = choose_encoding(self._legacy, TAR_ENCODINGS)
        return raw.decode(self._encoding, "replace")


def _read_to_the_end(archive: tarfile.TarFile, extraction: Extraction) -> None:
    """Decompress what follows the last member, so the gzip, bzip2 or xz checksum is verified.

    tarfile stops at the end-of-archive marker; without this, damage in the
    compressed data would go unnoticed (and files decompressed from it be wrong).
    """
    stream = archive.fileobj
    assert stream is not None
    read = guarded(stream.read, _DATA_ERRORS, extraction.corrupt)
    while chunk := read(CHUNK):
        extraction.budget.charge_skipped("(the padding after the last member)", len(chunk))


class _BoundedTarInfo(tarfile.TarInfo):
    """A TarInfo that refuses metadata blocks over :data:`MAX_METADATA`.

    tarfile reads a pax header or GNU long name into memory in one piece, so a
    hostile archive could declare one of gigabytes. ``_proc_member`` is the
    method tarfile documents for subclasses to override.
    """

    def _proc_member(self, archive: tarfile.TarFile) -> tarfile.TarInfo:
        if self.type in _METADATA_TYPES and self.size > MAX_METADATA:
            raise FileTooLarge(
                f"a tar metadata block of {self.size} bytes is over {MAX_METADATA} bytes",
                limit="tar_metadata",
                maximum=MAX_METADATA,
            )
        member: tarfile.TarInfo = super()._proc_member(archive)  # type: ignore[misc]
        return member
