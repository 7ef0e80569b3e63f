"""Generate the sample files of examples/ (used by scripts/demo.sh and the docs).

The files are committed; run this again only to change them:

    .venv/bin/python examples/make_samples.py

Everything is drawn from fixed numbers (no randomness, no clock), so the same Pillow
version writes the same bytes.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw

from conversio.testing.documents import PAGE_BREAK, docx_package

HERE = Path(__file__).resolve().parent
SIZE = (800, 600)
RGB = tuple[int, int, int]
ZIP_DATE = (2024, 1, 1, 12, 0, 0)


def gradient(size: tuple[int, int], top: RGB, bottom: RGB) -> Image.Image:
    """A vertical gradient from ``top`` to ``bottom``."""
    mask = Image.linear_gradient("L").resize(size)
    return Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top), mask)


def sunset() -> Image.Image:
    image = gradient(SIZE, (255, 120, 60), (60, 20, 90))
    draw = ImageDraw.Draw(image)
    draw.ellipse((330, 300, 470, 440), fill=(255, 220, 120))
    draw.rectangle((0, 400, 800, 600), fill=(20, 40, 80))
    for i in range(12):  # reflections on the water
        y = 415 + i * 15
        draw.line((360 - i * 6, y, 440 + i * 6, y), fill=(255, 190, 110), width=3)
    return image


def mountains() -> Image.Image:
    image = gradient(SIZE, (110, 170, 230), (225, 240, 250))
    draw = ImageDraw.Draw(image)
    draw.polygon(
        [(0, 600), (0, 380), (180, 170), (330, 330), (470, 140), (800, 420), (800, 600)], fill=(80, 90, 110)
    )
    draw.polygon([(150, 210), (180, 170), (215, 215), (195, 205), (175, 220)], fill=(245, 245, 250))
    draw.polygon([(430, 190), (470, 140), (515, 195), (490, 185), (460, 200)], fill=(245, 245, 250))
    draw.rectangle((0, 520, 800, 600), fill=(60, 120, 60))
    draw.ellipse((620, 60, 700, 140), fill=(255, 250, 210))
    return image


def harbour() -> Image.Image:
    image = gradient(SIZE, (200, 215, 235), (40, 80, 120))
    draw = ImageDraw.Draw(image)
    for i, colour in enumerate([(180, 60, 50), (230, 200, 80), (70, 130, 180), (240, 240, 240)]):
        x = 80 + i * 170
        draw.rectangle((x, 250, x + 120, 420), fill=colour)  # houses
        draw.polygon([(x - 10, 250), (x + 60, 190), (x + 130, 250)], fill=(90, 50, 40))
    draw.rectangle((0, 420, 800, 600), fill=(30, 60, 100))
    draw.polygon([(300, 480), (500, 480), (470, 520), (330, 520)], fill=(250, 250, 250))  # a boat
    draw.line((400, 400, 400, 480), fill=(60, 40, 30), width=4)
    return image


def page(number: int) -> Image.Image:
    """A scanned page: grey paper, a heading, lines of 'text' and a page number."""
    image = Image.new("L", (600, 800), 235)
    draw = ImageDraw.Draw(image)
    draw.rectangle((60, 60, 60 + 120 * number, 90), fill=40)
    for line in range(22):
        width = 480 - (line * 37 + number * 53) % 160
        draw.rectangle((60, 130 + line * 26, 60 + width, 142 + line * 26), fill=90)
    draw.text((290, 750), str(number), fill=20)
    return image


_CHAPTERS = (
    ("Quarterly report", "Sales grew in every region. The harbour office opened in March."),
    ("Operations", "Two new conversion servers run the document pipeline on their own hardware."),
    ("Outlook", "Next quarter brings the archive migration and a review of retention rules."),
)


def report_docx() -> bytes:
    """A 3-page Word document (one chapter a page), written as plain WordprocessingML."""

    def run(text: str, size: int, bold: bool = False) -> str:
        props = f'<w:rPr>{"<w:b/>" if bold else ""}<w:sz w:val="{size}"/></w:rPr>'
        return f"<w:r>{props}<w:t>{text}</w:t></w:r>"

    body = []
    for number, (title, text) in enumerate(_CHAPTERS, 1):
        body.append(f"<w:p>{run(f'{number}. {title}', 48, bold=True)}</w:p>")
        body.extend(f"<w:p>{run(text, 24)}</w:p>" for _ in range(6))
        if number < len(_CHAPTERS):
            body.append(PAGE_BREAK)
    return docx_package(body)


_ODP_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" office:version="1.2"'
)
_ODP_TYPE = "application/vnd.oasis.opendocument.presentation"


def slides_odp() -> bytes:
    """A 3-slide OpenDocument presentation, one title per slide."""
    pages = "".join(
        f'<draw:page draw:name="s{n}"><draw:frame svg:x="2cm" svg:y="2cm" svg:width="22cm" svg:height="4cm">'
        f"<draw:text-box><text:p>{n}. {title}</text:p></draw:text-box></draw:frame></draw:page>"
        for n, (title, _) in enumerate(_CHAPTERS, 1)
    )
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODP_NS}>'
        f"<office:body><office:presentation>{pages}</office:presentation></office:body>"
        "</office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{_ODP_TYPE}"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(
            zipfile.ZipInfo("mimetype", date_time=ZIP_DATE), _ODP_TYPE, compress_type=zipfile.ZIP_STORED
        )
        zf.writestr(zipfile.ZipInfo("META-INF/manifest.xml", date_time=ZIP_DATE), manifest)
        zf.writestr(zipfile.ZipInfo("content.xml", date_time=ZIP_DATE), content)
    return buffer.getvalue()


FIGURES_CSV = "region,quarter,sales\nNorth,Q1,120\nSouth,Q1,95\nHarbour,Q1,40\nNorth,Q2,131\nSouth,Q2,102\n"


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def main() -> None:
    files: dict[str, Callable[[], bytes]] = {
        "sunset.jpg": lambda: encode(sunset(), "JPEG", quality=82, optimize=True),
        "mountains.png": lambda: encode(mountains(), "PNG", optimize=True),
        "harbour.jpg": lambda: encode(harbour(), "JPEG", quality=82, optimize=True),
    }
    written: dict[str, bytes] = {name: make() for name, make in files.items()}
    pages = [page(n) for n in (1, 2, 3)]
    written["scan.tiff"] = encode(
        pages[0], "TIFF", save_all=True, append_images=pages[1:], compression="tiff_deflate"
    )

    album = io.BytesIO()
    with zipfile.ZipFile(album, "w") as zf:
        for name in ("sunset.jpg", "mountains.png", "harbour.jpg"):
            info = zipfile.ZipInfo(f"album/{name}", date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_STORED  # already compressed
            zf.writestr(info, written[name])
    written["album.zip"] = album.getvalue()
    written["report.docx"] = report_docx()
    written["slides.odp"] = slides_odp()
    written["figures.csv"] = FIGURES_CSV.encode()

    for name, data in written.items():
        (HERE / name).write_bytes(data)
        print(f"{name:14} {len(data):>8} bytes")
    print(f"{'total':14} {sum(map(len, written.values())):>8} bytes")


if __name__ == "__main__":
    main()
