"""Make examples/scan.pdf: a small office scan of two pages of known English text.

The file is committed (``make demo`` OCRs it); run this again only to change it:

    .venv/bin/python scripts/make_scan_sample.py [--out examples/scan.pdf] [--dpi 200]

Each page is typeset with Pillow's built-in font at ``--dpi`` on A4, then made to look
scanned: an off-white, uneven paper tone, a slight skew, a little blur, light noise and dust,
grayscale JPEG; img2pdf wraps the pages as an image-only PDF (no text layer). Every random
choice comes from a fixed seed, so the same Pillow and img2pdf versions write the same bytes.
"""

from __future__ import annotations

import argparse
import io
import random
from collections.abc import Sequence
from pathlib import Path

import img2pdf  # type: ignore[import-untyped]
from PIL import Image, ImageDraw, ImageFilter, ImageFont

ROOT = Path(__file__).resolve().parent.parent
A4_INCHES = (8.27, 11.69)
SEED = 2026
QUALITY = 45

#: The text of each page: a title, then paragraphs. Tests and the demo look for these words.
PAGES = (
    (
        "Harbour Office Annual Report",
        "The harbour office welcomed twelve new vessels this year and repaired the northern pier "
        "before the winter storms arrived.",
        "Cargo traffic grew by eight percent, mostly timber, grain and machinery bound for the "
        "inland markets along the river.",
        "The board thanks every pilot, engineer and clerk whose careful work kept the port open "
        "through the longest frost in a decade.",
    ),
    (
        "Plans for the Coming Season",
        "A second crane will be installed on the eastern quay in spring, and the old warehouse "
        "will become a museum of local shipbuilding.",
        "Visitors may book guided walks along the breakwater every Saturday morning from April "
        "until the end of September.",
        "Questions about moorings and fees should be sent to the harbour master in writing.",
    ),
)


def wrap(
    draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int
) -> list[str]:
    """``text`` broken into lines no wider than ``width`` pixels."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if line and draw.textlength(candidate, font=font) > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    return [*lines, line] if line else lines


def typeset(title: str, paragraphs: Sequence[str], dpi: int) -> Image.Image:
    """A clean white page: the title in large type, then the paragraphs (12 pt) with 1-inch margins."""
    size = (round(A4_INCHES[0] * dpi), round(A4_INCHES[1] * dpi))
    page = Image.new("L", size, 255)
    draw = ImageDraw.Draw(page)
    points = dpi / 72
    heading = ImageFont.load_default(size=round(20 * points))
    body = ImageFont.load_default(size=round(12 * points))
    margin = dpi
    y = margin
    draw.text((margin, y), title, font=heading, fill=20)
    y += round(20 * points * 2)
    for paragraph in paragraphs:
        for line in wrap(draw, paragraph, body, size[0] - 2 * margin):
            draw.text((margin, y), line, font=body, fill=25)
            y += round(12 * points * 1.5)
        y += round(12 * points)
    return page


def scanned(page: Image.Image, rng: random.Random) -> Image.Image:
    """``page`` as a flatbed scanner gives it back: paper tone, skew, blur, noise and dust."""
    skewed = page.rotate(rng.uniform(-1.5, 1.5), resample=Image.Resampling.BICUBIC, fillcolor=255)
    blurred = skewed.filter(ImageFilter.GaussianBlur(0.6))
    tone = Image.linear_gradient("L").resize(page.size).point(lambda v: 236 + v * 12 // 255)
    paper = Image.composite(blurred, tone, blurred.point(lambda v: 255 - v))  # ink over the paper
    noise = Image.frombytes("L", page.size, rng.randbytes(page.width * page.height))
    noisy = Image.blend(paper, noise, 0.05)
    draw = ImageDraw.Draw(noisy)
    width, height = page.size
    for _ in range(60):  # dust specks
        x, y, r = rng.randrange(width), rng.randrange(height), rng.uniform(0.8, 2.2)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=rng.randrange(60, 150))
    return noisy


def jpeg(image: Image.Image, dpi: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=QUALITY, optimize=True, dpi=(dpi, dpi))
    return out.getvalue()


def scan_pdf(dpi: int = 200, seed: int = SEED) -> bytes:
    """The image-only PDF of :data:`PAGES`, scanned at ``dpi``."""
    rng = random.Random(seed)
    images = [jpeg(scanned(typeset(title, body, dpi), rng), dpi) for title, *body in PAGES]
    layout = img2pdf.get_fixed_dpi_layout_fun((dpi, dpi))
    pdf: bytes = img2pdf.convert(images, layout_fun=layout, nodate=True, engine=img2pdf.Engine.internal)
    return pdf


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "examples" / "scan.pdf")
    parser.add_argument("--dpi", type=int, default=200)
    args = parser.parse_args(argv)
    data = scan_pdf(args.dpi)
    args.out.write_bytes(data)
    print(f"{args.out}: {len(data) / 1024:.0f} KB, {len(PAGES)} pages at {args.dpi} dpi")


if __name__ == "__main__":
    main()
