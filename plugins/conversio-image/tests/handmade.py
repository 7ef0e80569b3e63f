"""Image files written byte by byte, for variants Pillow cannot write: BigTIFF in either byte
order, TIFF with any compression or photometric tag, BMP with RLE, bit fields, OS/2 headers,
embedded JPEG/PNG, and bottom-up or top-down rows."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

import attrs

SHORT, LONG, RATIONAL, LONG8 = 3, 4, 5, 16
_TYPE_CODES = {SHORT: "H", LONG: "I", LONG8: "Q"}

#: TIFF compression codes.
NONE, LZW, OLD_JPEG, DEFLATE, PACKBITS, JBIG = 1, 5, 6, 8, 32773, 34661
#: TIFF photometric interpretations.
MIN_IS_BLACK, RGB, SEPARATED, CIELAB = 1, 2, 5, 8


@attrs.frozen
class Page:
    """One TIFF page: its pixels (already compressed with ``compression``) and its layout tags."""

    width: int
    height: int
    data: bytes
    bits: tuple[int, ...] = (8, 8, 8)
    photometric: int = RGB
    compression: int = NONE
    sample_format: int = 1  # 1 unsigned integers, 3 IEEE floats
    extra: tuple[tuple[int, int, tuple[int, ...]], ...] = ()  # (tag, type, values)


def rgb_page(width: int, height: int, colour: tuple[int, int, int], compression: int = NONE) -> Page:
    """A page of one RGB colour, uncompressed or deflated."""
    raw = bytes(colour) * (width * height)
    return Page(width, height, zlib.compress(raw) if compression == DEFLATE else raw, compression=compression)


def tiff(pages: Sequence[Page], *, big: bool = False, order: str = "<") -> bytes:
    """A TIFF (a BigTIFF when ``big``) in little (``<``) or big (``>``) endian byte order."""
    offset_code = "Q" if big else "I"
    offset_size = 8 if big else 4
    head = (b"II" if order == "<" else b"MM") + struct.pack(order + "H", 43 if big else 42)
    if big:
        head += struct.pack(order + "HH", 8, 0)
    out = bytearray(head + b"\0" * offset_size)
    pointer_at = len(head)
    for page in pages:
        strip_at = len(out)
        out += page.data + (b"\0" if len(page.data) % 2 else b"")
        tags = [
            (256, LONG, (page.width,)),
            (257, LONG, (page.height,)),
            (258, SHORT, page.bits),
            (259, SHORT, (page.compression,)),
            (262, SHORT, (page.photometric,)),
            (273, LONG8 if big else LONG, (strip_at,)),
            (277, SHORT, (len(page.bits),)),
            (278, LONG, (page.height,)),
            (279, LONG8 if big else LONG, (len(page.data),)),
            (284, SHORT, (1,)),
            (339, SHORT, (page.sample_format,) * len(page.bits)),
            *page.extra,
        ]
        tags.sort()
        # out-of-line values first, then the directory
        inline: list[bytes] = []
        for _, kind, values in tags:
            value = struct.pack(order + _TYPE_CODES[kind] * len(values), *values)
            if len(value) > offset_size:
                at = len(out)
                out += value + (b"\0" if len(value) % 2 else b"")
                value = struct.pack(order + offset_code, at)
            inline.append(value.ljust(offset_size, b"\0"))
        ifd_at = len(out)
        struct.pack_into(order + offset_code, out, pointer_at, ifd_at)
        out += struct.pack(order + ("Q" if big else "H"), len(tags))
        for (tag, kind, values), value in zip(tags, inline, strict=True):
            out += struct.pack(order + "HH" + offset_code, tag, kind, len(values)) + value
        pointer_at = len(out)
        out += b"\0" * offset_size
    return bytes(out)


# -- BMP ----------------------------------------------------------------------------------------

BI_RGB, BI_RLE8, BI_RLE4, BI_BITFIELDS, BI_JPEG, BI_PNG = 0, 1, 2, 3, 4, 5


def bmp(
    width: int,
    height: int,
    pixels: bytes,
    *,
    bits: int,
    compression: int = BI_RGB,
    palette: Sequence[tuple[int, int, int]] = (),
    masks: tuple[int, ...] = (),
    top_down: bool = False,
    header: int = 40,
) -> bytes:
    """A BMP with a ``header``-byte info header (12: OS/2 1.x, 40: Windows 3, 108: V4, 124: V5);
    ``pixels`` are the stored rows (padded, encoded, or a whole JPEG/PNG stream)."""
    if header == 12:
        info = struct.pack("<IHHHH", 12, width, height, 1, bits)
        table = b"".join(bytes((b, g, r)) for r, g, b in palette)
    else:
        info = struct.pack(
            "<IiiHHIIiiII",
            header,
            width,
            -height if top_down else height,
            1,
            bits,
            compression,
            len(pixels),
            2835,
            2835,
            len(palette),
            0,
        )
        if header >= 52:
            info += struct.pack("<4I", *(*masks, 0, 0, 0, 0)[:4])
        elif masks:  # BITMAPINFOHEADER with BI_BITFIELDS: the masks follow the header
            info += struct.pack(f"<{len(masks)}I", *masks)
        info = info.ljust(header + (4 * len(masks) if header < 52 else 0), b"\0")
        if header >= 108:
            info = info[:56] + b"BGRs" + info[60:]  # LCS_sRGB colour space
        table = b"".join(bytes((b, g, r, 0)) for r, g, b in palette)
    start = 14 + len(info) + len(table)
    file_header = b"BM" + struct.pack("<IHHI", start + len(pixels), 0, 0, start)
    return file_header + info + table + pixels


def rle8(rows: Sequence[bytes]) -> bytes:
    """RLE8 data of ``rows`` (bottom row first), as runs of at most 255 equal indices."""
    out = bytearray()
    for row in rows:
        i = 0
        while i < len(row):
            run = 1
            while i + run < len(row) and run < 255 and row[i + run] == row[i]:
                run += 1
            out += bytes((run, row[i]))
            i += run
        out += b"\0\0"  # end of line
    return bytes(out + b"\0\1")  # end of bitmap


def rle4(rows: Sequence[bytes]) -> bytes:
    """RLE4 data of ``rows`` of 4-bit indices (one index a byte, bottom row first)."""
    out = bytearray()
    for row in rows:
        i = 0
        while i < len(row):
            run = 1
            while i + run < len(row) and run < 255 and row[i + run] == row[i]:
                run += 1
            out += bytes((run, (row[i] << 4) | row[i]))
            i += run
        out += b"\0\0"
    return bytes(out + b"\0\1")


def padded(row: bytes) -> bytes:
    """A stored BMP row: padded to a multiple of four bytes."""
    return row + b"\0" * (-len(row) % 4)
