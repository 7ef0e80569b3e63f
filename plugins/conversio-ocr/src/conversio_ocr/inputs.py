"""What is checked of an input before OCRmyPDF starts: a PDF's pages, encryption, signatures
and forms, an image's size and resolution. Only headers and the document catalog are read."""

from __future__ import annotations

from pathlib import Path

import attrs
import pikepdf
from PIL import Image

from conversio.errors import (
    ConversioError,
    ConversionFailed,
    CorruptFile,
    EmptyFile,
    FileTooLarge,
    InvalidPassword,
)
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


@attrs.frozen
class PdfFacts:
    """What OCR needs to know of a PDF: its pages, whether it is tagged (for accessibility),
    has a fillable form, is digitally signed."""

    pages: int
    tagged: bool
    fillable: bool
    signed: bool


def inspect_pdf(path: Path, name: str, limits: Limits) -> PdfFacts:
    """The facts of the PDF at ``path``, refused when it cannot be OCRed: encrypted, an XFA
    form only Adobe Reader draws, damaged, or without 1 to ``limits.max_pages`` pages."""
    try:
        with pikepdf.open(path) as pdf:
            if pdf.is_encrypted:
                raise encrypted(name)
            root = pdf.Root
            form = root.get("/AcroForm", pikepdf.Dictionary())
            if bool(root.get("/NeedsRendering", False)):
                raise ConversionFailed(
                    f"{name} is a dynamic form (XFA) that only Adobe Reader can draw: it cannot be OCRed",
                    file=name,
                    final=True,
                )
            declared = root.get("/Pages", pikepdf.Dictionary()).get("/Count", 0)
            count = declared if isinstance(declared, int) and declared > limits.max_pages else len(pdf.pages)
            facts = PdfFacts(
                count,
                "/StructTreeRoot" in root,
                bool(form.get("/Fields")),
                bool(int(form.get("/SigFlags", 0)) & 1),
            )
    except ConversioError:
        raise
    except pikepdf.PasswordError:
        raise encrypted(name) from None
    except (pikepdf.PdfError, RuntimeError, ValueError, KeyError, TypeError, OSError):
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
    return facts


def image_dpi(path: Path, name: str, limits: Limits) -> float | None:
    """The resolution the image at ``path`` records: ``None`` if none, or a screen's (96 dpi or
    less, which OCRmyPDF does not trust). ``FILE_TOO_LARGE`` when its first frame has more than
    ``limits.max_pixels`` pixels."""
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
    return resolution if 96 < resolution <= 4800 else None
