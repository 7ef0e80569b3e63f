"""Every converter and operation of conversio-pdf, as ConverterSpecs (no engine imported)."""

from __future__ import annotations

import os

from conversio.converters import Cardinality, ConverterSpec
from conversio.errors import InvalidOption
from conversio.formats import ANY
from conversio.options import Option, OptionsSchema

PDFIUM = "pdf.pdfium"
PIKEPDF = "pdf.pikepdf"
IMG2PDF = "pdf.img2pdf"
GHOSTSCRIPT = "pdf.ghostscript"
PYPDF = "pdf.pypdf"
GHOSTSCRIPT_HINT = "install Ghostscript: apt-get install ghostscript"
RASTER_TARGETS = ("jpg", "png", "webp", "tiff")
#: Image formats img2pdf embeds (JPEG as is, the others losslessly).
IMAGE_SOURCES = ("jpg", "png", "tiff", "gif", "bmp", "webp")
DEFAULT_MAX_DPI = 600


def max_dpi() -> int:
    """The highest dpi a caller may ask for: ``CONVERSIO_PDF_MAX_DPI``, else 600."""
    raw = os.environ.get("CONVERSIO_PDF_MAX_DPI", "")
    try:
        value = int(raw) if raw else DEFAULT_MAX_DPI
    except ValueError:
        raise InvalidOption(f"CONVERSIO_PDF_MAX_DPI={raw!r} is not a number", option="dpi") from None
    return max(value, 1)


PASSWORD = Option("password", "str", help="the password of an encrypted input", secret=True)
PAGES = Option("pages", "str", help='pages to use, e.g. "1-3,5" or "4-" (default: all)')
ORDER = Option(
    "order",
    "str",
    default="name",
    choices=("name", "given"),
    help="name: natural order of the file names (page2 before page10); given: as given",
)


def _raster_options(target: str) -> tuple[Option, ...]:
    options = [
        Option("dpi", "int", default=150, min=10, max=max_dpi(), help="resolution of the images"),
        PAGES,
        Option("grayscale", "bool", default=False, help="render in shades of grey"),
        PASSWORD,
    ]
    if target in ("jpg", "webp"):
        options.append(Option("quality", "int", default=85, min=1, max=100, help="image quality"))
    return tuple(options)


def raster_specs() -> list[ConverterSpec]:
    return [
        ConverterSpec(
            id=f"{PDFIUM}:pdf->{target}",
            source="pdf",
            target=target,
            run="conversio_pdf.raster:rasterise",
            cardinality=Cardinality.ONE_TO_MANY,
            cost=2.0,
            lossy=True,
            options=OptionsSchema.of(*_raster_options(target)),
            description=f"each page rendered to {target} with PDFium (<name>-page001.{target}, ...)",
        )
        for target in RASTER_TARGETS
    ]


_LAYOUT = Option(
    "layout", "bool", default=False, help="keep the text where it is on the page (columns, indents, tables)"
)


def text_spec() -> ConverterSpec:
    return ConverterSpec(
        id=f"{PDFIUM}:pdf->txt",
        source="pdf",
        target="txt",
        run="conversio_pdf.text:extract_text",
        cost=2.0,
        lossy=True,
        options=OptionsSchema.of(PAGES, PASSWORD, _LAYOUT),
        description="the text layer of each page (no OCR), pages separated by a form feed",
    )


def image_specs() -> list[ConverterSpec]:
    return [
        ConverterSpec(
            id=f"{IMG2PDF}:{source}->pdf",
            source=source,
            target="pdf",
            run="conversio_pdf.images:images_to_pdf",
            cardinality=Cardinality.MANY_TO_ONE,
            options=OptionsSchema.of(ORDER),
            description=f"{source} images into one PDF, a page per image"
            + (" (JPEG embedded as is)" if source == "jpg" else " (lossless)"),
        )
        for source in IMAGE_SOURCES
    ]


