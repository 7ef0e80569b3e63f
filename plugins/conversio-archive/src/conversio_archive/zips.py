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
    _AES: "AES",
}
_ENCRYPTED_FLAG = 0x1
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
        extraction.check_declared(
            len(infos), [Declared(i.filename, i.file_size, i.compress_size) for i in infos if _is_file(i)]
        )
        for index, info in enumerate(infos):
            extraction.admit(info.filename)
            if _is_file(info):
                _unpack_member(archive, info, extraction, password)
            request.progress((index + 1) / len(infos))
    return extraction.finish()


def _is_file(info: zipfile.ZipInfo) -> bool:
    """A regular file: not a folder, and not a symlink or device stored with Unix modes."""
    return not info.is_dir() and stat.S_IFMT(info.external_attr >> 16) in (0, stat.S_IFREG)


def _unpack_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, extraction: Extraction, password: str | None
) -> None:
    encrypted = bool(info.flag_bits & _ENCRYPTED_FLAG)
    if info.compress_type not in _READABLE:
        raise _unsupported(info, extraction.archive)
    if encrypted and password is None:
        raise extraction.bad_password(False, info.filename)
    try:
        src = archive.open(info, pwd=password.encode("utf-8") if encrypted and password else None)
    except RuntimeError:  # zipfile's word for a missing or wrong password
        raise extraction.bad_password(password is not None, info.filename) from None
    except NotImplementedError as exc:  # strong encryption, for one
        raise _unsupported_feature(extraction.archive, exc, info.filename) from None
    except _DATA_ERRORS as exc:
        if not engine_failure(exc):
            raise
        raise extraction.corrupt(exc) from None

    def failure(exc: BaseException) -> ConversioError:
        # The password check byte matches one wrong password in 256; the garbage
        # it decrypts to then fails to inflate or to match the CRC.
        return extraction.bad_password(True, info.filename, exc) if encrypted else extraction.corrupt(exc)

    with src:
        extraction.copy(guarded(src.read, _DATA_ERRORS, failure), info.filename, info.compress_size)


def _unsupported(info: zipfile.ZipInfo, archive: str) -> UnsupportedFormat:
    method = info.compress_type
    if method == _AES:
        message = (
            f"{archive}: {info.filename!r} is AES-encrypted, which Python's zipfile cannot decrypt "
            "(it reads ZipCrypto only); re-create the archive with ZipCrypto, or as 7z"
        )
    else:
        name = _METHOD_NAMES.get(method, "unknown")
        message = (
            f"{archive}: {info.filename!r} uses compression method {method} ({name}), "
            "which zipfile cannot read"
        )
    return UnsupportedFormat(message, file=archive, member=info.filename, method=method)


def _unsupported_feature(
    archive: str, exc: NotImplementedError, member: str | None = None
) -> UnsupportedFormat:
    where = f"{archive}: {member!r}" if member else archive
    return UnsupportedFormat(
        f"{where} uses a ZIP feature Python's zipfile cannot read ({exc})", file=archive, member=member
    )
