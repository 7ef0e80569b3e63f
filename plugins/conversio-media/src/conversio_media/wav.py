"""What a plain PCM WAV holds, read from its header in Python instead of asking ffprobe.

Starting ffprobe costs about 50 ms (loading the FFmpeg libraries), a fixed share of
every conversion that matters for short ones. A canonical WAV says all a conversion
needs in its first bytes: channels, sample rate and (from the size of its ``data``
chunk) the duration. Only a header that is whole and consistent is trusted: PCM or
float samples, sizes that agree with each other, a ``data`` chunk that ends inside
the file. Anything else (compressed samples, a streamed or cut-short file, RF64,
garbage) is ``None``, and the caller asks ffprobe, which also words the error.
ffmpeg itself still reads the file with the ``wav`` demuxer forced and alone allowed.
"""

from __future__ import annotations

import struct
from pathlib import Path

from conversio_media.probe import MediaInfo

#: The chunks before ``data`` (``fmt ``, ``LIST``, ``fact``, ...) are read up to this far.
HEADER_LIMIT = 64 * 1024
#: ``WAVE_FORMAT_PCM``, ``WAVE_FORMAT_IEEE_FLOAT``, ``WAVE_FORMAT_EXTENSIBLE``.
_PCM, _FLOAT, _EXTENSIBLE = 0x0001, 0x0003, 0xFFFE
#: The 14 bytes after the format tag in the sub-format GUID of an extensible PCM or float WAV.
_GUID_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
#: Bits a sample that ffmpeg's wav demuxer reads as plain integers, or as floats.
_INTEGER_BITS, _FLOAT_BITS = {8, 16, 24, 32, 64}, {32, 64}


def wav_info(path: Path) -> MediaInfo | None:
    """Duration, channels and sample rate of a PCM or float WAV; ``None`` when the header is
    not one this function fully understands (the caller then runs ffprobe)."""
    try:
        size = path.stat().st_size
        with path.open("rb") as stream:
            head = stream.read(HEADER_LIMIT)
    except OSError:
        return None
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    fmt: tuple[int, int, int] | None = None
    offset = 12
    while offset + 8 <= len(head):
        chunk, length = head[offset : offset + 4], struct.unpack_from("<I", head, offset + 4)[0]
        body = offset + 8
        if chunk == b"fmt ":
            fmt = _format(head[body : body + length]) if body + length <= len(head) else None
            if fmt is None:
                return None
        elif chunk == b"data":
            if fmt is None or length == 0 or body + length > size:
                return None  # no format yet, streamed (size unknown) or cut short: ffprobe decides
            channels, rate, byte_rate = fmt
            return MediaInfo(
                duration=length / byte_rate, video=None, audio=True, audio_channels=channels, audio_rate=rate
            )
        offset = body + length + (length & 1)  # chunks are padded to an even size
    return None


def _format(body: bytes) -> tuple[int, int, int] | None:
    """(channels, sample rate, bytes a second) of a consistent PCM or float ``fmt `` chunk, else None."""
    if len(body) < 16:
        return None
    tag, channels, rate, byte_rate, align, bits = struct.unpack_from("<HHIIHH", body)
    if tag == _EXTENSIBLE:
        if len(body) < 40 or struct.unpack_from("<H", body, 16)[0] < 22 or body[26:40] != _GUID_TAIL:
            return None
        tag = struct.unpack_from("<H", body, 24)[0]
    if tag not in (_PCM, _FLOAT) or bits not in (_INTEGER_BITS if tag == _PCM else _FLOAT_BITS):
        return None
    if not 1 <= channels <= 64 or rate <= 0:
        return None
    if align != channels * bits // 8 or byte_rate != rate * align:
        return None
    return channels, rate, byte_rate
