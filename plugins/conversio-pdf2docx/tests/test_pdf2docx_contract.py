"""The converter contract every conversio converter passes, for pdf → docx and pdf → xlsx."""

from __future__ import annotations

from pathlib import Path

from pdf2docx_samples import report

from conversio.testing import ConverterContract


class TestPdfToDocx(ConverterContract):
    plugin = "conversio_pdf2docx.plugin"
    converter_id = "pdf2docx.pdf2docx:pdf->docx"
    heavy_modules = (
        "pdf2docx",
        "pymupdf",
        "fitz",
        "docx",
        "openpyxl",
        "numpy",
        "cv2",
        "conversio_pdf2docx.convert",
    )

    def make_sample(self, tmp_path: Path) -> Path:
        return report(tmp_path / "report.pdf")


class TestPdfToXlsx(TestPdfToDocx):
    converter_id = "pdf2docx.pdf2docx:pdf->xlsx"
