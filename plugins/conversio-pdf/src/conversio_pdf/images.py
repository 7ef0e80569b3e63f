"""Images into one PDF with img2pdf: JPEG embedded as is, other images losslessly.

img2pdf gets an image's file as it is when it embeds it right; otherwise Pillow first
turns each page of it into a PNG that img2pdf does embed right (measured with img2pdf
0.6): transparency other than an RGBA/LA PNG or TIFF (a palette's tRNS came out fully
transparent, WebP alpha was refused) becomes RGBA or LA, kept as a soft mask, so a
transparent pixel shows the white page; EXIF orientations img2pdf ignores or gets wrong
(mirrored ones, any in a TIFF) are applied to the pixels; an animation (GIF, WebP,
APNG) gives its first frame, with a warning. A multi-page TIFF gives a page per page.
"""

from __future__ import annotations

import io
import logging
import warnings
from pathlib import PurePosixPath

import img2pdf  # type: ignore[import-untyped]
import pikepdf
from PIL import Image, ImageOps, ImageSequence

from conversio.converters import ConversionRequest, InputFile, Output
from conversio.errors import ConversioError, CorruptFile, FileTooLarge, UnsupportedFormat
from conversio.limits import Limits
from conversio_pdf.page_ranges import ordered

_ORIENTATION = 0x0112
#: EXIF orientations img2pdf turns into a page /Rotate (outside TIFF)
_ROTATIONS = (1, 3, 6, 8)
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")
_GREY_MODES = ("1", "L", "LA", "La", "I;16")
_KEPT_MODES = ("1", "L", "RGB", "I;16")

#: what img2pdf gets for one input: its path, or PNGs of its pages
Source = str | bytes


def _check_size(source: InputFile, image: Image.Image, limits: Limits) -> None:
    width, height = image.size
    if width * height > limits.max_pixels:
        raise FileTooLarge(
            f"{source.name} is {width}x{height} pixels, more than the limit of {limits.max_pixels}",
            file=source.name,
            pixels=width * height,
            limit=limits.max_pixels,
        )


def _transparent(image: Image.Image) -> bool:
    return image.mode in _ALPHA_MODES or "transparency" in image.info


def _needs_pillow(image: Image.Image) -> bool:
    """Whether img2pdf would embed this frame wrongly or refuse it."""
    orientation = image.getexif().get(_ORIENTATION, 1)
    if orientation != 1 and (image.format == "TIFF" or orientation not in _ROTATIONS):
        return True
    if "transparency" in image.info or image.mode in ("PA", "RGBa", "La"):
        return True
    return image.format == "WEBP" and image.mode == "RGBA"


def _png(image: Image.Image) -> bytes:
    """The frame upright, as a PNG img2pdf embeds right (alpha kept as RGBA or LA)."""
    upright = ImageOps.exif_transpose(image)
    grey = upright.mode in _GREY_MODES
    if _transparent(upright):
        upright = upright.convert("LA" if grey else "RGBA")
    elif upright.mode not in _KEPT_MODES:
        upright = upright.convert("L" if grey else "RGB")
    buffer = io.BytesIO()
    upright.save(buffer, "PNG", compress_level=6)
    return buffer.getvalue()


def _prepare(source: InputFile, request: ConversionRequest) -> list[Source]:
    """What img2pdf gets for ``source``: its path, or a PNG per page; checked against the limits."""
    name = source.name
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source.path) as image:
                _check_size(source, image, request.limits)
                if image.mode in ("I", "F"):
                    raise UnsupportedFormat(
                        f"{name} has 32-bit samples, which a PDF page cannot hold; "
                        "save it with 8 or 16 bits per sample",
                        file=name,
                    )
                frames = int(getattr(image, "n_frames", 1))
                if frames > 1 and image.format != "TIFF":
                    request.warn(f"{name} is animated ({frames} frames): its first frame is the page")
                    return [_png(image)]
                needed = False
                for frame in ImageSequence.Iterator(image):
                    _check_size(source, frame, request.limits)
                    needed = needed or _needs_pillow(frame)
                if not needed:
                    return [str(source.path)] * frames
                return [_png(frame) for frame in ImageSequence.Iterator(image)]
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise FileTooLarge(f"{name} has too many pixels", file=name) from None
    except (OSError, ValueError, SyntaxError, EOFError):
        raise CorruptFile(f"{name} is not a readable image: it is damaged or truncated", file=name) from None


def _embed(sources: list[Source]) -> bytes:
    """One PDF of ``sources``, by img2pdf (given a path, it embeds every frame of the file)."""
    logging.getLogger("img2pdf").setLevel(logging.ERROR)  # its notes on alpha are not for users
    return bytes(img2pdf.convert(*sources, rotation=img2pdf.Rotation.ifvalid))


def _failure(source: InputFile, exc: Exception) -> ConversioError:
    if isinstance(exc, (img2pdf.PdfTooLargeError, img2pdf.NegativeDimensionError)):
        return FileTooLarge(
            f"{source.name} does not fit a PDF page (over 200 inches a side)", file=source.name
        )
    return CorruptFile(
        f"{source.name} could not be embedded in a PDF: its image data is damaged", file=source.name
    )


_IMG2PDF_ERRORS = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    img2pdf.ImageOpenError,
    img2pdf.PdfTooLargeError,
    img2pdf.NegativeDimensionError,
)


def _convert(prepared: list[tuple[InputFile, list[Source]]]) -> bytes:
    """The PDF of every input; when img2pdf fails, the error names the image it failed on."""
    try:
        return _embed([one for _, sources in prepared for one in dict.fromkeys(sources)])
    except _IMG2PDF_ERRORS as exc:
        for source, sources in prepared:
            try:
                _embed(list(dict.fromkeys(sources)))
            except _IMG2PDF_ERRORS as own:
                raise _failure(source, own) from None
        raise ConversioError("the images could not be made into a PDF") from exc


def images_to_pdf(request: ConversionRequest) -> list[Output]:
    """One PDF, a page per image (per page of a multi-page TIFF), sized to the image."""
    inputs = ordered(request.inputs, [i.name for i in request.inputs], request.options["order"])
    prepared = [(source, _prepare(source, request)) for source in inputs]
    expected = sum(len(sources) for _, sources in prepared)
    if expected > request.limits.max_pages:
        raise FileTooLarge(
            f"the images would make {expected} pages, more than the limit of {request.limits.max_pages}",
            pages=expected,
            limit=request.limits.max_pages,
        )
    data = _convert(prepared)
    with pikepdf.open(io.BytesIO(data)) as pdf:
        pages = len(pdf.pages)
    if pages != expected:
        raise ConversioError(f"the images made {pages} pages instead of {expected}")
    name = PurePosixPath(inputs[0].name).stem if len(inputs) == 1 else "images"
    out = request.output(f"{name or 'images'}.pdf")
    out.path.write_bytes(data)
    request.progress(1.0, f"{pages} pages")
    return [out]
