"""What a Matroska or WebM file holds, read from its header in Python instead of asking ffprobe.

A Matroska file says what a conversion needs before its first cluster of frames: the
segment's duration (``Info``) and each track's kind, frame size, frame duration, channels
and sample rate (``Tracks``). Starting ffprobe to read the same costs about 50 ms, a fixed
share of every conversion that matters for short clips and thumbnails.

Only a header that is whole and plain is trusted: both elements found within the first
:data:`HEADER_LIMIT` bytes, a duration, every field the result needs stated explicitly,
and no compressed or encrypted track. Anything else is ``None``, and the caller asks
ffprobe, which also words the error. The frame size is what the container declares; the
decoder enforces the pixel limit on every frame itself (``max_pixels``), so a header that
lies about it cannot smuggle in bigger frames.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

from conversio_media.probe import MediaInfo, VideoStream

#: The header (EBML header, segment start, seek head, info, tracks) is looked for this far.
HEADER_LIMIT = 256 * 1024

_EBML, _DOC_TYPE = 0x1A45DFA3, 0x4282
_SEGMENT, _CLUSTER, _INFO, _TRACKS = 0x18538067, 0x1F43B675, 0x1549A966, 0x1654AE6B
_TIMESTAMP_SCALE, _DURATION = 0x2AD7B1, 0x4489
_TRACK_ENTRY, _TRACK_TYPE, _DEFAULT_DURATION, _CONTENT_ENCODINGS = 0xAE, 0x83, 0x23E383, 0x6D80
_VIDEO, _PIXEL_WIDTH, _PIXEL_HEIGHT = 0xE0, 0xB0, 0xBA
_AUDIO, _SAMPLING_FREQUENCY, _OUTPUT_SAMPLING_FREQUENCY, _CHANNELS = 0xE1, 0xB5, 0x78B5, 0x9F
_VIDEO_TRACK, _AUDIO_TRACK = 1, 2
#: A size field of all ones: "unknown", as a live stream writes its segment.
_UNKNOWN = -1
#: The end of the file as far as the walk of its top level knows: not yet seen.
_OPEN_END = 1 << 62


class _Unreadable(Exception):
    """The header is not one this module fully understands."""


def matroska_info(path: Path) -> MediaInfo | None:
    """Duration and main streams of a Matroska or WebM file; ``None`` when its header is not
    one this function fully understands (the caller then runs ffprobe)."""
    try:
        with path.open("rb") as stream:
            head = stream.read(HEADER_LIMIT)
    except OSError:
        return None
    try:
        return _read(head)
    except _Unreadable:
        return None


def _read(head: bytes) -> MediaInfo | None:
    elements = _elements(head, 0, _OPEN_END)
    ident, start, end = next(elements)
    if ident != _EBML or _text(_child(head, start, end, _DOC_TYPE)) not in ("matroska", "webm"):
        return None
    ident, start, end = next(elements)
    if ident != _SEGMENT:
        return None
    info = tracks = None
    for ident, child, child_end in _elements(head, start, end):
        if ident == _INFO:
            info = (child, child_end)
        elif ident == _TRACKS:
            tracks = (child, child_end)
        elif ident == _CLUSTER:
            break
        if info and tracks:
            break
    if info is None or tracks is None or info[1] > len(head) or tracks[1] > len(head):
        return None
    duration = _duration(head, *info)
    entries = [(s, e) for ident, s, e in _elements(head, *tracks) if ident == _TRACK_ENTRY]
    kinds = [(_uint(_child(head, s, e, _TRACK_TYPE)), s, e) for s, e in entries]
    if any(_child(head, s, e, _CONTENT_ENCODINGS) is not None for _, s, e in kinds):
        return None  # compressed or encrypted frames: ffprobe knows what they hold
    videos = [(s, e) for kind, s, e in kinds if kind == _VIDEO_TRACK]
    audios = [(s, e) for kind, s, e in kinds if kind == _AUDIO_TRACK]
    if duration is None or not (videos or audios):
        return None
    channels = rate = None
    if audios:
        channels, rate = _audio(head, *audios[0])
    return MediaInfo(
        duration=duration,
        video=_video(head, *videos[0]) if videos else None,
        audio=bool(audios),
        audio_channels=channels,
        audio_rate=rate,
    )


def _duration(head: bytes, start: int, end: int) -> float | None:
    scale = _child(head, start, end, _TIMESTAMP_SCALE)
    value = _child(head, start, end, _DURATION)
    if value is None:
        return None
    ticks = _float(value)
    seconds = ticks * (_uint(scale) if scale is not None else 1_000_000) / 1e9
    return seconds if 0 < seconds < 1e7 else None


def _video(head: bytes, start: int, end: int) -> VideoStream:
    vstart, vend = _required(head, start, end, _VIDEO)
    width = _uint(_required_value(head, vstart, vend, _PIXEL_WIDTH))
    height = _uint(_required_value(head, vstart, vend, _PIXEL_HEIGHT))
    frame = _uint(_required_value(head, start, end, _DEFAULT_DURATION))  # nanoseconds a frame
    if not (0 < width <= 65535 and 0 < height <= 65535 and frame > 0):
        raise _Unreadable
    return VideoStream(width, height, _rate(frame))


def _audio(head: bytes, start: int, end: int) -> tuple[int, int]:
    astart, aend = _required(head, start, end, _AUDIO)
    rate = _float(_required_value(head, astart, aend, _SAMPLING_FREQUENCY))
    output = _child(head, astart, aend, _OUTPUT_SAMPLING_FREQUENCY)
    if output is not None and _float(output) != rate:
        raise _Unreadable  # SBR and the like: the decoder's rate is not the stored one
    channels = _uint(_required_value(head, astart, aend, _CHANNELS))
    if not (1 <= channels <= 64 and 1000 <= rate <= 768_000 and rate == int(rate)):  # NaN fails first
        raise _Unreadable
    return channels, int(rate)


def _rate(frame: int) -> float:
    """Frames a second for ``frame`` nanoseconds a frame, as the nearest fraction of terms up
    to 30000 (as FFmpeg's demuxer states it: 33366667 ns is 30000/1001)."""
    exact = Fraction(10**9, frame)
    if exact >= 1:
        return float(1 / (1 / exact).limit_denominator(30000))
    return float(exact.limit_denominator(30000))


def _required(head: bytes, start: int, end: int, wanted: int) -> tuple[int, int]:
    for ident, child, child_end in _elements(head, start, end):
        if ident == wanted:
            return child, child_end
    raise _Unreadable


def _required_value(head: bytes, start: int, end: int, wanted: int) -> bytes:
    value = _child(head, start, end, wanted)
    if value is None:
        raise _Unreadable
    return value


def _child(head: bytes, start: int, end: int, wanted: int) -> bytes | None:
    """The content of the first direct child ``wanted`` of the element spanning ``start:end``."""
    for ident, child, child_end in _elements(head, start, end):
        if ident == wanted:
            if child_end > len(head):
                raise _Unreadable
            return head[child:child_end]
    return None


def _elements(head: bytes, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    """The direct children of ``start:end`` as (id, content start, content end); an unknown size
    reaches to ``end``, and a child that runs past its parent is ``_Unreadable``. The walk may
    go on past what was read (a segment is longer than its header): reading there is ``_Unreadable``."""
    offset = start
    while offset < end:
        ident, offset = _vint(head, offset, keep_marker=True)
        size, offset = _vint(head, offset, keep_marker=False)
        child_end = end if size == _UNKNOWN else offset + size
        if child_end > end:
            raise _Unreadable
        yield ident, offset, child_end
        offset = child_end


def _vint(head: bytes, offset: int, *, keep_marker: bool) -> tuple[int, int]:
    """An EBML variable-length integer at ``offset``: (value, offset after it)."""
    if offset >= len(head):
        raise _Unreadable
    first = head[offset]
    length = 9 - first.bit_length() if first else 9
    if length > 8 or offset + length > len(head):
        raise _Unreadable
    value = int.from_bytes(head[offset : offset + length], "big")
    if keep_marker:
        if length > 4:
            raise _Unreadable
        return value, offset + length
    value &= (1 << (7 * length)) - 1
    return (_UNKNOWN if value == (1 << (7 * length)) - 1 else value), offset + length


def _uint(value: bytes | None) -> int:
    if value is None or len(value) > 8:
        raise _Unreadable
    return int.from_bytes(value, "big")


def _float(value: bytes) -> float:
    if len(value) not in (4, 8):
        raise _Unreadable
    number: float = struct.unpack(">f" if len(value) == 4 else ">d", value)[0]
    return number


def _text(value: bytes | None) -> str:
    return (value or b"").rstrip(b"\x00").decode("ascii", "replace")