_ANGLE = Option("angle", "int", default=90, choices=(90, 180, 270, -90, -180, -270), help="clockwise")
_PERMISSIONS = Option(
    "permissions",
    "list",
    default=["print", "copy", "modify", "annotate", "forms", "assemble"],
    help="what a holder of the user password may do: print, copy, modify, annotate, forms, assemble",
)
_META = tuple(Option(key, "str", help=f"the document's {key}") for key in ("title", "author", "subject"))

#: operation → (function, cardinality, options, help)
OPERATIONS: dict[str, tuple[str, Cardinality, tuple[Option, ...], str]] = {
    "merge": ("merge", Cardinality.MANY_TO_ONE, (ORDER, PASSWORD), "PDFs joined into one"),
    "split": (
        "split",
        Cardinality.ONE_TO_MANY,
        (
            Option("every", "int", default=1, min=1, help="pages per part (when no ranges are given)"),
            Option("ranges", "list", help='one part per range, e.g. "1-3,4-9" gives two parts'),
            PASSWORD,
        ),
        "one PDF per range or per N pages",
    ),
    "extract-pages": (
        "extract_pages",
        Cardinality.ONE_TO_ONE,
        (Option("pages", "str", help='pages to keep, in this order, e.g. "3,1-2"', required=True), PASSWORD),
        "a PDF of the chosen pages, in that order",
    ),
    "encrypt": (
        "encrypt",
        Cardinality.ONE_TO_ONE,
        (
            Option("user_password", "str", help="needed to open the file", secret=True),
            Option(
                "owner_password", "str", help="needed to change permissions (default: user's)", secret=True
            ),
            _PERMISSIONS,
            PASSWORD,
        ),
        "AES-256 encryption",
    ),
    "decrypt": ("decrypt", Cardinality.ONE_TO_ONE, (PASSWORD,), "the encryption removed"),
    "compress": (
        "compress",
        Cardinality.ONE_TO_ONE,
        (
            Option("quality", "int", default=75, min=1, max=100, help="JPEG quality of recompressed images"),
            Option("images", "bool", default=True, help="recompress photos as JPEG when smaller"),
            PASSWORD,
        ),
        "smaller: object streams, recompressed streams and images",
    ),
    "linearize": ("linearize", Cardinality.ONE_TO_ONE, (PASSWORD,), "fast web view (linearized)"),
    "rotate": ("rotate", Cardinality.ONE_TO_ONE, (_ANGLE, PAGES, PASSWORD), "pages turned clockwise"),
    "watermark": (
        "watermark",
        Cardinality.ONE_TO_ONE,
        (
            Option("text", "str", help="the watermark text", required=True),
            Option("opacity", "float", default=0.3, min=0.0, max=1.0),
            Option("position", "str", default="diagonal", choices=("diagonal", "center", "top", "bottom")),
            Option("font_size", "float", default=48.0, min=4.0, max=400.0),
            PAGES,
            PASSWORD,
        ),
        "a text stamped over the pages",
    ),
    "metadata": (
        "set_metadata",
        Cardinality.ONE_TO_ONE,
        (
            *_META,
            Option("keywords", "str", help="the document's keywords"),
            Option("creator", "str", help="the application that made the document (xmp:CreatorTool)"),
            Option(
                "xmp",
                "json",
                help='further XMP properties as a JSON object, e.g. {"dc:rights": "CC BY 4.0"} '
                "(null removes one)",
            ),
            PASSWORD,
        ),
        "title, author, subject, keywords, creator and XMP properties set, in XMP and the Info "
        "dictionary alike",
    ),
    "repair": ("repair", Cardinality.ONE_TO_ONE, (PASSWORD,), "rewritten by qpdf (xref rebuilt)"),
}


def operation_specs() -> list[ConverterSpec]:
    return [
        ConverterSpec(
            id=f"{PIKEPDF}:{operation}(pdf)",
            source="pdf",
            target="pdf",
            run=f"conversio_pdf.operations:{function}",
            cardinality=cardinality,
            operation=operation,
            fuse="conversio_pdf.operations:run_steps",
            lossy=operation == "compress",
            options=OptionsSchema.of(*options),
            description=help_text,
        )
        for operation, (function, cardinality, options, help_text) in OPERATIONS.items()
    ]


