"""Inputs of the Gotenberg client tests and readers of what comes back: pages with their assets,
Markdown, PDFs made with pikepdf, a password-protected text document; the texts, page sizes,
rendered pixels, zip members and XMP values of the answers, and the client's refusals."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pypdfium2
import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from gotenberg_client import HttpStatusError
from pikepdf import Array, Dictionary, Name
from PIL import Image, ImageChops

#: What the client gives as the body of an answer.
Content = bytes | bytearray

#: Seconds the client waits for an answer.
TIMEOUT = 120.0

RED = (220, 30, 30)
ODT = "application/vnd.oasis.opendocument.text"

STYLE = "body { font-family: sans-serif; } h1 { color: #123456; } img { width: 200px; height: 100px; }"

PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Quarterly report</title>
<link rel="stylesheet" href="style.css"></head>
<body><h1>Quarterly report</h1><p>Revenue grew in every region.</p><img src="logo.png" alt="logo"></body>
</html>
"""

MARKDOWN = """# Harvest notes

| Fruit  | Crates |
|--------|--------|
| Apples | 42     |
| Pears  | 17     |

- [x] picked
- [ ] sold
"""

#: The index page of the markdown routes: Gotenberg's template renders the named file into it.
MARKDOWN_INDEX = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Harvest</title></head>
<body>{{ toHTML "harvest.md" }}</body></html>
"""


def document(body: str, *, style: str = "", title: str = "Page") -> str:
    """An HTML document around ``body``."""
    head = f'<meta charset="utf-8"><title>{title}</title><style>{style}</style>'
    return f"<!DOCTYPE html><html><head>{head}</head><body>{body}</body></html>"


def pages_html(*texts: str, style: str = "", title: str = "Page") -> str:
    """An HTML document with one page of text per entry (a page break after each but the last)."""
    breaks = ["always"] * (len(texts) - 1) + ["auto"]
    blocks = "".join(f'<p style="page-break-after: {b}">{t}</p>' for t, b in zip(texts, breaks, strict=True))
    return document(blocks, style=style, title=title)


def site(folder: Path) -> None:
    """index.html, style.css and logo.png (a red 200 × 100 image) written to ``folder``."""
    (folder / "index.html").write_text(PAGE)
    (folder / "style.css").write_text(STYLE)
    Image.new("RGB", (200, 100), RED).save(folder / "logo.png", "PNG")


def _font(pdf: pikepdf.Pdf) -> pikepdf.Object:
    return pdf.make_indirect(
        Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica, Encoding=Name.WinAnsiEncoding)
    )


def _text_page(pdf: pikepdf.Pdf, font: pikepdf.Object, text: str) -> pikepdf.Page:
    """A Letter page with ``text`` near its top."""
    content = f"BT /F1 24 Tf 72 692 Td ({text}) Tj ET".encode()
    return pikepdf.Page(
        Dictionary(
            Type=Name.Page,
            MediaBox=Array([0, 0, 612, 792]),
            Resources=Dictionary(Font=Dictionary(F1=font)),
            Contents=pdf.make_stream(content),
        )
    )


def _saved(pdf: pikepdf.Pdf) -> bytes:
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def text_pdf(*texts: str) -> bytes:
    """A PDF with one page of Helvetica text per entry."""
    pdf = pikepdf.new()
    font = _font(pdf)
    for text in texts:
        pdf.pages.append(_text_page(pdf, font, text))
    return _saved(pdf)


def locked_odt(text: str, password: str) -> bytes:
    """A text document whose content only ``password`` opens: ODF 1.2 encryption (AES-256-CBC, a
    PBKDF2 key from the password's SHA-256, the SHA-256 of the first 1 KiB as checksum)."""
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content office:version="1.2" '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0">'
        f"<office:body><office:text><text:p>{text}</text:p></office:text></office:body></office:document-content>"
    ).encode()
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    compressed = deflate.compress(content) + deflate.flush()
    salt, vector = os.urandom(16), os.urandom(16)
    key = hashlib.pbkdf2_hmac("sha1", hashlib.sha256(password.encode()).digest(), salt, 100_000, 32)
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(vector)).encryptor()
    sealed = encryptor.update(padder.update(compressed) + padder.finalize()) + encryptor.finalize()
    ns = "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<manifest:manifest xmlns:manifest="{ns}" manifest:version="1.2">'
        f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{ODT}"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml" '
        f'manifest:size="{len(content)}"><manifest:encryption-data manifest:checksum-type="{ns}#sha256-1k" '
        f'manifest:checksum="{_b64(hashlib.sha256(compressed[:1024]).digest())}">'
        '<manifest:algorithm manifest:algorithm-name="http://www.w3.org/2001/04/xmlenc#aes256-cbc" '
        f'manifest:initialisation-vector="{_b64(vector)}"/>'
        '<manifest:start-key-generation manifest:key-size="32" '
        'manifest:start-key-generation-name="http://www.w3.org/2000/09/xmldsig#sha256"/>'
        '<manifest:key-derivation manifest:key-derivation-name="PBKDF2" manifest:key-size="32" '
        f'manifest:iteration-count="100000" manifest:salt="{_b64(salt)}"/>'
        "</manifest:encryption-data></manifest:file-entry></manifest:manifest>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), ODT, compress_type=zipfile.ZIP_STORED)
        archive.writestr(zipfile.ZipInfo("content.xml"), sealed, compress_type=zipfile.ZIP_STORED)
        archive.writestr("META-INF/manifest.xml", manifest)
    return out.getvalue()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# -- reading results ---------------------------------------------------------------------------------


