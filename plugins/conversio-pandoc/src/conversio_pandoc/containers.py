"""Word, OpenDocument and EPUB files are zips: their directory is checked before Pandoc reads
them, so a damaged file is ``CORRUPT_FILE`` naming it and a zip bomb is refused unread.

The sizes checked are the ones the zip declares; a zip that lies about them still meets
Pandoc's heap cap.
"""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath

from conversio.errors import CorruptFile, FileTooLarge
from conversio.limits import Limits

#: Compression ratios only count past this many unpacked bytes (a small document of text
#: compresses far more than any limit, harmlessly).
RATIO_FLOOR = 16 * 1024 * 1024
IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".svg", ".webp", ".emf", ".wmf"}
)


def check_container(path: Path, name: str, limits: Limits) -> int:
    """Check the zip at ``path`` (the user's ``name``) against ``limits``; the number of images
    it holds."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise CorruptFile(f"{name} is damaged: its content cannot be unpacked", file=name) from None
    if len(members) > limits.max_members:
        raise FileTooLarge(
            f"{name} holds more than {limits.max_members} parts (max_members)", limit="max_members"
        )
    unpacked = sum(member.file_size for member in members)
    allowed = max(RATIO_FLOOR, int(limits.max_compression_ratio * path.stat().st_size))
    if unpacked > min(limits.max_unpacked_size, allowed):
        raise FileTooLarge(
            f"{name} unpacks to {unpacked // (1024 * 1024)} MiB, more than the limit allows "
            "(max_unpacked_size, max_compression_ratio)",
            limit="max_unpacked_size",
        )
    return sum(_is_image(PurePosixPath(m.filename)) for m in members)


def _is_image(path: PurePosixPath) -> bool:
    """Whether a member is a picture of the document (not a Word file's thumbnail)."""
    return path.suffix.lower() in IMAGE_SUFFIXES and path.parts[0] != "docProps"