def pdfa_spec() -> ConverterSpec:
    return ConverterSpec(
        id=f"{GHOSTSCRIPT}:pdfa(pdf)",
        source="pdf",
        target="pdf",
        run="conversio_pdf.pdfa:pdfa",
        operation="pdfa",
        lossy=True,
        install_hint=GHOSTSCRIPT_HINT,
        options=OptionsSchema.of(
            Option(
                "level",
                "str",
                default="2b",
                choices=("1b", "2b", "3b"),
                help="the PDF/A part and conformance",
            ),
            PASSWORD,
        ),
        description="PDF/A by pikepdf's writer or Ghostscript (fonts embedded, sRGB), checked",
    )


_FLATTEN = Option("flatten", "bool", default=False, help="draw the fields into the pages after filling")
_DATA = Option(
    "data",
    "json",
    required=True,
    help='a JSON object of field name → value, e.g. {"name": "Ada", "agree": true}',
)


def form_specs() -> list[ConverterSpec]:
    return [
        ConverterSpec(
            id=f"{PYPDF}:fill(pdf)",
            source="pdf",
            target="pdf",
            run="conversio_pdf.forms:fill",
            operation="fill",
            options=OptionsSchema.of(_DATA, _FLATTEN, PASSWORD),
            description="form fields filled from JSON (text, checkboxes, radio buttons, choices)",
        ),
        ConverterSpec(
            id=f"{PIKEPDF}:flatten(pdf)",
            source="pdf",
            target="pdf",
            run="conversio_pdf.forms:flatten",
            operation="flatten",
            options=OptionsSchema.of(PASSWORD),
            description="form fields and annotations drawn into the pages, the form removed",
        ),
    ]


def describe_spec() -> ConverterSpec:
    return ConverterSpec(
        id=f"{PIKEPDF}:describe(pdf)",
        source="pdf",
        target="json",
        run="conversio_pdf.describe:describe",
        # asked for by name: never a route's way to json (csv -> pdf -> json would describe a PDF
        # the route made, not convert the user's data)
        operation="describe",
        options=OptionsSchema.of(PASSWORD),
        description="the PDF described: pages, metadata (Info, XMP), form fields, attachments",
    )


def attachment_specs() -> list[ConverterSpec]:
    return [
        ConverterSpec(
            id=f"{PIKEPDF}:attach(pdf)",
            source=ANY,
            target="pdf",
            run="conversio_pdf.attachments:attach",
            cardinality=Cardinality.MANY_TO_ONE,
            operation="attach",
            options=OptionsSchema.of(
                Option("replace", "bool", default=False, help="replace an attachment of the same name"),
                PASSWORD,
            ),
            description="the first input (a PDF) with the other files attached",
        ),
        ConverterSpec(
            id=f"{PIKEPDF}:remove-attachments(pdf)",
            source="pdf",
            target="pdf",
            run="conversio_pdf.attachments:remove_attachments",
            operation="remove-attachments",
            options=OptionsSchema.of(
                Option("names", "list", help="the attachments to remove (default: all)"), PASSWORD
            ),
            description="attached files removed",
        ),
        ConverterSpec(
            id=f"{PIKEPDF}:extract-attachments(pdf)",
            source="pdf",
            target=ANY,
            run="conversio_pdf.attachments:extract_attachments",
            cardinality=Cardinality.ONE_TO_MANY,
            operation="extract-attachments",
            options=OptionsSchema.of(PASSWORD),
            description="each attached file on its own, under a safe name",
        ),
    ]


def all_specs() -> list[ConverterSpec]:
    return [
        *raster_specs(),
        text_spec(),
        *image_specs(),
        *operation_specs(),
        pdfa_spec(),
        *form_specs(),
        describe_spec(),
        *attachment_specs(),
    ]
