"""Small input files generated in memory."""

from __future__ import annotations

import io

from conversio.testing.documents import pages_docx


def png_bytes(size: tuple[int, int] = (64, 48), colour: tuple[int, int, int] = (200, 30, 40)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def pdf_bytes(pages: int, size: tuple[int, int] = (120, 160)) -> bytes:
    """A PDF of ``pages`` pages, each a flat colour."""
    from PIL import Image

    images = [Image.new("RGB", size, (40 * i % 256, 90, 160)) for i in range(pages)]
    buffer = io.BytesIO()
    images[0].save(buffer, "PDF", save_all=True, append_images=images[1:], resolution=72)
    return buffer.getvalue()


def docx_bytes(text: str) -> bytes:
    """A minimal Word document with one paragraph."""
    return pages_docx([text])