def page_texts(content: Content, password: str | None = None) -> list[str]:
    """The text of each page, without the whitespace around it."""
    document = pypdfium2.PdfDocument(content, password=password)
    return [document[n].get_textpage().get_text_range().strip() for n in range(len(document))]


def page_sizes(content: Content) -> list[tuple[float, float]]:
    document = pypdfium2.PdfDocument(content)
    return [document[n].get_size() for n in range(len(document))]


def rendered(content: Content, index: int = 0) -> Image.Image:
    """A page drawn at 36 dots per inch."""
    image: Image.Image = pypdfium2.PdfDocument(content)[index].render(scale=0.5).to_pil()
    return image.convert("RGB")


def count_close(image: Image.Image, colour: tuple[int, int, int], tolerance: int = 40) -> int:
    """How many pixels of ``image`` are within ``tolerance`` of ``colour`` on every channel."""
    masks = [
        band.point([255 if abs(value - wanted) <= tolerance else 0 for value in range(256)])
        for band, wanted in zip(image.convert("RGB").split(), colour, strict=True)
    ]
    close = ImageChops.multiply(ImageChops.multiply(masks[0], masks[1]), masks[2])
    return close.histogram()[255]


def first_char_box(content: Content) -> tuple[float, float, float, float]:
    """(left, bottom, right, top) in points of the first character of the first page."""
    box: tuple[float, float, float, float] = pypdfium2.PdfDocument(content)[0].get_textpage().get_charbox(0)
    return box


def zip_members(content: Content) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def xmp_value(content: Content, key: str) -> str | None:
    """A value of the PDF's XMP metadata, e.g. ``pdfaid:part``."""
    with pikepdf.open(io.BytesIO(content)) as pdf, pdf.open_metadata() as meta:
        value = meta.get(key)
        return None if value is None else str(value)


def pdfa_report(content: Content) -> tuple[str, str, bool, list[str]]:
    """The PDF's XMP ``pdfaid:part`` and ``pdfaid:conformance``, whether it has an output intent with
    an ICC profile, and the fonts whose program is not embedded (Type3 fonts have none)."""
    with pikepdf.open(io.BytesIO(content)) as pdf:
        meta = pdf.open_metadata()
        intents = pdf.Root.get("/OutputIntents", pikepdf.Array())
        profiled = any(isinstance(i.get("/DestOutputProfile"), pikepdf.Stream) for i in intents)
        fonts = [font for page in pdf.pages for font in page.Resources.get("/Font", {}).values()]
        described = [
            f.DescendantFonts[0] if f.Subtype == Name.Type0 else f for f in fonts if f.Subtype != Name.Type3
        ]
        bare = [
            str(font.BaseFont)
            for font in described
            if not {"/FontFile", "/FontFile2", "/FontFile3"} & set(font.get("/FontDescriptor", {}).keys())
        ]
        return str(meta.get("pdfaid:part")), str(meta.get("pdfaid:conformance")), profiled, bare


def image_of(content: Content) -> Image.Image:
    image = Image.open(io.BytesIO(content))
    image.load()
    return image


def refused(call: Callable[[], object], status: int) -> bytes:
    """Call ``call`` (a route's ``run``, a client method): the client raises for ``status``, and
    the answer is a message, never a traceback; its body."""
    with pytest.raises(HttpStatusError) as error:
        call()
    response = error.value.response
    assert response.status_code == status, f"{response.status_code}: {response.content[:2000]!r}"
    body = bytes(response.content)
    assert body.strip() and b"Traceback" not in body
    return body
