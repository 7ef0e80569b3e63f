"""Builders of real (and hostile) archives for the tests, and helpers to run the unpackers.

Everything is written with the real libraries (zipfile, tarfile, py7zr); what
they refuse to write (ZipCrypto, names climbing out with ``..`` in 7z) is
written byte by byte following the formats' specifications.
"""

from __future__ import annotations

import gzip
import os
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import py7zr
from conversio_archive.plugin import all_specs

from conversio.converters import ConversionRequest, InputFile, Output
from conversio.limits import Limits

MIB = 1024 * 1024


# -- running a converter directly ---------------------------------------------------
def run_direct(
    converter_id: str, archive: Path, out_dir: Path, *, limits: Limits | None = None, **options: Any
) -> list[Output]:
    """Run one converter of the plugin on ``archive`` as the engine would, writing into ``out_dir``.

    Unlike the engine, this keeps ``out_dir`` afterwards, so tests can see
    exactly what was written, even after a failure.
    """
    return run_reporting(converter_id, archive, out_dir, limits=limits, **options)[0]


def run_reporting(
    converter_id: str, archive: Path, out_dir: Path, *, limits: Limits | None = None, **options: Any
) -> tuple[list[Output], list[str]]:
    """:func:`run_direct`, with the warnings the converter gave."""
    spec = next(s for s in all_specs() if s.id == converter_id)
    out_dir.mkdir(parents=True, exist_ok=True)
    request = ConversionRequest(
        inputs=(InputFile(archive, archive.name, spec.source),),
        output_dir=out_dir,
        source=spec.source,
        target=spec.target,
        options=spec.options.validate(options),
        limits=limits or Limits(),
    )
    outputs = list(spec.load()(request))
    return outputs, request.warnings


def files_under(folder: Path) -> dict[str, bytes]:
    """Every regular file below ``folder`` by relative POSIX path (links are reported too)."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            found[path.relative_to(folder).as_posix()] = b"<symlink>"
        elif path.is_file():
            found[path.relative_to(folder).as_posix()] = path.read_bytes()
    return found


def bytes_under(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


# -- ordinary archives ----------------------------------------------------------------
def write_zip(path: Path, members: Mapping[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name, (2024, 1, 2, 3, 4, 5)), data, compress_type=compression)
    return path


def write_tar(path: Path, members: Mapping[str, bytes], mode: Any = "w:gz") -> Path:
    with tarfile.open(path, mode) as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, _Reader(data))
    return path


def write_7z(path: Path, members: Mapping[str, bytes], **kwargs: Any) -> Path:
    with py7zr.SevenZipFile(path, "w", **kwargs) as archive:
        for name, data in members.items():
            archive.writestr(data, name)
    return path


class _Reader:
    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)

    def read(self, size: int = -1) -> bytes:
        size = len(self._data) if size < 0 else size
        chunk, self._data = self._data[:size], self._data[size:]
        return bytes(chunk)


class Zeros:
    """A readable stream of ``size`` zero bytes that never holds them all."""

    def __init__(self, size: int) -> None:
        self.left = size

    def read(self, size: int = -1) -> bytes:
        size = self.left if size < 0 else min(size, self.left)
        self.left -= size
        return bytes(size)


# -- bombs ---------------------------------------------------------------------------
def zip_bomb(path: Path, size: int = 200 * MIB) -> Path:
    """One member of ``size`` zero bytes, deflated (about 1000:1), written 1 MiB at a time."""
    with (
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf,
        zf.open("zeros.bin", "w") as dst,
    ):
        stream = Zeros(size)
        while chunk := stream.read(MIB):
            dst.write(chunk)
    return path


def tar_gz_bomb(path: Path, size: int = 200 * MIB, before: Mapping[str, bytes] | None = None) -> Path:
    """A tar.gz whose (honest) header declares ``size`` bytes of zeros."""
    with tarfile.open(path, "w:gz", compresslevel=9) as tf:
        for name, data in (before or {}).items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, _Reader(data))
        info = tarfile.TarInfo("zeros.bin")
        info.size = size
        tf.addfile(info, Zeros(size))
    return path


def tar_with_huge_pax_header(path: Path, size: int = 64 * MIB) -> Path:
    """A tar.gz whose first block is a pax header declaring ``size`` bytes (of zeros)."""
    header = tarfile.TarInfo("././@PaxHeader")
    header.type = tarfile.XHDTYPE
    header.size = size
    with gzip.open(path, "wb") as fh:
        fh.write(header.tobuf(tarfile.USTAR_FORMAT))
        payload = Zeros(size + (-size % tarfile.BLOCKSIZE) + 2 * tarfile.BLOCKSIZE)
        while chunk := payload.read(MIB):
            fh.write(chunk)
    return path


# -- ZipCrypto and AES ---------------------------------------------------------------
def _crc_byte(crc: int, byte: int) -> int:
    """One step of the table-driven CRC-32 the ZipCrypto keys use (no pre/post inversion)."""
    return zlib.crc32(bytes([byte]), crc ^ 0xFFFFFFFF) ^ 0xFFFFFFFF


class _ZipCrypto:
    def __init__(self, password: bytes) -> None:
        self.keys = [0x12345678, 0x23456789, 0x34567890]
        for byte in password:
            self._update(byte)

    def _update(self, byte: int) -> None:
        k0, k1, k2 = self.keys
        k0 = _crc_byte(k0, byte)
        k1 = ((k1 + (k0 & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
        k2 = _crc_byte(k2, k1 >> 24)
        self.keys = [k0, k1, k2]

    def encrypt(self, data: bytes) -> bytes:
        out = bytearray()
        for byte in data:
            k = self.keys[2] | 2
            out.append(byte ^ (((k * (k ^ 1)) >> 8) & 0xFF))
            self._update(byte)
        return bytes(out)


def write_zipcrypto(path: Path, members: Mapping[str, bytes], password: str) -> Path:
    """A ZIP of stored members encrypted with traditional PKWARE encryption (ZipCrypto)."""
    local = bytearray()
    central = bytearray()
    date, time_ = (2024 - 1980) << 9 | 1 << 5 | 2, 0
    for name, data in members.items():
        raw_name = name.encode("utf-8")
        crc = zlib.crc32(data)
        header = os.urandom(11) + bytes([crc >> 24])
        payload = _ZipCrypto(password.encode("utf-8")).encrypt(header + data)
        offset = len(local)
        fields = (20, 0x1 | 0x800, 0, time_, date, crc, len(payload), len(data), len(raw_name), 0)
        local += struct.pack("<I5H3I2H", 0x04034B50, *fields) + raw_name + payload
        central += struct.pack("<I6H3I5H2I", 0x02014B50, 20, *fields, 0, 0, 0, 0, offset) + raw_name
    end = struct.pack("<I4H2IH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(local), 0)
    path.write_bytes(bytes(local + central + end))
    return path


def mark_as_aes(path: Path) -> Path:
    """Turn every member of a stored ZIP into what WinZip AES encryption looks like (method 99)."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
    cd_offset = struct.unpack_from("<I", data, len(data) - 22 + 16)[0]  # from the end record
    for info in infos:
        struct.pack_into("<HH", data, info.header_offset + 6, info.flag_bits | 1, 99)
    position = cd_offset
    for _ in infos:
        flags = struct.unpack_from("<H", data, position + 8)[0]
        struct.pack_into("<HH", data, position + 8, flags | 1, 99)
        name_len, extra_len, comment_len = struct.unpack_from("<3H", data, position + 28)
        position += 46 + name_len + extra_len + comment_len
    path.write_bytes(bytes(data))
    return path


