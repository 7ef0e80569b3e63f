"""PDF pages rendered to images with PDFium, one page at a time."""

from __future__ import annotations

import math
from pathlib import PurePosixPath
from typing import Any

from conversio.converters import ConversionRequest, Output
from conversio.errors import FileTooLarge
from conversio.pages import parse_pages
from conversio_pdf.documents import damaged_pages
from conversio_pdf.page_ranges import page_list
from conversio_pdf.pdfium import open_document, page_label

_PILLOW = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP", "tiff": "TIFF"}


def _save_params(target: str, options: dict[str, Any]) -> dict[str, Any]:
    dpi = options["dpi"]
    params: dict[str, Any] = {"dpi": (dpi, dpi)}
    if target in ("jpg", "webp"):
        params["quality"] = options["quality"]
    if target == "png":
        params["compress_level"] = 6
    if target == "tiff":
        params["compression"] = "tiff_deflate"
    return params


def rasterise(request: ConversionRequest) -> list[Output]:
    """One image per chosen page, in page order: ``<stem>-page001.<ext>``, ..."""
    source, target, options = request.input, request.target, request.options
    scale = options["dpi"] / 72
    stem = PurePosixPath(source.name).stem or "document"
    outputs = []
    with open_document(request, source) as document:
        total = len(document)
        indexes = parse_pages(options.get("pages"), total)
        if len(indexes) > request.limits.max_pages:
            raise FileTooLarge(
                f"{len(indexes)} pages asked for, more than the limit of {request.limits.max_pages}",
                pages=len(indexes),
                limit=request.limits.max_pages,
            )
        for index in indexes:
            width, height = document.get_page_size(index)
            pixels = math.ceil(width * scale) * math.ceil(height * scale)
            if pixels > request.limits.max_pixels:
                raise FileTooLarge(
                    f"page {index + 1} of {source.name} would be {pixels} pixels at {options['dpi']} dpi, "
                    f"more than the limit of {request.limits.max_pixels}; use a lower dpi",
                    page=index + 1,
                    pixels=pixels,
                    limit=request.limits.max_pixels,
                )
        params = _save_params(target, options)
        for done, index in enumerate(indexes):
            page = document[index]
            try:
                bitmap = page.render(scale=scale, grayscale=options["grayscale"], may_draw_forms=True)
                try:
                    image = bitmap.to_pil()
                    if image.mode not in ("RGB", "L"):
                        image = image.convert("RGB")
                    out = request.output(f"{stem}-{page_label(index, total)}.{target}")
                    image.save(out.path, _PILLOW[target], **params)
                finally:
                    bitmap.close()
                outputs.append(out)
            finally:
                page.close()
            request.progress((done + 1) / len(indexes), f"page {index + 1} of {total}")
    numbers = [index + 1 for index in indexes]
    broken = damaged_pages(source.path, source.name, options.get("password"), numbers, rebuilt_counts=False)
    if broken:
        blank = "it is" if len(broken) == 1 else "they are"
        request.warn(
            f"{source.name} is damaged: the content of {page_list(broken)} cannot be read; "
            f"{blank} blank in the images"
        )
    return outputs
