"""Sample PDFs for conversio-pdf's tests: real documents written with pikepdf, and hostile ones by hand."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import pikepdf

A4 = (595.0, 842.0)


def make_pdf(
    path: Path,
    pages: int = 3,
    size: tuple[float, float] = A4,
    words: Sequence[str] = (),
) -> Path:
    """A PDF of ``pages`` pages; page n shows "Page n" and ``words[n-1]`` (when given) in Helvetica."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
        )
    )
    for n in range(1, pages + 1):
        label = f"Page {n}" + (f" {words[n - 1]}" if n <= len(words) else "")
        content = f"BT /F1 24 Tf 72 {size[1] - 100:g} Td ({label}) Tj ET 0 0 1 rg 72 72 100 50 re f".encode()
        page = pikepdf.Page(
            pikepdf.Dictionary(
                Type=pikepdf.Name.Page,
                MediaBox=[0, 0, size[0], size[1]],
                Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)),
                Contents=pdf.make_stream(content),
            )
        )
        pdf.pages.append(page)
    pdf.save(path)
    return path


def two_column_table(path: Path) -> Path:
    """A page with a 3-row table: names at x=72, amounts right of them at x=372 (Courier 12 pt)."""
    rows = [("Apples", "12"), ("Pears and quinces", "7"), ("Plums", "130")]
    text = "".join(
        f"BT /F1 12 Tf {x} {700 - 20 * i} Td ({cell}) Tj ET\n"
        for i, row in enumerate(rows)
        for x, cell in zip((72, 372), row, strict=True)
    )
    pdf = pikepdf.new()
    font = pdf.make_indirect(
        pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Courier)
    )
    resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
    page = pikepdf.Dictionary(
        Type=pikepdf.Name.Page,
        MediaBox=[0, 0, 595, 842],
        Resources=resources,
        Contents=pdf.make_stream(text.encode()),
    )
    pdf.pages.append(pikepdf.Page(page))
    pdf.save(path)
    return path


def encrypted_pdf(path: Path, user: str, owner: str = "owner-secret", pages: int = 2) -> Path:
    plain = make_pdf(path.with_name("plain-" + path.name), pages=pages, words=["secret"] * pages)
    with pikepdf.open(plain) as pdf:
        pdf.save(path, encryption=pikepdf.Encryption(user=user, owner=owner, R=6))
    return path


