"""``confirm_format``: does a file really read as one of conversio-image's formats?

Headers only: Pillow (or pillow-heif) opens the file without decoding pixels; an SVG's first
element is read from its first :data:`~conversio_image.diagnosis.HEAD_BYTES`. A file of the
format using a feature conversio-image cannot read (a 12-bit JPEG, a BigTIFF in big-endian
order) still is of that format: the conversion then says what is unsupported.
"""

from __future__ import annotations

import io
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

from PIL import Image

from conversio_image.catalogue import FORMATS
from conversio_image.diagnosis import HEAD_BYTES, feature_of
from conversio_image.reading import ensure_heif
from conversio_image.svg import SVG_NS


def confirm(path: Path, fmt: str) -> bool | None:
    """True when ``path`` reads as ``fmt``, False when not, None when ``fmt`` is not ours."""
    if fmt not in FORMATS:
        return None
    try:
        with path.open("rb") as stream:
            head = stream.read(HEAD_BYTES)
    except OSError:
        return False
    if fmt == "svg":
        return _svg_root(head)
    if fmt == "heic":
        ensure_heif()
    Image.init()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path, formats=list(FORMATS[fmt].pillow)):
                return True
    except Image.DecompressionBombError:
        return True  # of the format, but too big: the conversion says so
    except Exception:  # a hostile file may raise anything: it does not read as fmt
        return feature_of(head, fmt) is not None


def _svg_root(head: bytes) -> bool:
    """Whether the first element of the XML document starting with ``head`` is ``<svg>``."""
    try:
        for _, element in ET.iterparse(io.BytesIO(head), events=("start",)):
            return bool(element.tag in ("svg", f"{{{SVG_NS}}}svg"))
    except ET.ParseError:
        return False
    return False
