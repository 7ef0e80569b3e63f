"""Pages of known text rendered with Pillow (as a scanner would see them), and PDFs of them."""

from __future__ import annotations

import io
import random
from pathlib import Path

import img2pdf  # type: ignore[import-untyped]
import pikepdf
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONTS = {
    "DejaVu Sans": "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "DejaVu Serif": "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "Liberation Serif": "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf",
    "Liberation Sans": "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
}
ENGLISH = [
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "Invoices must be paid within thirty days of the date of issue.",
    "Please send the signed contract back to our office by Friday.",
    "Our meeting about the annual budget moved to the second floor.",
    "Every scanned page becomes searchable once its text is recognised.",
]
GERMAN = [
    "Die Rechnung über fünf Größen wurde gestern pünktlich bezahlt.",
    "Bitte schicken Sie die unterschriebenen Verträge bis Freitag zurück.",
    "Äußerst schöne Grüße aus München an alle Kolleginnen und Kollegen.",
]


def render(
    lines: list[str],
    font: str = "DejaVu Sans",
    points: float = 12,
    dpi: int = 300,
    inches: tuple[float, float] = (6.5, 4),
) -> Image.Image:
    """A white page (``inches`` wide and high) with ``lines`` in ``font`` at ``points`` points,
    as a greyscale image at ``dpi``."""
    size = (int(inches[0] * dpi), int(inches[1] * dpi))
    page = Image.new("L", size, 255)
    draw = ImageDraw.Draw(page)
    face = ImageFont.truetype(FONTS[font], round(points * dpi / 72))
    y = 0.4 * dpi
    for line in lines:
        draw.text((0.35 * dpi, y), line, font=face, fill=0)
        y += points * 1.6 * dpi / 72
    page.info["dpi"] = (dpi, dpi)
    return page


def scanned(page: Image.Image, degrees: float, seed: int = 7) -> Image.Image:
    """``page`` as a scanner gives it back: turned ``degrees`` (counter-clockwise), slightly
    blurred, with salt-and-pepper specks."""
    turned = page.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255)
    blurred = turned.filter(ImageFilter.GaussianBlur(0.6))
    pixels = blurred.load()
    assert pixels is not None
    chance = random.Random(seed)
    width, height = blurred.size
    for _ in range(width * height // 400):
        pixels[chance.randrange(width), chance.randrange(height)] = chance.choice((0, 255))
    blurred.info["dpi"] = page.info["dpi"]
    return blurred


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **({"dpi": image.info["dpi"]} if "dpi" in image.info else {}))
    return buffer.getvalue()


def image_pdf(path: Path, pages: list[Image.Image]) -> Path:
    """An image-only PDF (a scan): a page per image, its size from the image's dpi (img2pdf)."""
    path.write_bytes(img2pdf.convert([png_bytes(page) for page in pages]))
    return path


def tiff(path: Path, pages: list[Image.Image]) -> Path:
    """A (multi-page) TIFF of ``pages``, compressed losslessly."""
    first, *rest = pages
    first.save(
        path, "TIFF", save_all=True, append_images=rest, compression="tiff_deflate", dpi=first.info["dpi"]
    )
    return path


def text_pdf(path: Path, lines: list[str], scan: Image.Image | None = None) -> Path:
    """A PDF whose first page has real text (Helvetica) and, with ``scan``, a second page that
    is only that picture."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
        )
    )
    shown = b"".join(b"(%s) Tj 0 -20 Td " % line.encode("latin-1") for line in lines)
    page = pdf.add_blank_page(page_size=(396, 306))
    page.obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
    page.obj.Contents = pdf.make_stream(b"BT /F1 12 Tf 30 270 Td " + shown + b"ET")
    if scan is not None:
        with pikepdf.open(io.BytesIO(img2pdf.convert(png_bytes(scan)))) as picture:
            pdf.pages.append(picture.pages[0])
    pdf.save(path)
    return path
