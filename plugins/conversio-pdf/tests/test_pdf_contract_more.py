"""The checks every conversio converter passes, for the description and attachment extraction."""

from __future__ import annotations

from pathlib import Path

from test_pdf_attachments import with_attachments
from test_pdf_contract import PdfContract


class TestDescribe(PdfContract):
    converter_id = "pdf.pikepdf:describe(pdf)"


class TestExtractAttachments(PdfContract):
    converter_id = "pdf.pikepdf:extract-attachments(pdf)"

    def make_sample(self, tmp_path: Path) -> Path:
        return with_attachments(tmp_path / "sample.pdf", {"notes.txt": b"notes\n", "data.csv": b"a,b\n1,2\n"})
