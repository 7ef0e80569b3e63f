"""Small damaged, encrypted and odd files for the error-message sweep, made in memory."""

from __future__ import annotations

import io
import zipfile

from PIL import Image


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 40)).save(buffer, "PNG")
    return buffer.getvalue()


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (20, 130, 40)).save(buffer, "JPEG")
    return buffer.getvalue()


def pdf(pages: int = 2) -> bytes:
    images = [Image.new("RGB", (120, 160), (40 * i % 256, 90, 160)) for i in range(pages)]
    buffer = io.BytesIO()
    images[0].save(buffer, "PDF", save_all=True, append_images=images[1:], resolution=72)
    return buffer.getvalue()


def pdf_without_kids() -> bytes:
    """A well-formed PDF file whose page tree root has no ``/Kids`` array."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Count 1 >>",
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def encrypted_pdf(password: str) -> bytes:
    import pikepdf

    buffer = io.BytesIO()
    with pikepdf.open(io.BytesIO(pdf(1))) as doc:
        doc.save(buffer, encryption=pikepdf.Encryption(user=password, owner=password + "-owner"))
    return buffer.getvalue()


def encrypted_7z(password: str) -> bytes:
    import py7zr

    buffer = io.BytesIO()
    with py7zr.SevenZipFile(buffer, "w", password=password, header_encryption=True) as archive:
        archive.writestr(b"secret text\n", "secret.txt")
    return buffer.getvalue()


def broken_png() -> bytes:
    return png()[:40] + b"\x00garbage" * 8


def broken_jpeg() -> bytes:
    return jpeg()[:60] + b"\x13\x37" * 40


def broken_zip() -> bytes:
    whole = io.BytesIO()
    with zipfile.ZipFile(whole, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.txt", "hello " * 200)
        archive.writestr("b.txt", "world " * 200)
    data = whole.getvalue()
    return data[: len(data) // 2]


def broken_docx() -> bytes:
    """A zip named like a Word document, without the document inside."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document><w:body><w:p>not closed")
    return buffer.getvalue()


def broken_mp4() -> bytes:
    """An ISO-media header (``ftyp``) followed by noise: no ``moov`` box."""
    ftyp = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
    return ftyp + b"\x00\x00\x00\x10mdat" + bytes(range(256)) * 8


def text_named_pdf() -> bytes:
    return b"Dear reader,\nthis is a plain letter, not a PDF.\n" * 4
