"""Is a document password-protected? Asked only after LibreOffice failed to open it.

LibreOffice, loading without an interaction handler, fails the same way on a
protected document as on a damaged one; these markers tell the two apart so the
user gets ``INVALID_PASSWORD`` rather than ``CORRUPT_FILE``.
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
#: Streams only encrypted files have: agile/standard-encrypted OOXML, encrypted PowerPoint 97.
_ENCRYPTED_STREAMS = ("EncryptionInfo", "EncryptedPackage", "EncryptedSummary")
_FIB_ENCRYPTED = 0x0100
_POWERPOINT = "PowerPoint Document".encode("utf-16-le")
_BIFF_BOF, _BIFF_FILEPASS = 0x0809, 0x002F


def unsupported_encryption(path: Path) -> bool:
    """An encrypted PowerPoint 97-2003 file: LibreOffice 7.4 opens none, with the right password
    or without (measured on RC4 CryptoAPI files; its ppt import has no decryption)."""
    with path.open("rb") as fh:
        if fh.read(8) != OLE_MAGIC:
            return False
    data = path.read_bytes()
    return _POWERPOINT in data and "EncryptedSummary".encode("utf-16-le") in data


def is_protected(path: Path) -> bool:
    """True when the file carries the encryption marks of ODF, OOXML, Word 97 or Excel 97."""
    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(b"PK"):
        return _odf_encrypted(path)
    if head == OLE_MAGIC:
        return _ole_encrypted(path.read_bytes())
    return False


def _odf_encrypted(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            manifest = zf.read("META-INF/manifest.xml")
    except Exception:  # a damaged zip: whatever zipfile raises, it is not a protected document
        return False
    return b"encryption-data" in manifest


def _ole_encrypted(data: bytes) -> bool:
    if any(name.encode("utf-16-le") in data for name in _ENCRYPTED_STREAMS):
        return True
    try:
        streams = _ole_first_sectors(data)
    except Exception:  # a damaged OLE file: not recognisably protected
        return False
    word = streams.get("WordDocument")
    if word is not None and len(word) >= 12:
        return bool(struct.unpack_from("<H", word, 0x0A)[0] & _FIB_ENCRYPTED)
    book = streams.get("Workbook") or streams.get("Book")
    if book is not None:
        return _biff_has_filepass(book)
    return False


def _ole_first_sectors(data: bytes) -> dict[str, bytes]:
    """The first sector (64 bytes for a small stream) of each stream of an OLE2 file.

    Enough for the headers read here; the mini stream's own sector chain is followed,
    the mini FAT is not needed for a stream's first mini sector.
    """
    sector_size = 1 << struct.unpack_from("<H", data, 0x1E)[0]

    def sector(number: int) -> bytes:
        return data[(number + 1) * sector_size : (number + 2) * sector_size]

    fat: list[int] = []
    for fat_sector in struct.unpack_from("<109I", data, 0x4C):
        if fat_sector >= 0xFFFFFFFA:
            break
        fat.extend(struct.unpack(f"<{sector_size // 4}I", sector(fat_sector)))

    def chain(number: int) -> bytes:
        out, seen = b"", set[int]()
        while number < len(fat) and number not in seen and len(seen) < 65536:
            seen.add(number)
            out += sector(number)
            number = fat[number]
        return out

    directory = chain(struct.unpack_from("<I", data, 0x30)[0])
    mini_stream = b""
    found = {}
    for offset in range(0, len(directory) - 127, 128):
        entry = directory[offset : offset + 128]
        name_len = struct.unpack_from("<H", entry, 0x40)[0]
        start, size = struct.unpack_from("<II", entry, 0x74)
        if entry[0x42] == 5:  # the root entry holds the mini stream
            mini_stream = chain(start)
        if not 2 <= name_len <= 64 or entry[0x42] != 2:  # 2: a stream
            continue
        name = entry[: name_len - 2].decode("utf-16-le", "replace")
        if size >= 4096:
            found[name] = sector(start)
        else:
            found[name] = mini_stream[start * 64 : (start + 1) * 64]
    return found


def _biff_has_filepass(stream: bytes) -> bool:
    """A FILEPASS record among the first records of the workbook globals."""
    pos = 0
    for _ in range(16):
        if pos + 4 > len(stream):
            return False
        kind, length = struct.unpack_from("<HH", stream, pos)
        if kind == _BIFF_FILEPASS:
            return True
        if pos == 0 and kind != _BIFF_BOF:
            return False
        pos += 4 + length
    return False
