"""conversio's ConverterContract for a converter of each family and kind."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from office_samples import sample_file

from conversio.testing import ConverterContract

PLUGIN = "conversio_office.plugin"
#: Registration must load none of the converter modules (they start LibreOffice).
HEAVY = ("conversio_office.convert", "conversio_office.soffice", "conversio_office.protection", "uno")


class OfficeContract(ConverterContract):
    plugin = PLUGIN
    heavy_modules = HEAVY
    source: ClassVar[str]

    def make_sample(self, tmp_path: Path) -> Path:
        return sample_file(self.source, tmp_path)


class PlainTextContract(OfficeContract):
    """Text formats have no notion of corrupt: any bytes are some text."""

    def make_corrupt(self, tmp_path: Path) -> Path | None:
        return None


class TestDocxToPdf(OfficeContract):
    converter_id = "office.libreoffice:docx->pdf"
    source = "docx"


class TestDocToPdf(OfficeContract):
    converter_id = "office.libreoffice:doc->pdf"
    source = "doc"


class TestOdtToPdf(OfficeContract):
    converter_id = "office.libreoffice:odt->pdf"
    source = "odt"
    options: ClassVar[dict[str, object]] = {"pdfa": True, "pages": "1-2"}


class TestRtfToPdf(PlainTextContract):
    converter_id = "office.libreoffice:rtf->pdf"
    source = "rtf"


class TestTxtToPdf(PlainTextContract):
    converter_id = "office.libreoffice:txt->pdf"
    source = "txt"


class TestHtmlToPdf(PlainTextContract):
    converter_id = "office.libreoffice:html->pdf"
    source = "html"


class TestXlsxToPdf(OfficeContract):
    converter_id = "office.libreoffice:xlsx->pdf"
    source = "xlsx"


class TestXlsToPdf(OfficeContract):
    converter_id = "office.libreoffice:xls->pdf"
    source = "xls"


class TestCsvToPdf(PlainTextContract):
    converter_id = "office.libreoffice:csv->pdf"
    source = "csv"


class TestPptxToPdf(OfficeContract):
    converter_id = "office.libreoffice:pptx->pdf"
    source = "pptx"


class TestOdpToPdf(OfficeContract):
    converter_id = "office.libreoffice:odp->pdf"
    source = "odp"


class TestDocxToOdt(OfficeContract):
    converter_id = "office.libreoffice:docx->odt"
    source = "docx"


class TestOdsToXlsx(OfficeContract):
    converter_id = "office.libreoffice:ods->xlsx"
    source = "ods"


class TestPptToOdp(OfficeContract):
    converter_id = "office.libreoffice:ppt->odp"
    source = "ppt"
