"""The browser tests' input files, each made on first use and kept for the session."""

from __future__ import annotations

import subprocess
import zipfile
from functools import cached_property
from pathlib import Path

import pikepdf
from PIL import Image

#: Pages of the Word document (each becomes one JPEG in docx → zip via jpg).
DOCX_PAGES = 3
#: Pages of the two PDFs that are merged.
PDF_PAGES = (2, 3)
_H264 = ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
#: The video whose conversion is cancelled: made in ~4 s, it takes ~30 s to convert to webm.
VIDEO_SECONDS = 60
_TEST_PATTERN = f"testsrc=size=854x480:rate=25:duration={VIDEO_SECONDS}"

_CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/word/document.xml"
 ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>
</Types>"""
_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Target="word/document.xml"
 Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>
</Relationships>"""
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_PAGE_BREAK = '<w:p><w:r><w:br w:type="page"/></w:r></w:p>'


_HEADING = '<w:p><w:r><w:rPr><w:b/><w:sz w:val="56"/></w:rPr><w:t>{}</w:t></w:r></w:p>'
_PARAGRAPH = '<w:p><w:r><w:rPr><w:sz w:val="28"/></w:rPr><w:t>{}</w:t></w:r></w:p>'
_LINES = (
    "Sales grew in every region this quarter, led by the north.",
    "Costs stayed flat; the new warehouse opens next month.",
    "Customers rated the support team 4.6 out of 5.",
    "The next quarter's plan is on the last page.",
)


def _docx_body(pages: int) -> str:
    """The body of a document of ``pages`` pages: a heading and a few paragraphs each."""
    page_texts = [
        _HEADING.format(f"Quarterly report, page {n}")
        + "".join(_PARAGRAPH.format(line) for line in _LINES * 3)
        for n in range(1, pages + 1)
    ]
    body = _PAGE_BREAK.join(page_texts)
    head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    return f'{head}<w:document xmlns:w="{_W}"><w:body>{body}</w:body></w:document>'


def write_docx(path: Path, pages: int) -> Path:
    """A Word document of ``pages`` pages split by page breaks."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as docx:
        docx.writestr("[Content_Types].xml", _CONTENT_TYPES)
        docx.writestr("_rels/.rels", _RELS)
        docx.writestr("word/document.xml", _docx_body(pages))
    return path


def write_pdf(path: Path, pages: int) -> Path:
    """A PDF of ``pages`` blank A4 pages (pikepdf)."""
    with pikepdf.new() as pdf:
        for _ in range(pages):
            pdf.add_blank_page(page_size=(595, 842))
        pdf.save(path)
    return path


class Samples:
    """The sample files, in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @cached_property
    def docx(self) -> Path:
        """A Word document of ``DOCX_PAGES`` pages."""
        return write_docx(self.folder / "quarterly report.docx", DOCX_PAGES)

    @cached_property
    def png(self) -> Path:
        """A small picture (Pillow)."""
        path = self.folder / "picture.png"
        Image.new("RGB", (160, 120), "teal").save(path)
        return path

    @cached_property
    def pdfs(self) -> tuple[Path, ...]:
        """Two PDFs of ``PDF_PAGES`` pages, to merge."""
        return tuple(
            write_pdf(self.folder / f"chapter-{n}.pdf", pages) for n, pages in enumerate(PDF_PAGES, 1)
        )

    @cached_property
    def corrupt_pdf(self) -> Path:
        """A PDF cut after its first 64 bytes (the header says PDF; pages and trailer are gone: PDFium
        recovers a PDF cut in half, so the cut is early)."""
        whole = write_pdf(self.folder / "whole.pdf", 3).read_bytes()
        path = self.folder / "broken.pdf"
        path.write_bytes(whole[:64])
        return path

    @cached_property
    def video(self) -> Path:
        """A long test-pattern video (H.264 in MP4), made fast by ffmpeg."""
        path = self.folder / "long clip.mp4"
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", _TEST_PATTERN, *_H264, str(path)],
            check=True,
            timeout=120,
        )
        return path
