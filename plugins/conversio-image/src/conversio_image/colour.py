"""Colour modes: every decoded mode brought to a working mode, and alpha over a background."""

from __future__ import annotations

import io

from PIL import Image, ImageCms, ImageColor

from conversio.errors import InvalidOption

#: The modes frames are kept in between reading and writing.
WORKING_MODES = frozenset({"1", "L", "LA", "RGB", "RGBA"})
_SIXTEEN_BIT = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})

RGBA = tuple[int, int, int, int]


def parse_colour(value: str) -> RGBA:
    """A CSS-like colour (``white``, ``#ff000080``, ``rgb(0,0,0)``, ``transparent``) as RGBA."""
    text = value.strip().lower()
    if text in ("transparent", "none"):
        return (0, 0, 0, 0)
    try:
        rgba = ImageColor.getcolor(text, "RGBA")
    except ValueError:
        raise InvalidOption(
            f"option 'background'={value!r} is not a colour (try white, #ff0000, rgb(0,0,0) or transparent)",
            option="background",
            value=value,
        ) from None
    assert isinstance(rgba, tuple)
    return (rgba[0], rgba[1], rgba[2], rgba[3])


def has_alpha(im: Image.Image) -> bool:
    return im.mode in ("LA", "RGBA")


def normalize(im: Image.Image, icc: bytes | None, bits: int = 16) -> tuple[Image.Image, bytes | None]:
    """``im`` in a working mode, with the ICC profile that still describes its pixels.

    CMYK goes to sRGB through its embedded profile when there is one; 16-bit and
    float greys are scaled, not clipped (``bits``: how many of a 16-bit sample's bits
    are used, 12 for a 12-bit TIFF); palettes keep their transparency.
    """
    mode = im.mode
    if mode in WORKING_MODES:
        return im, icc
    if mode == "CMYK":
        return _cmyk_to_rgb(im, icc), None
    if mode == "P":
        return im.convert("RGBA" if im.has_transparency_data else "RGB"), icc
    if mode in ("PA", "RGBa"):
        return im.convert("RGBA"), icc
    if mode == "La":
        return im.convert("LA"), icc
    if mode == "RGBX":
        return im.convert("RGB"), icc
    if mode in _SIXTEEN_BIT or mode in ("I", "F"):
        return _deep_grey_to_l(im, bits), icc
    # YCbCr, LAB, HSV and rarer modes: their profiles do not describe RGB pixels.
    return im.convert("RGB"), None


def _cmyk_to_rgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(
                im, source, ImageCms.createProfile("sRGB"), outputMode="RGB"
            )
            if converted is not None:
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass
    return im.convert("RGB")


def _deep_grey_to_l(im: Image.Image, bits: int) -> Image.Image:
    """16-bit, 32-bit and float greys to 8 bits, scaling rather than clipping."""
    if im.mode in _SIXTEEN_BIT:
        low, high = 0.0, float(2**bits - 1)
    else:
        extrema = im.getextrema()
        low, high = float(extrema[0]), float(extrema[1])  # type: ignore[arg-type]
        if im.mode == "F" and low >= 0.0 and high <= 1.0:
            low, high = 0.0, 1.0
        elif im.mode == "I" and low >= 0 and high <= 255:
            low, high = 0.0, 255.0
        elif im.mode == "I" and low >= 0 and high <= 65535:
            low, high = 0.0, 65535.0
    span = (high - low) or 1.0
    scale, offset = 255.0 / span, 0.5 - low * 255.0 / span  # + 0.5: round, do not truncate
    source = im if im.mode == "F" else im.convert("I")
    return source.point(lambda v: v * scale + offset).convert("L")


def flatten(im: Image.Image, colour: RGBA) -> Image.Image:
    """``im`` without alpha, composited over an opaque ``colour``."""
    if not has_alpha(im):
        return im
    base = Image.new("RGBA", im.size, colour)
    base.alpha_composite(im.convert("RGBA"))
    return base.convert("L" if im.mode == "LA" and _is_grey(colour) else "RGB")


def over_background(im: Image.Image, colour: RGBA) -> Image.Image:
    """``im`` composited over ``colour`` keeping alpha (a no-op for a transparent colour)."""
    if colour[3] == 0 or not has_alpha(im):
        return im
    if colour[3] == 255:
        return flatten(im, colour)
    base = Image.new("RGBA", im.size, colour)
    base.alpha_composite(im.convert("RGBA"))
    return base


def _is_grey(colour: RGBA) -> bool:
    return colour[0] == colour[1] == colour[2]
