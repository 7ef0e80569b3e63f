"""``confirm_format``: does a file really read as a PDF?

Measured (PDFium 7.x, qpdf 12): PDFium opens a file whose ``%PDF-`` header starts within
its first 1024 bytes (junk before it, such as an HTTP header or a BOM, is skipped) and no
further; qpdf recovers a header further on, and the converters then work on qpdf's
rewrite. So a header in the first KiB is enough; one later in the first 64 KiB counts
when qpdf finds pages behind it (tens of milliseconds even for a large file).
"""

from __future__ import annotations

from pathlib import Path

HEADER = b"%PDF-"
#: where PDF readers look for the header
READER_WINDOW = 1024
#: how far into a file a header recovered by qpdf is looked for
RECOVERY_WINDOW = 64 * 1024
#: a larger file with a late header is not worth a full qpdf scan
RECOVERY_MAX_SIZE = 256 * 1024 * 1024


def confirm(path: Path, fmt: str) -> bool | None:
    """True when ``path`` reads as a PDF, False when not, None when ``fmt`` is not ``pdf``."""
    if fmt != "pdf":
        return None
    try:
        with path.open("rb") as stream:
            head = stream.read(RECOVERY_WINDOW)
            size = path.stat().st_size
    except OSError:
        return False
    offset = head.find(HEADER)
    if offset < 0:
        return False
    if offset + len(HEADER) <= READER_WINDOW:
        return True
    return size <= RECOVERY_MAX_SIZE and _qpdf_finds_pages(path)


def _qpdf_finds_pages(path: Path) -> bool:
    import pikepdf  # loaded only for a file whose header is late

    try:
        with pikepdf.open(path) as pdf:
            return len(pdf.pages) > 0
    except pikepdf.PasswordError:
        return True  # an encrypted PDF is a PDF
    except (pikepdf.PdfError, RuntimeError, ValueError, OSError):
        return False
