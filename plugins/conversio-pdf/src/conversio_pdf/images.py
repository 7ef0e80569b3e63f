"""Images into one PDF with img2pdf: JPEG embedded as is, other images losslessly."""

from __future__ import annotations

import io
import warnings
from pathlib import PurePosixPath

import img2pdf  # type: ignore[import-untyped]
import pikepdf
from PIL import Image

from conversio.converters import ConversionRequest, InputFile, Output
from conversio.errors import ConversioError, CorruptFile, FileTooLarge
from conversio.limits import Limits
from conversio_pdf.page_ranges import ordered


def _frames(source: InputFile, limits: Limits) -> int:
    """How many pages ``source`` gives (its frames); ``FILE_TOO_LARGE`` above ``max_pixels`` a frame."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source.path) as image:
                width, height = image.size
                frames = int(getattr(image, "n_frames", 1))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise FileTooLarge(f"{source.name} has too many pixels", file=source.name) from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise CorruptFile(f"{source.name} is not a readable image: {exc}", file=source.name) from None
    if width * height > limits.max_pixels:
        raise FileTooLarge(
            f"{source.name} is {width}x{height} pixels, more than the limit of {limits.max_pixels}",
            file=source.name,
            pixels=width * height,
            limit=limits.max_pixels,
        )
    return frames


def images_to_pdf(request: ConversionRequest) -> list[Output]:
    """One PDF, a page per image (per frame of a multi-page TIFF or GIF), sized to the image."""
    inputs = ordered(request.inputs, [i.name for i in request.inputs], request.options["order"])
    expected = sum(_frames(source, request.limits) for source in inputs)
    if expected > request.limits.max_pages:
        raise FileTooLarge(
            f"the images would make {expected} pages, more than the limit of {request.limits.max_pages}",
            pages=expected,
            limit=request.limits.max_pages,
        )
    try:
        data = img2pdf.convert(*[str(i.path) for i in inputs], rotation=img2pdf.Rotation.ifvalid)
    except (img2pdf.ImageOpenError, img2pdf.UnsupportedColorspaceError, img2pdf.JpegColorspaceError) as exc:
        raise CorruptFile(f"an image could not be embedded: {exc}") from None
    except (img2pdf.PdfTooLargeError, img2pdf.NegativeDimensionError) as exc:
        raise FileTooLarge(f"an image does not fit a PDF page: {exc}") from None
    except (OSError, ValueError, SyntaxError, img2pdf.AlphaChannelError) as exc:
        raise CorruptFile(f"an image could not be read: {exc}") from None
    with pikepdf.open(io.BytesIO(data)) as pdf:
        pages = len(pdf.pages)
    if pages != expected:
        raise ConversioError(f"img2pdf made {pages} pages from {expected} images and frames")
    name = PurePosixPath(inputs[0].name).stem if len(inputs) == 1 else "images"
    out = request.output(f"{name or 'images'}.pdf")
    out.path.write_bytes(data)
    request.progress(1.0, f"{pages} pages")
    return [out]
