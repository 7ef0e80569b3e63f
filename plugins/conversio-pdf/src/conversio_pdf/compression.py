"""Photos inside a PDF re-encoded as JPEG when that makes them smaller."""

from __future__ import annotations

import io

import pikepdf

from conversio_pdf.inflation import flate_layers, inflated_size

_SIMPLE_COLOURS = ("/DeviceRGB", "/DeviceGray")


def _recompressible(stream: pikepdf.Stream, max_pixels: int) -> pikepdf.PdfImage | None:
    """The image of ``stream`` when a JPEG can stand in for it exactly (8-bit RGB or grey, no tricks)."""
    if stream.get("/Subtype") != pikepdf.Name.Image or "/Mask" in stream or "/Decode" in stream:
        return None
    image = pikepdf.PdfImage(stream)
    if image.image_mask or image.bits_per_component != 8 or image.colorspace not in _SIMPLE_COLOURS:
        return None
    if image.width * image.height > max_pixels or image.width < 16 or image.height < 16:
        return None
    if flate_layers(stream) and inflated_size(stream, _room(image) + 1) > _room(image):
        return None  # far more data than its size needs (a decompression bomb): left as it is
    return image


def _room(image: pikepdf.PdfImage) -> int:
    """Twice the bytes an 8-bit ``image`` needs (rows may carry a predictor byte), and a page."""
    channels = 1 if image.colorspace == "/DeviceGray" else 3
    return 2 * image.height * (image.width * channels + 1) + 4096


def recompress_images(pdf: pikepdf.Pdf, quality: int, max_pixels: int) -> int:
    """Re-encode every simple image at JPEG ``quality`` where smaller; the number replaced."""
    replaced = 0
    for obj in pdf.objects:
        if not isinstance(obj, pikepdf.Stream):
            continue
        image = _recompressible(obj, max_pixels)
        if image is None:
            continue
        try:
            decoded = image.as_pil_image()
        except (pikepdf.PdfError, NotImplementedError, OSError, ValueError):
            continue  # an encoding pikepdf or Pillow cannot decode: keep it as it is
        buffer = io.BytesIO()
        decoded.save(buffer, "JPEG", quality=quality, optimize=True)
        if buffer.tell() < len(obj.read_raw_bytes()):
            obj.write(buffer.getvalue(), filter=pikepdf.Name.DCTDecode)
            if "/DecodeParms" in obj:
                del obj["/DecodeParms"]
            replaced += 1
    return replaced
