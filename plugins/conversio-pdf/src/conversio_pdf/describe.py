"""The describe operation (pdf → json): what a PDF holds (pages, metadata, form fields, attachments).

The layout is versioned (``"version": 1``): keys are only ever added within a version.
Nothing in the document is decoded beyond what the description needs: attachments are
listed with the size the PDF declares, not inflated.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pikepdf

from conversio.converters import ConversionRequest, Output, with_extension
from conversio.errors import FileTooLarge
from conversio_pdf.attachments import list_attachments
from conversio_pdf.documents import open_pdf
from conversio_pdf.fields import form_kind, list_fields
from conversio_pdf.xmp import read_xmp

#: The version of the description's layout.
VERSION = 1


def describe(request: ConversionRequest) -> list[Output]:
    """The description of the PDF as ``<stem>.json``."""
    source = request.input
    with open_pdf(source.path, source.name, request.options.get("password"), request.limits) as pdf:
        description = describe_pdf(pdf, source.name)
    text = json.dumps(description, indent=2, ensure_ascii=False) + "\n"
    return [request.write(with_extension(source.name, "json"), lambda stream: stream.write(text.encode()))]


def describe_pdf(pdf: pikepdf.Pdf, name: str) -> dict[str, Any]:
    """The description of the open PDF ``pdf`` (the file ``name``)."""
    warnings: list[str] = []
    try:
        xmp, pdfa, damaged_xmp = read_xmp(pdf, name)
    except FileTooLarge as exc:
        xmp, pdfa, damaged_xmp = None, None, False
        warnings.append(exc.message)
    if damaged_xmp:
        warnings.append(f"{name}: its XMP metadata is damaged; what could be read of it is given")
    return {
        "version": VERSION,
        "file": name,
        "pdf_version": pdf.pdf_version,
        "encrypted": pdf.is_encrypted,
        "tagged": _tagged(pdf),
        "pdfa": pdfa,
        "pages": [_page(page) for page in pdf.pages],
        "info": _info(pdf),
        "xmp": xmp,
        "form": {"type": form_kind(pdf), "fields": list_fields(pdf, name)},
        "attachments": list_attachments(pdf),
        "warnings": warnings,
    }


def _tagged(pdf: pikepdf.Pdf) -> bool:
    """Whether the PDF says it is tagged (a structure tree, marked as such)."""
    mark = pdf.Root.get("/MarkInfo")
    marked = isinstance(mark, pikepdf.Dictionary) and bool(mark.get("/Marked", False))
    return marked and "/StructTreeRoot" in pdf.Root


def _page(page: pikepdf.Page) -> dict[str, Any]:
    """A page's size in points (its crop box, as viewers show it; null when that is no box)
    and its rotation."""
    box = page.cropbox
    numbers = [float(value) for value in box if isinstance(value, int | float | Decimal)]
    width = round(abs(numbers[2] - numbers[0]), 2) if len(numbers) == len(box) == 4 else None
    height = round(abs(numbers[3] - numbers[1]), 2) if width is not None else None
    rotate = page.obj.get("/Rotate", 0)
    return {
        "width": width,
        "height": height,
        "rotate": int(rotate) % 360 if isinstance(rotate, int) else 0,
    }


def _info(pdf: pikepdf.Pdf) -> dict[str, str]:
    """The document information dictionary's text entries, by key without the slash."""
    info = pdf.trailer.get("/Info")
    if not isinstance(info, pikepdf.Dictionary):
        return {}
    return {str(key)[1:]: str(value) for key, value in info.items() if isinstance(value, pikepdf.String)}
