"""What is checked of an input before OCRmyPDF starts: a PDF's pages and encryption, an
image's size and resolution. Only headers and the page tree are read."""

from __future__ import annotations

from pathlib import Path

import pikepdf
from PIL import Image

from conversio.errors import ConversioError, CorruptFile, EmptyFile, FileTooLarge, InvalidPassword
from conversio.limits import Limits


def encrypted(name: str) -> InvalidPassword:
    """The refusal of an encrypted PDF (OCR would have to drop its encryption)."""
    return InvalidPassword(
        f"{name} is encrypted: decrypt it first (the pdf plugin's decrypt operation, with its "
        "password if it has one), then OCR it",
        file=name,
        encrypted=True,
    )


def damaged(name: str) -> CorruptFile:
    return CorruptFile(
        f"{name} is damaged or not a readable file: get a complete copy, or export it again", file=name
    )


def pdf_pages(path: Path, name: str, limits: Limits) -> int:
    """The page count of the PDF at ``path``: 1 to ``limits.max_pages``, not encrypted."""
    try:
        with pikepdf.open(path) as pdf:
            if pdf.is_encrypted:
                raise encrypted(name)
            declared = pdf.Root.get("/Pages", pikepdf.Dictionary()).get("/Count", 0)
            count = declared if isinstance(declared, int) and declared > limits.max_pages else len(pdf.pages)
    except ConversioError:
        raise
    except pikepdf.PasswordError:
        raise encrypted(name) from None
    except (pikepdf.PdfError, RuntimeError, ValueError, KeyError, OSError):
        raise damaged(name) from None
    if count > limits.max_pages:
        raise FileTooLarge(
            f"{name} has {count} pages, more than the limit of {limits.max_pages}",
            file=name,
            pages=count,
            limit=limits.max_pages,
        )
    if count == 0:
        raise EmptyFile(f"{name} has no pages: there is nothing to OCR", file=name)
    return count


def image_dpi(path: Path, name: str, limits: Limits) -> float | None:
    """The resolution the image at ``path`` records (``None`` if none, or an implausible one);
    ``FILE_TOO_LARGE`` when its first frame has more than ``limits.max_pixels`` pixels."""
    try:
        with Image.open(path) as image:
            width, height = image.size
            dpi = image.info.get("dpi")
    except Image.DecompressionBombError:
        width, height, dpi = limits.max_pixels, 2, None
    except (OSError, ValueError, SyntaxError):
        raise damaged(name) from None
    if width * height > limits.max_pixels:
        raise FileTooLarge(
            f"{name} is too large to OCR: more than {limits.max_pixels:,} pixels",
            file=name,
            limit="pixels",
        )
    try:
        resolution = float(min(dpi)) if dpi else 0.0
    except (TypeError, ValueError):
        resolution = 0.0
    return resolution if 10 <= resolution <= 4800 else None
