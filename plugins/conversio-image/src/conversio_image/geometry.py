"""Sizes and shapes: fitting into a box, turning, cropping, thumbnails (one frame at a time)."""

from __future__ import annotations

from PIL import Image

from conversio.errors import InvalidOption
from conversio_image.colour import RGBA, has_alpha

Size = tuple[int, int]
_RESAMPLE = Image.Resampling.LANCZOS


def fit_sizes(size: Size, width: int | None, height: int | None, fit: str) -> tuple[Size, Size]:
    """``(scaled, box)``: the size ``size`` is scaled to, and the final canvas size.

    With one side given the other follows the aspect; with both, ``fit`` says
    how: ``inside`` (scaled == box, within the box), ``contain`` (padded to the
    box), ``cover`` (cropped to the box), ``fill`` (stretched).
    """
    w, h = size
    if width is None and height is None:
        return size, size
    if width is None:
        assert height is not None
        scaled = (max(1, round(w * height / h)), height)
        return scaled, scaled
    if height is None:
        scaled = (width, max(1, round(h * width / w)))
        return scaled, scaled
    if fit == "fill":
        return (width, height), (width, height)
    scale = max(width / w, height / h) if fit == "cover" else min(width / w, height / h)
    scaled = (max(1, round(w * scale)), max(1, round(h * scale)))
    if fit == "inside":
        return scaled, scaled
    return scaled, (width, height)


def resize(im: Image.Image, width: int | None, height: int | None, fit: str, background: RGBA) -> Image.Image:
    """``im`` scaled as :func:`fit_sizes` says, then cropped (cover) or padded (contain)."""
    scaled, box = fit_sizes(im.size, width, height, fit)
    if scaled != im.size:
        im = (im.convert("L") if im.mode == "1" else im).resize(scaled, _RESAMPLE)
    if box == scaled:
        return im
    if fit == "cover":
        left, top = (scaled[0] - box[0]) // 2, (scaled[1] - box[1]) // 2
        return im.crop((left, top, left + box[0], top + box[1]))
    canvas = Image.new(_canvas_mode(im, background), box, _fill(_canvas_mode(im, background), background))
    canvas.paste(im.convert(canvas.mode), ((box[0] - scaled[0]) // 2, (box[1] - scaled[1]) // 2))
    return canvas


def rotate(im: Image.Image, clockwise: float, expand: bool, background: RGBA) -> Image.Image:
    """``im`` turned clockwise by ``clockwise`` degrees; right angles are exact."""
    turns = clockwise % 360
    exact = {
        90.0: Image.Transpose.ROTATE_270,
        180.0: Image.Transpose.ROTATE_180,
        270.0: Image.Transpose.ROTATE_90,
    }
    if turns == 0:
        return im
    if turns in exact and (expand or turns == 180.0 or im.width == im.height):
        return im.transpose(exact[turns])
    mode = _canvas_mode(im, background)
    source = im.convert(mode) if im.mode != mode else im
    return source.rotate(
        -clockwise, resample=Image.Resampling.BICUBIC, expand=expand, fillcolor=_fill(mode, background)
    )


def crop(im: Image.Image, left: int, top: int, width: int | None, height: int | None) -> Image.Image:
    """The rectangle at ``left, top`` of ``width`` x ``height`` (default: to the edges)."""
    w, h = im.size
    if left >= w or top >= h:
        raise InvalidOption(
            f"the crop starts at ({left}, {top}), outside the {w}x{h} image",
            option="left" if left >= w else "top",
            value=left if left >= w else top,
        )
    right = w if width is None else left + width
    bottom = h if height is None else top + height
    if right > w or bottom > h:
        raise InvalidOption(
            f"the crop ({left}, {top}) + {right - left}x{bottom - top} goes past the {w}x{h} image",
            option="width" if right > w else "height",
            value=width if right > w else height,
        )
    return im.crop((left, top, right, bottom))


def thumbnail(im: Image.Image, size: int) -> Image.Image:
    """``im`` shrunk to fit a ``size`` square, keeping the aspect; never enlarged."""
    if im.width <= size and im.height <= size:
        return im
    scaled, _ = fit_sizes(im.size, size, size, "inside")
    return (im.convert("L") if im.mode == "1" else im).resize(scaled, _RESAMPLE)


def _canvas_mode(im: Image.Image, background: RGBA) -> str:
    grey = im.mode in ("1", "L", "LA") and background[0] == background[1] == background[2]
    if has_alpha(im) or background[3] < 255:
        return "LA" if grey else "RGBA"
    return "L" if grey else "RGB"


def _fill(mode: str, background: RGBA) -> int | tuple[int, ...]:
    if mode == "L":
        return background[0]
    if mode == "LA":
        return (background[0], background[3])
    if mode == "RGB":
        return background[:3]
    return background
