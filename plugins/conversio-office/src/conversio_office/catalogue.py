"""Which formats LibreOffice reads and writes here, and under which filter names (plain data)."""

from __future__ import annotations

import attrs

INSTALL_HINT = (
    "pip install conversio-office, and LibreOffice: apt-get install --no-install-recommends "
    "libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui python3-uno "
    "fonts-dejavu-core fonts-liberation2 fonts-noto-core fonts-noto-cjk fonts-noto-color-emoji"
)


@attrs.frozen
class OfficeFormat:
    """A conversio format as LibreOffice sees it.

    ``import_filter`` is passed as ``FilterName`` on load, so a file is only ever
    read by its own format's filter (garbage is not "rescued" as plain text);
    ``legacy_filters`` are the only others tried, and only when the file fails with
    ``import_filter`` and LibreOffice's type detection names one of them (a Word 95 ``.doc``,
    a PowerPoint 4 ``.ppt``): never a text filter, never another family's.
    ``export_filter`` is None where the format is only read.
    """

    name: str
    family: str
    import_filter: str
    import_options: str = ""
    export_filter: str | None = None
    export_options: str = ""
    legacy_filters: tuple[str, ...] = ()


#: Comma separated, double quotes, UTF-8 (76), data from line 1 (what CSV is written as;
#: a CSV read gets its own separator and encoding, see ``csvsniff``).
CSV_OPTIONS = "44,34,76,1"

TEXT, SHEET, SLIDES = "text", "sheet", "slides"

FORMATS: dict[str, OfficeFormat] = {
    f.name: f
    for f in (
        OfficeFormat("docx", TEXT, "MS Word 2007 XML", export_filter="MS Word 2007 XML"),
        OfficeFormat(
            "doc",
            TEXT,
            "MS Word 97",
            export_filter="MS Word 97",
            legacy_filters=("MS Word 95", "MS WinWord 6.0", "MS WinWord 5", "Rich Text Format"),
        ),
        OfficeFormat("odt", TEXT, "writer8", export_filter="writer8"),
        OfficeFormat("rtf", TEXT, "Rich Text Format", export_filter="Rich Text Format"),
        OfficeFormat("txt", TEXT, "Text (encoded)", import_options="UTF8"),
        OfficeFormat("html", TEXT, "HTML (StarWriter)", legacy_filters=("HTML",)),
        OfficeFormat("xlsx", SHEET, "Calc MS Excel 2007 XML", export_filter="Calc MS Excel 2007 XML"),
        OfficeFormat(
            "xls",
            SHEET,
            "MS Excel 97",
            export_filter="MS Excel 97",
            legacy_filters=("MS Excel 95", "MS Excel 5.0/95", "MS Excel 4.0"),
        ),
        OfficeFormat("ods", SHEET, "calc8", export_filter="calc8"),
        OfficeFormat(
            "csv",
            SHEET,
            "Text - txt - csv (StarCalc)",
            import_options=CSV_OPTIONS,
            export_filter="Text - txt - csv (StarCalc)",
            export_options=CSV_OPTIONS,
        ),
        OfficeFormat(
            "pptx", SLIDES, "Impress MS PowerPoint 2007 XML", export_filter="Impress MS PowerPoint 2007 XML"
        ),
        OfficeFormat(
            "ppt",
            SLIDES,
            "MS PowerPoint 97",
            export_filter="MS PowerPoint 97",
            legacy_filters=("PowerPoint 3",),
        ),
        OfficeFormat("odp", SLIDES, "impress8", export_filter="impress8"),
    )
}


#: Each format as a user names it, for messages ("it is not really a Word document").
LABELS = {
    "docx": "a Word document (.docx)",
    "doc": "a Word 97-2003 document (.doc)",
    "odt": "an OpenDocument text (.odt)",
    "rtf": "an RTF document",
    "txt": "a text file",
    "html": "an HTML page",
    "xlsx": "an Excel workbook (.xlsx)",
    "xls": "an Excel 97-2003 workbook (.xls)",
    "ods": "an OpenDocument spreadsheet (.ods)",
    "csv": "a CSV file",
    "pptx": "a PowerPoint presentation (.pptx)",
    "ppt": "a PowerPoint 97-2003 presentation (.ppt)",
    "odp": "an OpenDocument presentation (.odp)",
}


def to_pdf_sources() -> list[OfficeFormat]:
    """Every format converted to PDF."""
    return list(FORMATS.values())


def editable_edges() -> list[tuple[OfficeFormat, OfficeFormat]]:
    """(source, target) between the editable formats of one family (docx <-> odt <-> doc <-> rtf, ...)."""
    return [
        (source, target)
        for source in FORMATS.values()
        for target in FORMATS.values()
        if source.family == target.family
        and source is not target
        and source.export_filter is not None
        and target.export_filter is not None
    ]
