"""``confirm_format``: does a file really read as a PDF?

Measured (PDFium 7.x): PDFium opens a file whose ``%PDF-`` header starts within its first
1024 bytes (junk before it, such as an HTTP header or a BOM, is skipped) and no further, as
other readers. The answer reads that much of the file and nothing else: sniffing runs in the
process that takes uploads, where no engine parses a hostile file.
"""

from __future__ import annotations

from pathlib import Path

HEADER = b"%PDF-"
#: where PDF readers look for the header
READER_WINDOW = 1024


def confirm(path: Path, fmt: str) -> bool | None:
    """True when ``path`` reads as a PDF, False when not, None when ``fmt`` is not ``pdf``."""
    if fmt != "pdf":
        return None
    try:
        with path.open("rb") as stream:
            head = stream.read(READER_WINDOW)
    except OSError:
        return False
    return HEADER in head
