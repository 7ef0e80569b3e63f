"""The converter of conversio-pdf2docx, as a ConverterSpec (no engine imported)."""

from __future__ import annotations

from conversio.converters import ConverterSpec
from conversio.options import Option, OptionsSchema

ENGINE = "pdf2docx.pdf2docx"
INSTALL_HINT = "pip install conversio-pdf2docx"

PAGES = Option("pages", "str", help='pages to convert, e.g. "1-3,5" or "4-" (default: all)')
PASSWORD = Option("password", "str", help="the password of an encrypted input", secret=True)
BORDERLESS_TABLES = Option(
    "borderless_tables",
    "bool",
    default=False,
    help="also rebuild tables drawn without borders (columns of aligned text); "
    "off: only ruled tables become tables, other text stays paragraphs in reading order",
)


def docx_spec() -> ConverterSpec:
    return ConverterSpec(
        id=f"{ENGINE}:pdf->docx",
        source="pdf",
        target="docx",
        run="conversio_pdf2docx.convert:pdf_to_office",
        cost=3.0,
        lossy=True,
        install_hint=INSTALL_HINT,
        options=OptionsSchema.of(PAGES, PASSWORD, BORDERLESS_TABLES),
        description="an editable Word document rebuilt from the text layer: paragraphs, tables, "
        "pictures (no OCR: a scan is refused)",
    )


def xlsx_spec() -> ConverterSpec:
    return ConverterSpec(
        id=f"{ENGINE}:pdf->xlsx",
        source="pdf",
        target="xlsx",
        run="conversio_pdf2docx.convert:pdf_to_office",
        cost=3.0,
        lossy=True,
        install_hint=INSTALL_HINT,
        options=OptionsSchema.of(PAGES, PASSWORD, BORDERLESS_TABLES),
        description="the tables of a PDF, one sheet each (plain numbers as numbers); "
        "a PDF without a table is refused",
    )
