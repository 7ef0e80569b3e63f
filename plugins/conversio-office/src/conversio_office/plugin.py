"""Hook implementations of conversio-office, and nothing else.

Declares the LibreOffice converters by name; neither LibreOffice nor the
converter modules are touched until a conversion runs.
"""

from __future__ import annotations

from conversio.converters import ConverterSpec
from conversio.hookspecs import hookimpl
from conversio.options import Option, OptionsSchema
from conversio.registry import ConverterRegistrar
from conversio_office.catalogue import (
    INSTALL_HINT,
    SHEET,
    SLIDES,
    OfficeFormat,
    editable_edges,
    to_pdf_sources,
)

ENGINE = "office.libreoffice"

PASSWORD = Option("password", "str", help="the password of a protected document", secret=True)
PAGES = Option("pages", "str", help="pages to export, as in a print dialog: 1-3,5,8-")
LANDSCAPE = Option("landscape", "bool", default=False, help="turn every page to landscape")
SHEETS = Option("sheet", "list", help="sheets to export, by name or 1-based number (default: all)")
PDFA = Option("pdfa", "bool", default=False, help="write PDF/A-2b (archival, fonts embedded)")
TAGGED = Option(
    "tagged",
    "bool",
    default=False,
    help="tag headings, paragraphs, lists, tables and pictures for screen readers",
)
PDFUA = Option(
    "pdfua",
    "bool",
    default=False,
    help="write PDF/UA-1: tagged, with language and title; refused when a picture has no description",
)
FORM_FIELDS = Option("export_form_fields", "bool", default=False, help="keep form fields fillable")


def pdf_options(source: OfficeFormat) -> OptionsSchema:
    options = [PAGES, PDFA, TAGGED, PDFUA, FORM_FIELDS, PASSWORD]
    if source.family != SLIDES:
        options.append(LANDSCAPE)
    if source.family == SHEET:
        options.append(SHEETS)
    return OptionsSchema.of(*options)


def all_specs() -> list[ConverterSpec]:
    """Every format to PDF, and between the editable formats of one family."""
    to_pdf = [
        ConverterSpec(
            id=f"{ENGINE}:{source.name}->pdf",
            source=source.name,
            target="pdf",
            run="conversio_office.convert:convert_to_pdf",
            options=pdf_options(source),
            cost=3.0,
            lossy=True,
            install_hint=INSTALL_HINT,
            description=f"{source.name} printed to PDF by LibreOffice",
        )
        for source in to_pdf_sources()
    ]
    between = [
        ConverterSpec(
            id=f"{ENGINE}:{source.name}->{target.name}",
            source=source.name,
            target=target.name,
            run="conversio_office.convert:convert_document",
            options=OptionsSchema.of(PASSWORD),
            cost=3.0,
            lossy=True,
            install_hint=INSTALL_HINT,
            description=f"{source.name} saved as {target.name} by LibreOffice",
        )
        for source, target in editable_edges()
    ]
    return to_pdf + between


@hookimpl
def register_converters(converters: ConverterRegistrar) -> None:
    for spec in all_specs():
        converters.add(spec)