def _raw_pdf(objects: Sequence[bytes], root: int = 1) -> bytes:
    """A PDF file of numbered ``objects`` (1-based) with a correct xref table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, root, xref)
    return bytes(out)


_CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
_CONTENT = b"<< /Length 22 >>\nstream\n0 0 1 rg 0 0 50 50 re f\nendstream"


def reference_loop(path: Path) -> Path:
    """A page tree whose /Kids contain the tree itself, and a page that is its own /Parent."""
    path.write_bytes(
        _raw_pdf(
            [
                _CATALOG,
                b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 /Parent 2 0 R >>",
                b"<< /Type /Page /Parent 3 0 R /Kids [3 0 R] /MediaBox [0 0 200 200] /Contents 4 0 R >>",
                _CONTENT,
            ]
        )
    )
    return path


def deep_nesting(path: Path, depth: int = 100_000) -> Path:
    """A page whose /Annots is an array nested ``depth`` levels deep."""
    nested = b"[" * depth + b"]" * depth
    path.write_bytes(
        _raw_pdf(
            [
                _CATALOG,
                b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R /Annots "
                + nested
                + b" >>",
                _CONTENT,
            ]
        )
    )
    return path


def page_bomb(path: Path, count: int = 10_000_000) -> Path:
    """A tiny file whose page tree claims ``count`` pages."""
    path.write_bytes(
        _raw_pdf(
            [
                _CATALOG,
                b"<< /Type /Pages /Kids [3 0 R] /Count %d >>" % count,
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>",
                _CONTENT,
            ]
        )
    )
    return path


def wide_page_bomb(path: Path, count: int = 200_000) -> Path:
    """A page tree really holding ``count`` references to one page (a few MB at most)."""
    kids = b" ".join([b"3 0 R"] * count)
    path.write_bytes(
        _raw_pdf(
            [
                _CATALOG,
                b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % count,
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>",
                _CONTENT,
            ]
        )
    )
    return path


def huge_mediabox(path: Path, side: int = 100_000) -> Path:
    path.write_bytes(
        _raw_pdf(
            [
                _CATALOG,
                b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents 4 0 R >>" % (side, side),
                _CONTENT,
            ]
        )
    )
    return path


def picture_page(pdf: pikepdf.Pdf, colour: tuple[int, int, int] = (40, 40, 40)) -> pikepdf.Page:
    """A page showing only a 300x200-pixel image (a scanned page, without any text)."""
    from PIL import Image

    pixels = Image.new("RGB", (300, 200), (255, 255, 255))
    pixels.paste(Image.new("RGB", (200, 40), colour), (50, 80))
    image = pdf.make_stream(pixels.tobytes())
    image.Type, image.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    image.Width, image.Height, image.BitsPerComponent = 300, 200, 8
    image.ColorSpace = pikepdf.Name.DeviceRGB
    return pikepdf.Page(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Page,
            MediaBox=[0, 0, 300, 200],
            Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image)),
            Contents=pdf.make_stream(b"q 300 0 0 200 0 0 cm /Im0 Do Q"),
        )
    )


def scan_pdf(path: Path, pages: int = 2) -> Path:
    """A PDF of ``pages`` pages that are pictures only, like a scan."""
    with pikepdf.new() as pdf:
        for _ in range(pages):
            pdf.pages.append(picture_page(pdf))
        pdf.save(path)
    return path


def mixed_pdf(path: Path) -> Path:
    """Text on pages 1 and 3, a picture only on page 2, and page 4 blank."""
    with pikepdf.open(
        make_pdf(path.with_name("text-" + path.name), pages=3, words=["one", "two", "three"])
    ) as pdf:
        del pdf.pages[1]
        pdf.pages.insert(1, picture_page(pdf))
        pdf.add_blank_page(page_size=(300, 200))
        pdf.save(path)
    return path


def blank_pdf(path: Path, pages: int = 2) -> Path:
    with pikepdf.new() as pdf:
        for _ in range(pages):
            pdf.add_blank_page()
        pdf.save(path)
    return path


def no_pages_pdf(path: Path) -> Path:
    with pikepdf.new() as pdf:
        pdf.save(path)
    return path


def locked(path: Path, password: str, revision: Literal[3, 4, 6], pages: int = 2) -> Path:
    """A text PDF encrypted at ``revision`` (3: RC4, 4: AES-128, 6: AES-256) with ``password``
    as stored (pikepdf writes R2-R4 passwords in PDFDocEncoding and R6 ones as UTF-8)."""
    plain = make_pdf(path.with_name("plain-" + path.name), pages=pages, words=["secret"] * pages)
    encryption = pikepdf.Encryption(
        user=password,
        owner="owner-secret",
        R=revision,
        aes=revision >= 4,
        metadata=revision >= 4,
    )
    with pikepdf.open(plain) as pdf:
        pdf.save(path, encryption=encryption)
    return path


def custom_security_handler(path: Path, handler: bytes = b"/FOPN_foweb") -> Path:
    """An encrypted PDF whose /Encrypt names a security handler other than /Standard (as a DRM
    plug-in or a certificate-based one does): no password opens it."""
    data = locked(path.with_name("standard-" + path.name), "s3cret", 4).read_bytes()
    marker = b"/Filter /Standard"
    assert data.count(marker) == 1
    path.write_bytes(data.replace(marker, b"/Filter " + handler))
    return path


def no_kids(path: Path) -> Path:
    """A page tree without /Kids."""
    path.write_bytes(_raw_pdf([_CATALOG, b"<< /Type /Pages /Count 1 >>"]))
    return path


def broken_stream(path: Path) -> Path:
    """One page whose Flate content stream is not Flate data."""
    path.write_bytes(
        _raw_pdf(
            [
                _CATALOG,
                b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>",
                b"<< /Length 20 /Filter /FlateDecode >>\nstream\ngarbagegarbagegarbag\nendstream",
            ]
        )
    )
    return path
