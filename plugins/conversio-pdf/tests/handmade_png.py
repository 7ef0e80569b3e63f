"""PNG files written byte by byte, for what Pillow cannot write: 16-bit RGBA and Adam7 interlacing."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

#: Adam7 passes: (x start, y start, x step, y step)
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(
    size: tuple[int, int],
    colour_type: int,
    depth: int,
    pixel: Callable[[int, int], tuple[int, ...]],
    interlaced: bool = False,
) -> bytes:
    """A PNG of ``size`` whose pixel at (x, y) has the samples ``pixel(x, y)`` (8 or 16 bits each)."""
    width, height = size
    assert len(pixel(0, 0)) == _CHANNELS[colour_type] and depth in (8, 16)
    fmt = ">" + ("B" if depth == 8 else "H") * _CHANNELS[colour_type]
    passes = _ADAM7 if interlaced else ((0, 0, 1, 1),)
    raw = bytearray()
    for x0, y0, dx, dy in passes:
        columns = range(x0, width, dx)
        if not columns:
            continue
        for y in range(y0, height, dy):
            raw += b"\x00" + b"".join(struct.pack(fmt, *pixel(x, y)) for x in columns)
    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, int(interlaced))
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(raw)))
        + _chunk(b"IEND", b"")
    )
