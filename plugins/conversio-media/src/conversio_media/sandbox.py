"""How ffmpeg and ffprobe are started: found, restricted and bounded (no engine imported).

Every input is read with its demuxer forced (``-f``) and allowed alone
(``-format_whitelist``), through the ``file`` protocol only (``-protocol_whitelist``):
a playlist (HLS, concat, SDP), or a file that embeds one, can neither choose another
demuxer nor open another file or a network address. Paths are given as ``file:``
URLs, so a name never reads as a protocol or an option.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from conversio.errors import MissingDependency, UnsupportedFormat
from conversio_media.catalogue import FORMATS, INSTALL_HINT

PROTOCOLS = "file"
#: ffmpeg's own settings for every run: quiet, no terminal, progress on stdout.
GLOBAL_ARGS: tuple[str, ...] = ("-nostdin", "-hide_banner", "-loglevel", "error", "-nostats")


def tool(name: str) -> str:
    """The path of ``ffmpeg`` or ``ffprobe``; ``MISSING_DEPENDENCY`` with the install hint."""
    found = shutil.which(name)
    if found is None:
        raise MissingDependency(
            f"{name} is not installed; {INSTALL_HINT}", module=name, install_hint=INSTALL_HINT
        )
    return found


def demuxer(fmt: str, name: str = "", path: Path | None = None) -> str:
    """The demuxer allowed for files of ``fmt``; ``UNSUPPORTED_FORMAT`` for any other format.

    An ``.aac`` file is ``m4a`` to conversio, but is most often a raw ADTS stream, not MP4:
    given ``path``, such a stream is read with the ``aac`` demuxer.
    """
    media = FORMATS.get(fmt)
    if media is None:
        raise UnsupportedFormat(
            f"conversio-media does not read {fmt}" + (f" ({name})" if name else ""),
            format=fmt,
            supported=sorted(FORMATS),
        )
    if fmt == "m4a" and path is not None and is_adts(path):
        return ADTS_DEMUXER
    return media.demuxer


ADTS_DEMUXER = "aac"
#: ID3v2 tags before the audio are skipped up to this size (cover art can make them big).
_ID3_LIMIT = 64 * 1024 * 1024


def is_adts(path: Path) -> bool:
    """Whether ``path`` holds a raw AAC (ADTS) stream, after any ID3v2 tags."""
    try:
        with path.open("rb") as stream:
            offset = 0
            for _ in range(4):  # a few stacked tags at most
                head = stream.read(10)
                if len(head) < 10 or head[:3] != b"ID3" or any(b & 0x80 for b in head[6:10]):
                    break
                size = head[6] << 21 | head[7] << 14 | head[8] << 7 | head[9]  # 7 bits a byte
                offset += 10 + size + (10 if head[5] & 0x10 else 0)  # flag 0x10: a footer follows
                if offset > _ID3_LIMIT:
                    return False
                stream.seek(offset)
            stream.seek(offset)
            sync = stream.read(2)
    except OSError:
        return False
    return len(sync) == 2 and sync[0] == 0xFF and sync[1] & 0xF6 == 0xF0


def input_options(fmt: str, name: str, max_pixels: int, path: Path | None = None) -> dict[str, str]:
    """ffmpeg input options for a file of ``fmt``: ``-f`` and the two allow-lists, and the
    decoders' cap on the pixels of every frame (a stream can grow its frames midway)."""
    forced = demuxer(fmt, name, path)
    return {
        "f": forced,
        "format_whitelist": forced,
        "protocol_whitelist": PROTOCOLS,
        "max_pixels": str(max_pixels),
    }


def url(path: Path) -> str:
    """``file:`` and the absolute path: never taken for another protocol or an option."""
    return "file:" + str(path.resolve())


def clean_message(line: str) -> str:
    """An ffmpeg message without the ``file:/path:`` prefix (a server path the user need not see)."""
    if line.startswith("file:"):
        _, _, rest = line.partition(": ")
        return rest or line
    return line
