"""The checks every conversio converter passes, for a representative set of PDF converters."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pdf_samples import encrypted_pdf, make_pdf
from PIL import Image

from conversio.testing import ConverterContract


class PdfContract(ConverterContract):
    plugin = "conversio_pdf.plugin"
    heavy_modules = ("pypdfium2", "pikepdf", "img2pdf", "PIL")

    def make_sample(self, tmp_path: Path) -> Path:
        return make_pdf(tmp_path / "sample.pdf", pages=2, size=(200, 100))


class TestPdfToPng(PdfContract):
    converter_id = "pdf.pdfium:pdf->png"
    options: ClassVar[dict[str, Any]] = {"dpi": 72}


class TestPdfToJpg(PdfContract):
    converter_id = "pdf.pdfium:pdf->jpg"
    options: ClassVar[dict[str, Any]] = {"dpi": 50, "quality": 60, "grayscale": True}


class TestPdfToTxt(PdfContract):
    converter_id = "pdf.pdfium:pdf->txt"


class TestJpgToPdf(PdfContract):
    converter_id = "pdf.img2pdf:jpg->pdf"

    def make_sample(self, tmp_path: Path) -> Path:
        path = tmp_path / "photo.jpg"
        Image.new("RGB", (64, 48), (200, 30, 30)).save(path, "JPEG")
        return path


class TestPngToPdf(TestJpgToPdf):
    converter_id = "pdf.img2pdf:png->pdf"

    def make_sample(self, tmp_path: Path) -> Path:
        path = tmp_path / "picture.png"
        Image.new("RGBA", (64, 48), (0, 90, 200, 128)).save(path, "PNG")
        return path


class TestMerge(PdfContract):
    converter_id = "pdf.pikepdf:merge(pdf)"


class TestSplit(PdfContract):
    converter_id = "pdf.pikepdf:split(pdf)"


class TestEncrypt(PdfContract):
    converter_id = "pdf.pikepdf:encrypt(pdf)"
    options: ClassVar[dict[str, Any]] = {"user_password": "open-sesame"}


class TestDecrypt(PdfContract):
    converter_id = "pdf.pikepdf:decrypt(pdf)"
    options: ClassVar[dict[str, Any]] = {"password": "pw"}

    def make_sample(self, tmp_path: Path) -> Path:
        return encrypted_pdf(tmp_path / "locked.pdf", user="pw")


class TestRotate(PdfContract):
    converter_id = "pdf.pikepdf:rotate(pdf)"
    options: ClassVar[dict[str, Any]] = {"angle": 270}


class TestWatermark(PdfContract):
    converter_id = "pdf.pikepdf:watermark(pdf)"
    options: ClassVar[dict[str, Any]] = {"text": "CONFIDENTIAL"}


class TestCompress(PdfContract):
    converter_id = "pdf.pikepdf:compress(pdf)"
