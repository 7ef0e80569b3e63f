"""SVG input: made self-contained (no file or network access), sized, then rendered by resvg.

resvg never fetches URLs, but it does read local files named by ``href``
(``<image>``, ``<feImage>``). Before rendering, every ``href`` that is not a
same-document ``#fragment`` or a ``data:`` URL is removed; embedded rasters are
checked against the pixel limit, embedded SVGs are cleaned the same way. The
size is worked out before rendering, so an SVG claiming a huge canvas is
refused without allocating it.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import re
import xml.etree.ElementTree as ET

import attrs
from PIL import Image

from conversio.errors import ConversionFailed, CorruptFile, FileTooLarge
from conversio.limits import Limits
from conversio_image.guards import check_pixels, decoding

log = logging.getLogger("conversio_image")

SVG_NS = "http://www.w3.org/2000/svg"
_NESTING = 3
_LENGTH = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(px|in|cm|mm|pt|pc|em|ex|%)?$")
#: User units per unit at 96 dpi (em and ex at the default 16 px font size).
_UNITS = {None: 1.0, "px": 1.0, "in": 96.0, "cm": 96 / 2.54, "mm": 96 / 25.4, "pt": 4 / 3, "pc": 16.0,
          "em": 16.0, "ex": 8.0}  # fmt: skip
_RASTER_DATA = {"image/png": "PNG", "image/jpeg": "JPEG", "image/jpg": "JPEG", "image/gif": "GIF",
                "image/webp": "WEBP"}  # fmt: skip
_IMPORT = re.compile(r"@import[^;]*;?", re.I)


@attrs.frozen
class CleanSvg:
    """A self-contained SVG document, its size in user units (px at 96 dpi), and what was removed."""

    text: str
    width: float
    height: float
    removed: tuple[str, ...] = ()


def clean(data: bytes, limits: Limits, display: str, depth: int = 0) -> CleanSvg:
    """Parse ``data``, drop every external reference, and measure the canvas."""
    if not data.strip():
        raise CorruptFile(f"{display} is empty", file=display)
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise CorruptFile(f"{display} is not well-formed XML: {exc}", file=display) from None
    if root.tag not in (f"{{{SVG_NS}}}svg", "svg"):
        raise CorruptFile(f"{display} is XML but not SVG (root element {root.tag!r})", file=display)
    removed: list[str] = []
    for element in root.iter():
        for key in [k for k in element.attrib if k == "href" or k.endswith("}href")]:
            value = element.attrib[key].strip()
            kept = _keep_reference(value, limits, display, depth)
            if kept is None:
                removed.append(value[:200])
                del element.attrib[key]
            else:
                element.attrib[key] = kept
        if element.tag in (f"{{{SVG_NS}}}style", "style") and element.text:
            element.text = _IMPORT.sub("", element.text)
    width, height = _intrinsic_size(root, display)
    return CleanSvg(ET.tostring(root, encoding="unicode"), width, height, tuple(removed))


def _keep_reference(value: str, limits: Limits, display: str, depth: int) -> str | None:
    """The reference to keep in place of ``value``, or None to drop it."""
    if value.startswith("#"):
        return value
    if value[:5].lower() != "data:":
        return None
    header, _, payload = value[5:].partition(",")
    media_type = header.split(";")[0].strip().lower()
    if not header.lower().endswith(";base64"):
        return None
    try:
        raw = base64.b64decode(payload, validate=False)
    except (binascii.Error, ValueError):
        return None
    if media_type in _RASTER_DATA:
        embedded = f"{display} (embedded image)"
        decoders = [_RASTER_DATA[media_type]]
        with decoding(embedded, limits), Image.open(io.BytesIO(raw), formats=decoders) as im:
            check_pixels(im.size, limits, embedded)
        return value
    if media_type == "image/svg+xml" and depth < _NESTING:
        inner = clean(raw, limits, f"{display} (embedded SVG)", depth + 1)
        return "data:image/svg+xml;base64," + base64.b64encode(inner.text.encode()).decode()
    return None


def _intrinsic_size(root: ET.Element, display: str) -> tuple[float, float]:
    """The canvas size resvg gives the document (width/height, else the viewBox, else 100)."""
    view_box = _view_box(root.get("viewBox"))
    width = _length(root.get("width"), view_box[0] if view_box else None)
    height = _length(root.get("height"), view_box[1] if view_box else None)
    if view_box:
        vw, vh = view_box
        if width is None and height is None:
            width, height = vw, vh
        elif width is None:
            assert height is not None
            width = height * vw / vh
        elif height is None:
            height = width * vh / vw
    width = 100.0 if width is None else width
    height = 100.0 if height is None else height
    if not (width > 0 and height > 0):
        raise CorruptFile(f"{display} has no usable size ({width:g} x {height:g})", file=display)
    return width, height


def _view_box(value: str | None) -> tuple[float, float] | None:
    if not value:
        return None
    parts = value.replace(",", " ").split()
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        return None
    if len(numbers) != 4 or numbers[2] <= 0 or numbers[3] <= 0:
        return None
    return numbers[2], numbers[3]


def _length(value: str | None, reference: float | None) -> float | None:
    if value is None:
        return None
    match = _LENGTH.match(value)
    if match is None:
        return None
    number, unit = float(match.group(1)), match.group(2)
    if unit == "%":
        return (reference if reference is not None else 100.0) * number / 100.0
    return number * _UNITS[unit]


def render(svg: CleanSvg, size: tuple[int, int], limits: Limits, display: str) -> Image.Image:
    """Render ``svg`` to an RGBA image fitting within ``size`` (resvg keeps the aspect)."""
    import resvg_py

    check_pixels(size, limits, display, "rendered SVG")
    try:
        png = resvg_py.svg_to_bytes(svg_string=svg.text, width=size[0], height=size[1], dpi=96.0)
    except ValueError as exc:
        log.info("resvg refused %s: %s", display, exc)
        raise CorruptFile(
            f"{display} could not be rendered: its drawing is not valid SVG; check it in a browser",
            file=display,
        ) from None
    except MemoryError:
        raise FileTooLarge(f"{display} needs more memory to render than is available", file=display) from None
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # resvg panics surface as pyo3's PanicException (a BaseException)
        log.warning("resvg failed on %s: %s", display, exc)
        raise ConversionFailed(
            f"{display} could not be rendered: the SVG renderer failed on it unexpectedly", file=display
        ) from None
    with decoding(display, limits):
        im = Image.open(io.BytesIO(bytes(png)), formats=["PNG"])
        im.load()
    return im.convert("RGBA")
