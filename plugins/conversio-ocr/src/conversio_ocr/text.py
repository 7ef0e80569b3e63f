"""Text read by Tesseract (through OCRmyPDF's sidecar) in an image or a scanned PDF.

Every page of a PDF is OCRed (``--mode force``: the router takes this converter for scans,
whose pages are pictures); a TIFF's pages all are. Pages are separated by a form feed, as
in the pdf plugin's text. An image that records no resolution is read at ``dpi``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePosixPath

from conversio.converters import ConversionRequest, Output
from conversio.errors import ConversionFailed
from conversio_ocr.engine import Job, run
from conversio_ocr.inputs import image_dpi, inspect_pdf


def recognise_text(request: ConversionRequest) -> list[Output]:
    """The text of every page of the input (UTF-8); a result without any text is refused."""
    source = request.input
    if source.format == "pdf":
        facts = inspect_pdf(source.path, source.name, request.limits)
        # reading a signed PDF's text leaves the file (and its signatures) as it is
        flags: tuple[str, ...] = ("--mode", "force") + (("--invalidate-digital-signatures",) * facts.signed)
    elif image_dpi(source.path, source.name, request.limits) is None:
        flags = ("--image-dpi", str(request.options["dpi"]))
    else:
        flags = ()
    with tempfile.TemporaryDirectory(prefix="conversio-ocr-") as folder:
        sidecar = Path(folder) / "text.txt"
        run(Job("OCR of", source.path, None, flags, sidecar), request, Path(folder))
        text = sidecar.read_text(encoding="utf-8", errors="replace")
    if not text.strip():
        raise ConversionFailed(
            f"no text was found in {source.name}: it looks blank to the OCR engine (if it holds "
            "text, check the option 'language')",
            file=source.name,
            final=True,
        )
    out = request.output(f"{PurePosixPath(source.name).stem or 'document'}.txt")
    out.path.write_text(text, encoding="utf-8")
    return [out]
