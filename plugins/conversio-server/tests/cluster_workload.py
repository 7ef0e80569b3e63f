"""The multi-node test's work: mostly image conversions, some PDF operations, a few Word documents to
PDF; every input different from the others (so no two jobs share a cached result), sent inline in
base64; and what each job's outputs must be (decoded images of the right format and size, PDFs with
the right number of pages)."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from typing import Any

import attrs
from server_samples import pdf_bytes, png_bytes

from conversio.testing.documents import pages_docx

#: Pillow's name of each image format the jobs produce.
IMAGE_FORMATS = {"jpg": "JPEG", "gif": "GIF", "webp": "WEBP", "bmp": "BMP", "png": "PNG"}
PDF_PAGE = (120, 160)


@attrs.frozen
class Expected:
    """One output: an image of ``format`` (and ``size`` when given), or a PDF of ``pages`` pages."""

    format: str
    size: tuple[int, int] | None = None
    pages: int | None = None


@attrs.frozen
class Work:
    """A job to submit: its request (without ``webhook``) and its outputs, in order."""

    request: dict[str, Any]
    outputs: tuple[Expected, ...]


def inline(name: str, content: bytes) -> dict[str, str]:
    return {"base64": base64.b64encode(content).decode(), "name": name}


def image_job(n: int) -> Work:
    """``png`` → one of four formats, in a size no other job uses."""
    target = ("jpg", "gif", "webp", "bmp")[n % 4]
    size = (16 + n, 12 + n % 9)
    content = png_bytes(size, (n * 37 % 256, n * 11 % 256, 90))
    return Work({"inputs": [inline(f"i{n}.png", content)], "outputFormat": target}, (Expected(target, size),))


def _pdf(n: int, pages: int) -> bytes:
    return pdf_bytes(pages, (PDF_PAGE[0] + 2 * n, PDF_PAGE[1]))


def _split(n: int, pages: int) -> Work:
    request = {"inputs": [inline(f"p{n}.pdf", _pdf(n, pages))], "then": ["split"]}
    return Work(request, tuple(Expected("pdf", pages=1) for _ in range(pages)))


def _rotate(n: int, pages: int) -> Work:
    steps = [{"step": "rotate", "options": {"angle": 90}}]
    return Work(
        {"inputs": [inline(f"p{n}.pdf", _pdf(n, pages))], "then": steps}, (Expected("pdf", pages=pages),)
    )


def _merge(n: int, pages: int) -> Work:
    inputs = [inline(f"p{n}a.pdf", _pdf(n, pages)), inline(f"p{n}b.pdf", _pdf(n, 1))]
    return Work({"inputs": inputs, "then": ["merge"]}, (Expected("pdf", pages=pages + 1),))


def _extract(n: int, pages: int) -> Work:
    steps = [{"step": "extract-pages", "options": {"pages": f"{pages},1"}}]
    return Work({"inputs": [inline(f"p{n}.pdf", _pdf(n, pages))], "then": steps}, (Expected("pdf", pages=2),))


def _watermark(n: int, pages: int) -> Work:
    steps = [{"step": "watermark", "options": {"text": f"copy {n}"}}]
    return Work(
        {"inputs": [inline(f"p{n}.pdf", _pdf(n, pages))], "then": steps}, (Expected("pdf", pages=pages),)
    )


def _rasterize(n: int, pages: int) -> Work:
    request = {"inputs": [inline(f"p{n}.pdf", _pdf(n, pages))], "outputFormat": "png", "options": {"dpi": 36}}
    size = ((PDF_PAGE[0] + 2 * n) // 2, PDF_PAGE[1] // 2)  # half the points at 36 dpi
    return Work(request, tuple(Expected("png", size) for _ in range(pages)))


PDF_OPERATIONS: tuple[Callable[[int, int], Work], ...] = (
    _split,
    _rotate,
    _merge,
    _extract,
    _watermark,
    _rasterize,
)


def pdf_job(n: int) -> Work:
    """One of six PDF operations on a PDF of 2 to 4 pages (its page width unique to the job)."""
    return PDF_OPERATIONS[n % len(PDF_OPERATIONS)](n, 2 + n % 3)


def docx_job(n: int) -> Work:
    """A Word document of two pages → PDF (LibreOffice)."""
    content = pages_docx([f"Report {n}, first page", f"Report {n}, second page"])
    return Work(
        {"inputs": [inline(f"d{n}.docx", content)], "outputFormat": "pdf"}, (Expected("pdf", pages=2),)
    )


def workload(images: int, pdfs: int, docs: int) -> list[Work]:
    """``images`` + ``pdfs`` + ``docs`` jobs, the slow ones spread through the queue."""
    slow: list[Work] = [pdf_job(images + n) for n in range(pdfs)]
    for n in reversed(range(docs)):  # the slowest spread evenly too, so some run at any time
        slow.insert(n * len(slow) // max(1, docs), docx_job(n))
    fast = [image_job(n) for n in range(images)]
    every = max(1, len(fast) // max(1, len(slow)))
    mixed: list[Work] = []
    for n, work in enumerate(fast):
        mixed.append(work)
        if n % every == every - 1 and slow:
            mixed.append(slow.pop(0))
    return mixed + slow


def check_output(content: bytes, expected: Expected) -> None:
    """``content`` decodes as ``expected`` says (an ``AssertionError`` tells what differs)."""
    if expected.format == "pdf":
        import pikepdf

        with pikepdf.open(io.BytesIO(content)) as pdf:
            assert len(pdf.pages) == expected.pages, (len(pdf.pages), expected)
        return
    from PIL import Image

    with Image.open(io.BytesIO(content)) as image:
        image.load()
        assert image.format == IMAGE_FORMATS[expected.format], (image.format, expected)
        assert expected.size is None or image.size == expected.size, (image.size, expected)
