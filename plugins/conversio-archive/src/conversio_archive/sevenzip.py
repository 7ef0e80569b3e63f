"""7z archives with py7zr: pack (LZMA2) and unpack, encrypted ones included.

py7zr refuses whole archives whose member names climb out with ``..`` and
would write symlinks itself; here every member is renamed to its index before
extraction and written through a writer factory instead, so names follow the
same rules as zip and tar (:mod:`conversio_archive.names`), links are never
created, and every chunk is charged to the budget before it is written.
"""

from __future__ import annotations

import lzma
import tempfile
import zlib
from collections.abc import Callable
from pathlib import PurePath
from typing import BinaryIO

import py7zr
from py7zr.exceptions import ArchiveError, PasswordRequired, UnsupportedCompressionMethodError
from py7zr.io import Py7zIO, WriterFactory
from py7zr.py7zr import ArchiveFile

from conversio.converters import ConversionRequest, Output
from conversio.errors import ConversioError, UnsupportedFormat
from conversio_archive.budget import Declared
from conversio_archive.extraction import Extraction, MemberFile, engine_failure
from conversio_archive.packing import archive_output, members
from conversio_archive.report import LeftOut

#: py7zr decompresses in blocks of up to 128 MB (its ``get_memory_limit``) and
#: holds two or three of them at once; blocks of 4 MiB keep an extraction's
#: memory small whatever the member's size (and are faster).
PY7ZR_BLOCK = 4 * 1024 * 1024

#: Errors py7zr and its decompressors raise while extracting damaged (or
#: wrongly decrypted) data.
_DATA_ERRORS: tuple[type[BaseException], ...] = (
    ArchiveError,
    PasswordRequired,
    lzma.LZMAError,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
)


def pack_7z(request: ConversionRequest) -> list[Output]:
    """Every input as a member of one solid 7z (LZMA2 at preset ``level``), in input order."""
    out = archive_output(request, "7z")
    items = members(request)
    filters = [{"id": py7zr.FILTER_LZMA2, "preset": request.options["level"]}]
    with py7zr.SevenZipFile(out.path, "w", filters=filters) as archive:
        for index, (item, name) in enumerate(items):
            with item.path.open("rb") as src:
                archive.writef(src, name)  # compressed block by block while reading
            request.progress((index + 1) / len(items))
    return [out]


def unpack_7z(request: ConversionRequest) -> list[Output]:
    """Every regular member of a 7z, written safely; ``password`` opens encrypted ones."""
    extraction = Extraction(request)
    password: str | None = request.options.get("password") or None
    with request.input.path.open("rb") as fh:
        # An open file (not a path) keeps py7zr single-threaded, so a limit
        # raised by a writer stops the extraction at once.
        archive = _open(fh, password, extraction)
        with archive:
            entries = list(getattr(archive, "files", None) or [])
            # Links and special files are decompressed too (then dropped): count them all.
            extraction.check_declared(
                len(entries), [Declared(f.filename, f.uncompressed or 0, f.compressed) for f in entries]
            )
            for entry in entries:
                extraction.admit(entry.filename)
            encrypted = archive.needs_password()
            if encrypted and password is None:
                raise extraction.bad_password(False)
            writers = _MemberWriters(extraction, request, entries)
            _bound_py7zr_memory()
            try:
                with tempfile.TemporaryDirectory(prefix="conversio-7z-") as scratch:
                    archive.extractall(path=scratch, factory=writers)
            except ConversioError:
                raise
            except UnsupportedCompressionMethodError as exc:
                raise _unsupported(extraction.archive, exc) from None
            except _DATA_ERRORS as exc:
                if not engine_failure(exc):
                    raise
                if encrypted:
                    raise extraction.bad_password(True, cause=exc) from None
                raise extraction.corrupt(exc) from None
            finally:
                writers.discard_unfinished()
    return extraction.finish()


def _bound_py7zr_memory() -> None:
    """Make py7zr decompress in :data:`PY7ZR_BLOCK` blocks (it reads this function at each member)."""
    py7zr.py7zr.get_memory_limit = _py7zr_block  # type: ignore[attr-defined]


def _py7zr_block() -> int:
    return PY7ZR_BLOCK


