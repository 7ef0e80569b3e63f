"""The options of every image converter and operation (plain data; no engine)."""

from __future__ import annotations

from conversio.options import Option, OptionsSchema
from conversio_image.catalogue import FORMATS

MAX_SIDE = 65_535
FITS = ("inside", "contain", "cover", "fill")

QUALITY = Option(
    "quality", "int", 85, "encoder quality, from 1 (smallest file) to 100 (best picture)", min=1, max=100
)
WIDTH = Option("width", "int", None, "output width in pixels (height follows the aspect if not given)",
               min=1, max=MAX_SIDE)  # fmt: skip
HEIGHT = Option("height", "int", None, "output height in pixels (width follows the aspect if not given)",
                min=1, max=MAX_SIDE)  # fmt: skip
FIT = Option(
    "fit",
    "str",
    "inside",
    "how width and height both apply: inside (keep the aspect, fit within the box), contain (keep the "
    "aspect, pad to the box with the background), cover (keep the aspect, crop to the box), fill (stretch)",
    choices=FITS,
)
DPI = Option(
    "dpi", "float", None, "resolution to record in the file (default: the source's)", min=1, max=100_000
)
SVG_DPI = Option(
    "dpi", "float", 96.0, "rendering resolution: 96 renders at the SVG's own size, 192 at twice it",
    min=1, max=10_000,
)  # fmt: skip
STRIP_METADATA = Option(
    "strip_metadata", "bool", False, "drop EXIF, ICC profile and XMP instead of carrying them over"
)
AUTO_ORIENT = Option(
    "auto_orient", "bool", True, "turn the pixels upright as the EXIF orientation says (and reset the tag)"
)
FIRST_FRAME = Option("first_frame", "bool", False, "keep only the first frame of an animation")


def background(default: str) -> Option:
    """The colour under transparent areas and of padding (a CSS colour, or ``transparent``)."""
    return Option(
        "background",
        "color",
        default,
        "colour under transparent areas, of padding and of uncovered corners "
        "(CSS-like: white, #ff0000, rgb(0,0,0); 'transparent' keeps the alpha)",
    )


def background_for(target: str) -> Option:
    return background("transparent" if FORMATS[target].alpha else "white")


def _encoding(target: str) -> list[Option]:
    """Options about how ``target`` is written."""
    fmt = FORMATS[target]
    options: list[Option] = []
    if fmt.quality:
        options.append(QUALITY)
    if fmt.dpi:
        options.append(DPI)
    if fmt.exif or fmt.icc:
        options.append(STRIP_METADATA)
    return options


def _reading(source: str, target: str) -> list[Option]:
    """Options about how ``source`` is read for ``target``."""
    src, dst = FORMATS[source], FORMATS[target]
    options: list[Option] = []
    if src.orientation:
        options.append(AUTO_ORIENT)
    if source in ("gif", "webp", "png", "avif") and (dst.frames or dst.pages):
        options.append(FIRST_FRAME)
    return options


def conversion_schema(source: str, target: str) -> OptionsSchema:
    """Options of the raster conversion ``source → target``."""
    return OptionsSchema.of(
        WIDTH, HEIGHT, FIT, background_for(target), *_reading(source, target), *_encoding(target)
    )


def svg_schema(target: str) -> OptionsSchema:
    """Options of rendering an SVG to ``target``."""
    encoding = [o for o in _encoding(target) if o.name != "dpi"]
    return OptionsSchema.of(WIDTH, HEIGHT, FIT, SVG_DPI, background_for(target), *encoding)


def _operation_common(fmt: str) -> list[Option]:
    return [*_reading(fmt, fmt), *_encoding(fmt)]


ANGLE = Option("angle", "float", help="degrees to turn clockwise", min=-360, max=360, required=True)
EXPAND = Option("expand", "bool", True, "grow the canvas so that the turned picture fits whole")
LEFT = Option("left", "int", 0, "left edge of the kept area, in pixels", min=0, max=MAX_SIDE * 8)
TOP = Option("top", "int", 0, "top edge of the kept area, in pixels", min=0, max=MAX_SIDE * 8)
CROP_WIDTH = Option("width", "int", None, "width of the kept area (default: up to the right edge)",
                    min=1, max=MAX_SIDE * 8)  # fmt: skip
CROP_HEIGHT = Option("height", "int", None, "height of the kept area (default: down to the bottom edge)",
                     min=1, max=MAX_SIDE * 8)  # fmt: skip
SIZE = Option(
    "size", "int", 256, "longest side of the thumbnail in pixels (never enlarges)", min=1, max=MAX_SIDE
)

OPERATIONS = ("resize", "rotate", "crop", "thumbnail")


def operation_schema(operation: str, fmt: str) -> OptionsSchema:
    """Options of ``operation`` applied to a ``fmt`` image."""
    common = _operation_common(fmt)
    if operation == "resize":
        return OptionsSchema.of(WIDTH, HEIGHT, FIT, background_for(fmt), *common)
    if operation == "rotate":
        return OptionsSchema.of(ANGLE, EXPAND, background_for(fmt), *common)
    if operation == "crop":
        return OptionsSchema.of(LEFT, TOP, CROP_WIDTH, CROP_HEIGHT, *common)
    if operation == "thumbnail":
        return OptionsSchema.of(SIZE, background_for(fmt), *common)
    raise ValueError(f"unknown operation {operation!r}")
