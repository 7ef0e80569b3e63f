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


def demuxer(fmt: str, name: str = "") -> str:
    """The demuxer allowed for files of ``fmt``; ``UNSUPPORTED_FORMAT`` for any other format."""
    media = FORMATS.get(fmt)
    if media is None:
        raise UnsupportedFormat(
            f"conversio-media does not read {fmt}" + (f" ({name})" if name else ""),
            format=fmt,
            supported=sorted(FORMATS),
        )
    return media.demuxer


def input_options(fmt: str, name: str, max_pixels: int) -> dict[str, str]:
    """ffmpeg input options for a file of ``fmt``: ``-f`` and the two allow-lists, and the
    decoders' cap on the pixels of every frame (a stream can grow its frames midway)."""
    forced = demuxer(fmt, name)
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
