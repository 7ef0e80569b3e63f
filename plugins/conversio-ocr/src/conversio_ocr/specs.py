"""Every converter and operation of conversio-ocr, as ConverterSpecs (no engine imported).

Costs, against conversio-pdf's: its text extraction (``pdf.pdfium:pdf->txt``) costs 2 and
its image → PDF (img2pdf) 1. OCR of a PDF into text costs 3, more than reading a text layer,
so the router takes it only when that is refused (a scan) or asked for; an image into text
costs 2.5, less than the image made a PDF and then read (3), and the cheapest way from a PDF
to text through OCR stays this one (3 < PDFium's rendering 2 + an image's OCR 2.5).
A searchable PDF of images is their PDF (img2pdf) followed by the ``ocr`` operation.
"""

from __future__ import annotations

from conversio.converters import ConverterSpec
from conversio.options import Option, OptionsSchema

OCRMYPDF = "ocr.ocrmypdf"
INSTALL_HINT = (
    "install Tesseract and its English data: apt-get install tesseract-ocr tesseract-ocr-eng "
    "(more languages: tesseract-ocr-<code>, e.g. tesseract-ocr-deu)"
)
#: Image formats Tesseract reads through OCRmyPDF (a TIFF may hold several pages).
IMAGE_SOURCES = ("png", "jpg", "tiff")
#: The resolution assumed for an image that does not record one (a screenshot, a photo).
DEFAULT_IMAGE_DPI = 300

LANGUAGE = Option(
    "language",
    "str",
    default="eng",
    help="the text's languages as Tesseract codes joined with +, e.g. eng+deu (installed ones only)",
)
ROTATE = Option("rotate", "bool", default=False, help="turn pages upright by their detected text orientation")
DESKEW = Option("deskew", "bool", default=False, help="straighten pages scanned at a slant")
CLEAN = Option(
    "clean", "bool", default=False, help="clean specks (unpaper) before OCR; the pages shown keep them"
)
MODE = Option(
    "mode",
    "str",
    default="skip",
    choices=("skip", "redo", "force"),
    help="skip: leave pages that already have text; redo: replace an earlier OCR layer; "
    "force: rasterise every page and OCR it (its vector text becomes an image)",
)
OPTIMIZE = Option(
    "optimize",
    "int",
    default=1,
    min=0,
    max=3,
    help="0: none; 1: lossless (default); 2: lossy JPEG and PNG (pngquant); 3: more aggressive lossy",
)
DPI = Option(
    "dpi",
    "int",
    default=DEFAULT_IMAGE_DPI,
    min=50,
    max=1200,
    help="the resolution of an image that does not record one",
)
#: The options every OCR converter takes (what is read, and how the pages are prepared).
READING = (LANGUAGE, ROTATE, DESKEW, CLEAN)


def ocr_spec() -> ConverterSpec:
    return ConverterSpec(
        id=f"{OCRMYPDF}:ocr(pdf)",
        source="pdf",
        target="pdf",
        run="conversio_ocr.searchable:make_searchable",
        operation="ocr",
        install_hint=INSTALL_HINT,
        options=OptionsSchema.of(*READING, MODE, OPTIMIZE),
        description="an invisible text layer added by Tesseract (searchable, selectable); "
        "the pages look the same (a plain PDF, not PDF/A)",
    )


def pdf_text_spec() -> ConverterSpec:
    return ConverterSpec(
        id=f"{OCRMYPDF}:pdf->txt",
        source="pdf",
        target="txt",
        run="conversio_ocr.text:recognise_text",
        cost=3.0,
        lossy=True,
        install_hint=INSTALL_HINT,
        options=OptionsSchema.of(*READING),
        description="the text Tesseract reads on each page (a scan), pages separated by a form feed",
    )


def image_text_specs() -> list[ConverterSpec]:
    return [
        ConverterSpec(
            id=f"{OCRMYPDF}:{source}->txt",
            source=source,
            target="txt",
            run="conversio_ocr.text:recognise_text",
            cost=2.5,
            lossy=True,
            install_hint=INSTALL_HINT,
            options=OptionsSchema.of(*READING, DPI),
            description=f"the text Tesseract reads in a {source} image"
            + (" (each page of a multi-page TIFF, separated by a form feed)" if source == "tiff" else ""),
        )
        for source in IMAGE_SOURCES
    ]


def all_specs() -> list[ConverterSpec]:
    return [ocr_spec(), pdf_text_spec(), *image_text_specs()]