def _open(fh: BinaryIO, password: str | None, extraction: Extraction) -> py7zr.SevenZipFile:
    """Read the archive's headers; an encrypted header needs the right password."""
    try:
        return py7zr.SevenZipFile(fh, "r", password=password)
    except PasswordRequired:
        raise extraction.bad_password(False) from None
    except UnsupportedCompressionMethodError as exc:
        raise _unsupported(extraction.archive, exc) from None
    except Exception as exc:
        # py7zr's header parser meets hostile or wrongly decrypted bytes with
        # many kinds of exception (TypeError, KeyError, struct.error...): all
        # of them mean the header could not be read.
        if not engine_failure(exc) or isinstance(exc, MemoryError):
            raise
        if password is not None and _header_is_encrypted(fh):
            raise extraction.bad_password(True) from None
        raise extraction.corrupt(exc) from None


def _header_is_encrypted(fh: BinaryIO) -> bool:
    fh.seek(0)
    try:
        py7zr.SevenZipFile(fh, "r").close()
    except PasswordRequired:
        return True
    except Exception:
        return False
    return False


def _is_file(entry: ArchiveFile) -> bool:
    return bool(entry.is_file) and not (entry.is_directory or entry.is_symlink or entry.is_junction)


def _left_out(entry: ArchiveFile) -> LeftOut | None:
    """What a member that is not a regular file is left out as (None: a folder)."""
    if entry.is_symlink or entry.is_junction:
        return LeftOut.SYMLINK
    return None if entry.is_directory else LeftOut.SPECIAL


def _unsupported(archive: str, exc: UnsupportedCompressionMethodError) -> UnsupportedFormat:
    return UnsupportedFormat(
        f"{archive} uses a 7-Zip compression method conversio cannot read; re-create it with LZMA2",
        file=archive,
    )


class _MemberWriters(WriterFactory):
    """Gives py7zr one metered :class:`MemberFile` per regular member, nothing for the rest.

    Members are renamed to their index first: py7zr then never sees (nor
    refuses) the original names, and each writer knows exactly which member it
    receives. Outputs are reserved in archive order, so names are stable.
    """

    def __init__(self, extraction: Extraction, request: ConversionRequest, entries: list[ArchiveFile]):
        self._extraction = extraction
        self._request = request
        self._targets: dict[str, tuple[str, Output, int | None]] = {}
        self._names: dict[str, str] = {}
        self._open: list[MemberFile] = []
        self._done = 0
        self._total = 0
        for index, entry in enumerate(entries):
            key = str(index)
            name = self._names[key] = entry.filename
            if _is_file(entry):
                self._targets[key] = (name, extraction.reserve(name), entry.compressed)
                self._total += 1
            elif (kind := _left_out(entry)) is not None:
                extraction.leave_out(name, kind)
            entry.file_properties()["filename"] = key  # the live header record
            if entry.filename != key:
                raise RuntimeError("py7zr no longer lets members be renamed before extraction")

    def create(self, filename: str) -> Py7zIO:
        key = PurePath(filename).name
        target = self._targets.pop(key, None)
        if target is None:  # a link or special file: decompressed, counted, never created
            return _Discard(self._extraction, self._names.get(key, key))
        name, output, compressed = target
        member = self._extraction.open(name, output, compressed)
        self._open.append(member)
        return _MemberWriter(member, self._finished)

    def _finished(self) -> None:
        self._done += 1
        self._request.progress(self._done / max(self._total, 1))

    def discard_unfinished(self) -> None:
        for member in self._open:
            member.discard()  # a no-op for members already committed


class _WriteOnly(Py7zIO):
    """A sink py7zr only writes to: nothing to read back, no seeking."""

    def read(self, size: int | None = None) -> bytes:
        return b""

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def seekable(self) -> bool:
        return False

    def flush(self) -> None:
        pass


class _MemberWriter(_WriteOnly):
    """The sink py7zr writes one member into."""

    def __init__(self, member: MemberFile, on_close: Callable[[], None]) -> None:
        self._member = member
        self._on_close = on_close

    def write(self, s: bytes | bytearray) -> int:
        self._member.write(s)
        return len(s)

    def size(self) -> int:
        return self._member.size

    def close(self) -> None:
        """py7zr calls this when the member is complete (not after a failure)."""
        self._member.commit()
        self._on_close()


class _Discard(_WriteOnly):
    """A sink that keeps nothing, but counts what it is given."""

    def __init__(self, extraction: Extraction, what: str) -> None:
        self._extraction = extraction
        self._what = what

    def write(self, s: bytes | bytearray) -> int:
        self._extraction.budget.charge_skipped(self._what, len(s))
        return len(s)

    def size(self) -> int:
        return 0
