"""What each image format can hold: plain data, shared by the specs and the engine.

Importing this module imports no engine.
"""

from __future__ import annotations

import attrs


@attrs.frozen
class ImageFormat:
    """The capabilities of one image format, as conversio-image reads and writes it.

    ``pillow`` names the Pillow decoders allowed to open it (nothing else is
    tried, so a mislabelled file never reaches an unrelated parser). MPO files
    open through JPEG's decoder, which has no name of its own for them.
    """

    name: str
    pillow: tuple[str, ...]
    writable: bool = True
    lossy: bool = False
    alpha: bool = True
    frames: bool = False
    pages: bool = False
    exif: bool = False
    icc: bool = False
    dpi: bool = False
    quality: bool = False
    orientation: bool = False
    max_side: int = 65_535


FORMATS: dict[str, ImageFormat] = {
    f.name: f
    for f in (
        ImageFormat("jpg", ("JPEG",), lossy=True, alpha=False, exif=True, icc=True, dpi=True,
                    quality=True, orientation=True),
        ImageFormat("png", ("PNG",), frames=True, exif=True, icc=True, dpi=True, orientation=True,
                    max_side=2**31 - 1),
        ImageFormat("webp", ("WEBP",), lossy=True, frames=True, exif=True, icc=True, quality=True,
                    orientation=True, max_side=16_383),
        ImageFormat("gif", ("GIF",), lossy=True, frames=True),
        ImageFormat("bmp", ("BMP", "DIB"), alpha=False, dpi=True, max_side=2**31 - 1),
        ImageFormat("tiff", ("TIFF",), pages=True, exif=True, icc=True, dpi=True, orientation=True,
                    max_side=2**31 - 1),
        ImageFormat("ico", ("ICO",)),
        ImageFormat("avif", ("AVIF",), lossy=True, frames=True, exif=True, icc=True, quality=True,
                    orientation=True),
        ImageFormat("heic", ("HEIF",), writable=False, exif=True, icc=True),
        ImageFormat("svg", (), writable=False),
    )
}  # fmt: skip

#: Formats written by Pillow (targets of conversions and of operations).
WRITABLE: tuple[str, ...] = tuple(name for name, f in FORMATS.items() if f.writable)

#: Raster formats Pillow (or pillow-heif) reads.
RASTER_SOURCES: tuple[str, ...] = tuple(name for name, f in FORMATS.items() if f.pillow)

#: Targets an SVG is rendered to.
SVG_TARGETS: tuple[str, ...] = ("png", "jpg", "webp")

#: Sources that may hold an animation (several frames of one picture).
ANIMATED_SOURCES: tuple[str, ...] = ("gif", "webp", "png", "avif")


#: TIFF baseline tags that describe the picture (the others describe the file's layout).
TIFF_DESCRIPTIVE_TAGS = (269, 270, 271, 272, 274, 305, 306, 315, 316, 33432)


def holds_many(name: str) -> bool:
    """Whether ``name`` stores several frames or pages in one file."""
    fmt = FORMATS[name]
    return fmt.frames or fmt.pages