# -- hostile 7z names ---------------------------------------------------------------
def write_7z_with_names(path: Path, members: Sequence[tuple[str, bytes]]) -> Path:
    """A 7z whose members carry exactly these names (``../evil`` included).

    py7zr refuses to write such names, so the archive is written with
    placeholders of the same length in a plain (unencoded) header, the names
    are patched in, and both header CRCs are recomputed.
    """
    placeholders = [(chr(ord("A") + i) * len(name), name) for i, (name, _) in enumerate(members)]
    with py7zr.SevenZipFile(path, "w") as archive:
        archive.set_encoded_header_mode(False)
        for (placeholder, _), (_, data) in zip(placeholders, members, strict=True):
            archive.writestr(data, placeholder)
    blob = bytearray(path.read_bytes())
    next_offset, next_size = struct.unpack_from("<QQ", blob, 12)
    start = 32 + next_offset
    header = bytes(blob[start : start + next_size])
    for placeholder, name in placeholders:
        old, new = placeholder.encode("utf-16-le"), name.encode("utf-16-le")
        assert header.count(old) == 1, placeholder
        header = header.replace(old, new)
    blob[start : start + next_size] = header
    struct.pack_into("<I", blob, 28, zlib.crc32(header))
    struct.pack_into("<I", blob, 8, zlib.crc32(bytes(blob[12:32])))
    path.write_bytes(bytes(blob))
    return path


# -- zips as other tools write them ---------------------------------------------------
UNICODE_PATH = 0x7075


def write_zip_raw(
    path: Path,
    members: Sequence[tuple[bytes, bytes]],
    *,
    extras: Mapping[int, bytes] | None = None,
    modes: Mapping[int, int] | None = None,
) -> Path:
    """A ZIP whose names are exactly these bytes, with the UTF-8 flag clear in both headers.

    zipfile writes names as ASCII or UTF-8 only, so each member is written under an ASCII
    placeholder of the same length that is then patched in the local and central headers.
    ``extras`` gives member ``i`` an extra field, ``modes`` a Unix mode (a symlink, a FIFO).
    """
    placeholders = [f"{i:04d}".encode().ljust(len(raw), b"_") for i, (raw, _) in enumerate(members)]
    with zipfile.ZipFile(path, "w") as zf:
        for i, ((raw, data), placeholder) in enumerate(zip(members, placeholders, strict=True)):
            assert len(raw) >= 4, "names of 4 bytes or more"
            info = zipfile.ZipInfo(placeholder.decode(), (2024, 1, 2, 3, 4, 5))
            info.extra = (extras or {}).get(i, b"")
            if modes and i in modes:
                info.external_attr = modes[i] << 16
                info.create_system = 3
            zf.writestr(info, data)
    blob = path.read_bytes()
    for (raw, _), placeholder in zip(members, placeholders, strict=True):
        assert blob.count(placeholder) == 2, placeholder
        blob = blob.replace(placeholder, raw)
    path.write_bytes(blob)
    return path


def unicode_path_field(raw: bytes, name: str, *, crc: int | None = None) -> bytes:
    """An Info-ZIP Unicode Path extra field giving ``name`` for the stored name ``raw``."""
    data = bytes([1]) + struct.pack("<I", zlib.crc32(raw) if crc is None else crc) + name.encode("utf-8")
    return struct.pack("<HH", UNICODE_PATH, len(data)) + data
