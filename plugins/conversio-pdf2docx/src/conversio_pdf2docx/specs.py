"""The converters of conversio-pdf2docx, as ConverterSpecs (no engine imported)."""

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


#: target → what the converter makes
_MAKES = {
    "docx": "an editable Word document rebuilt from the text layer: paragraphs, tables, pictures "
    "(no OCR: a scan is refused)",
    "xlsx": "the tables of a PDF, one sheet each (plain numbers as numbers); a PDF without a table "
    "is refused",
}


def all_specs() -> list[ConverterSpec]:
    return [
        ConverterSpec(
            id=f"{ENGINE}:pdf->{target}",
            source="pdf",
            target=target,
            run="conversio_pdf2docx.convert:pdf_to_office",
            cost=3.0,
            lossy=True,
            install_hint=INSTALL_HINT,
            options=OptionsSchema.of(PAGES, PASSWORD, BORDERLESS_TABLES),
            description=description,
        )
        for target, description in _MAKES.items()
    ]
