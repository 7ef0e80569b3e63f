"""ZIP archives with the standard library's :mod:`zipfile`: pack and unpack."""

from __future__ import annotations

import lzma
import stat
import struct
import zipfile
import zlib

from conversio.converters import ConversionRequest, Output
from conversio.errors import ConversioError, UnsupportedFormat
from conversio_archive.budget import Declared
from conversio_archive.extraction import Extraction, engine_failure, guarded
from conversio_archive.packing import archive_output, members
from conversio_archive.report import LeftOut
from conversio_archive.zipnames import member_names

#: Errors :mod:`zipfile` and its decompressors raise for damaged data.
_DATA_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    OSError,
    ValueError,
    struct.error,
)
_READABLE = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
_AES = 99
_METHOD_NAMES = {
    1: "Shrink",
    6: "Implode",
    9: "Deflate64",
    93: "Zstandard",
    95: "xz",
    98: "PPMd",
}
_ENCRYPTED_FLAG = 0x1
_STRONG_ENCRYPTION_FLAG = 0x40
_FILE_MODE = (stat.S_IFREG | 0o644) << 16


def pack_zip(request: ConversionRequest) -> list[Output]:
    """Every input as a member of one ZIP (deflate at ``level``), in input order.

    ``ZipFile.write`` copies each file in chunks, and switches to ZIP64 for
    members over 2 GiB.
    """
    out = archive_output(request, "zip")
    items = members(request)
    with zipfile.ZipFile(
        out.path,
        "w",
        compression=zipfile.ZIP_DEFLATED,
        compresslevel=request.options["level"],
        strict_timestamps=False,
    ) as archive:
        for index, (item, name) in enumerate(items):
            archive.write(item.path, name)
            # Only the central directory holds the permissions: give every member
            # plain rw-r--r-- rather than whatever the stored copy happened to have.
            archive.infolist()[-1].external_attr = _FILE_MODE
            request.progress((index + 1) / len(items))
    return [out]


def unpack_zip(request: ConversionRequest) -> list[Output]:
    """Every regular member of a ZIP, written safely (see :mod:`conversio_archive.extraction`)."""
    extraction = Extraction(request)
    password: str | None = request.options.get("password") or None
    try:
        archive = zipfile.ZipFile(request.input.path)
    except NotImplementedError as exc:  # a zip feature (or version) zipfile does not know
        raise _unsupported_feature(extraction.archive, exc) from None
    except _DATA_ERRORS as exc:
        if not engine_failure(exc):
            raise
        raise extraction.corrupt(exc) from None
    with archive:
        infos = archive.infolist()
        names = member_names(infos)
        files = [(info, name) for info, name in zip(infos, names, strict=True) if _is_file(info)]
        extraction.check_declared(len(infos), [Declared(n, i.file_size, i.compress_size) for i, n in files])
        for index, (info, name) in enumerate(zip(infos, names, strict=True)):
            extraction.admit(name)
            if _is_folder(info):
                pass  # folders appear through the files inside them
            elif (kind := _left_out(info)) is not None:
                extraction.leave_out(name, kind)
            else:
                _unpack_member(archive, info, name, extraction, password)
            request.progress((index + 1) / len(infos))
    return extraction.finish()


def _mode(info: zipfile.ZipInfo) -> int:
    """The file type of the entry's Unix mode (0 when the tool stored none)."""
    return stat.S_IFMT(info.external_attr >> 16)


def _is_folder(info: zipfile.ZipInfo) -> bool:
    return info.is_dir() or _mode(info) == stat.S_IFDIR


def _left_out(info: zipfile.ZipInfo) -> LeftOut | None:
    """What an entry that is not a folder is left out as (None: a regular file)."""
    mode = _mode(info)
    if mode == stat.S_IFLNK:
        return LeftOut.SYMLINK
    return None if mode in (0, stat.S_IFREG) else LeftOut.SPECIAL


def _is_file(info: zipfile.ZipInfo) -> bool:
    return not _is_folder(info) and _left_out(info) is None


def _unpack_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, extraction: Extraction, password: str | None
) -> None:
    encrypted = bool(info.flag_bits & _ENCRYPTED_FLAG)
    if info.compress_type == _AES:
        raise extraction.unsupported_encryption("WinZip AES", name)
    if encrypted and info.flag_bits & _STRONG_ENCRYPTION_FLAG:
        raise extraction.unsupported_encryption("PKWARE strong encryption", name)
    if info.compress_type not in _READABLE:
        raise _unsupported(info, name, extraction.archive)
    if encrypted and password is None:
        raise extraction.bad_password(False, name)
    try:
        src = archive.open(info, pwd=password.encode("utf-8") if encrypted and password else None)
    except RuntimeError:  # zipfile's word for a missing or wrong password
        raise extraction.bad_password(password is not None, name) from None
    except NotImplementedError as exc:  # compressed patched data, for one
        raise _unsupported_feature(extraction.archive, exc, name) from None
    except _DATA_ERRORS as exc:
        if not engine_failure(exc):
            raise
        raise extraction.corrupt(exc) from None

    def failure(exc: BaseException) -> ConversioError:
        # The password check byte matches one wrong password in 256; the garbage
        # it decrypts to then fails to inflate or to match the CRC.
        return extraction.bad_password(True, name, exc) if encrypted else extraction.corrupt(exc)

    with src:
        extraction.copy(guarded(src.read, _DATA_ERRORS, failure), name, info.compress_size)


def _unsupported(info: zipfile.ZipInfo, member: str, archive: str) -> UnsupportedFormat:
    method = info.compress_type
    message = (
        f"{archive}: {member!r} uses compression method {method} ({_METHOD_NAMES.get(method, 'unknown')}), "
        "which conversio cannot read; re-create the archive with Deflate"
    )
    return UnsupportedFormat(message, file=archive, member=member, method=method)


def _unsupported_feature(
    archive: str, exc: NotImplementedError, member: str | None = None
) -> UnsupportedFormat:
    where = f"{archive}: {member!r}" if member else archive
    return UnsupportedFormat(
        f"{where} uses a ZIP feature conversio cannot read; re-create the archive with Deflate",
        file=archive,
        member=member,
    )
