"""Why a file Pillow could not read was refused: a named feature it does not support, another
image format under this one's name, or (when neither) damage.

Only asked after decoding failed, so a readable file never pays for it. Everything here reads
headers (at most :data:`HEAD_BYTES`) and never decodes pixels.
"""

from __future__ import annotations

import struct
from pathlib import Path

from PIL import Image

from conversio.errors import ConversioError, FormatMismatch, UnsupportedFormat
from conversio_image.catalogue import FORMATS

HEAD_BYTES = 64 * 1024

#: TIFF compressions libtiff always decodes: a failure with one of them is damage.
_BASELINE_TIFF = frozenset({1, 2, 3, 4, 5, 7, 8, 32773, 32946})
_TIFF_COMPRESSIONS = {
    6: "old-style JPEG",
    32809: "ThunderScan",
    34661: "JBIG",
    34676: "SGI LogL",
    34677: "SGI LogLuv",
    34712: "JPEG 2000",
    34887: "LERC",
    34925: "LZMA",
    50000: "Zstandard",
    50001: "WebP",
    50002: "JPEG XL",
}
_BMP_COMPRESSIONS = {1: "RLE8", 2: "RLE4", 3: "bit fields", 4: "embedded JPEG", 5: "embedded PNG",
                     6: "alpha bit fields", 11: "CMYK", 12: "CMYK RLE8", 13: "CMYK RLE4"}  # fmt: skip
#: Pillow formats a mislabelled file is recognised as (all header-only), with a name for users.
_OTHER_FORMATS = {"PSD": "Photoshop (PSD)", "JPEG2000": "JPEG 2000", "DDS": "DirectDraw Surface (DDS)",
                  "QOI": "QOI"}  # fmt: skip
_OURS = {"MPO": "jpg"} | {pillow: name for name, fmt in FORMATS.items() for pillow in fmt.pillow}
#: ISO-BMFF brands of image sequences (a track of frames, not items).
_SEQUENCE_BRANDS = (b"msf1", b"hevs", b"avis")


def explain(path: Path, fmt: str, display: str) -> ConversioError | None:
    """The precise error for a file of ``fmt`` that could not be read, or None (damage)."""
    try:
        with path.open("rb") as stream:
            head = stream.read(HEAD_BYTES)
    except OSError:
        return None
    feature = feature_of(head, fmt)
    if feature is not None:
        return unsupported(display, fmt, feature)
    return _other_format(path, fmt, display)


def feature_of(head: bytes, fmt: str) -> str | None:
    """The feature of a file of ``fmt`` (starting with ``head``) that Pillow does not read, if any."""
    reader = _FEATURES.get(fmt)
    return reader(head) if reader is not None else None


def unsupported(display: str, fmt: str, feature: str) -> UnsupportedFormat:
    return UnsupportedFormat(
        f"{display} is a {fmt} file using {feature}, which conversio-image cannot read; "
        "save it again without it (for example as PNG) and retry",
        file=display,
        format=fmt,
        feature=feature,
    )


def jpeg_feature(head: bytes) -> str | None:
    """A JPEG coding Pillow does not decode: more than 8 bits a sample, lossless or hierarchical."""
    if head[:3] != b"\xff\xd8\xff":
        return None
    offset = 2
    while offset + 4 <= len(head) and head[offset] == 0xFF:
        marker = head[offset + 1]
        if marker == 0xFF:  # fill byte
            offset += 1
            continue
        length = struct.unpack_from(">H", head, offset + 2)[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if marker in (0xC3, 0xC7, 0xCB, 0xCF):
                return "lossless JPEG coding"
            if marker in (0xC5, 0xC6, 0xCD, 0xCE):
                return "hierarchical JPEG coding"
            precision = head[offset + 4] if offset + 4 < len(head) else 8
            return f"{precision}-bit samples" if precision != 8 else None
        if marker == 0xDA:
            return None
        offset += 2 + length
    return None


def tiff_feature(head: bytes) -> str | None:
    """A TIFF layout Pillow does not read: big-endian BigTIFF, a compression its libtiff may lack,
    floating-point colour."""
    if head[:4] == b"MM\x00+":
        return "big-endian BigTIFF"
    tags = _first_ifd(head)
    if tags is None:
        return None
    compression = tags.get(259, (1,))[0]
    if compression not in _BASELINE_TIFF:
        return f"{_TIFF_COMPRESSIONS.get(compression, 'an unknown')} compression (code {compression})"
    samples = tags.get(277, (1,))[0]
    if 3 in tags.get(339, ()) and samples > 1:
        return "floating-point colour samples"
    bits = set(tags.get(258, (1,)))
    if samples > 1 and not bits <= {8, 16}:
        return f"{'/'.join(str(b) for b in sorted(bits))}-bit colour samples"
    return None


def _first_ifd(head: bytes) -> dict[int, tuple[int, ...]] | None:
    """The SHORT and LONG values of the first directory of a classic or BigTIFF, when in ``head``."""
    order = {b"II": "<", b"MM": ">"}.get(head[:2])
    if order is None or len(head) < 16:
        return None
    version = struct.unpack_from(order + "H", head, 2)[0]
    if version not in (42, 43):
        return None
    big = version == 43
    count_code, entry, offset_code = ("Q", 20, "Q") if big else ("H", 12, "I")
    at = struct.unpack_from(order + offset_code, head, 8 if big else 4)[0]
    if at + 8 > len(head):
        return None
    count = struct.unpack_from(order + count_code, head, at)[0]
    at += struct.calcsize(count_code)
    tags: dict[int, tuple[int, ...]] = {}
    for index in range(min(count, 512)):
        start = at + index * entry
        if start + entry > len(head):
            break
        tag, kind = struct.unpack_from(order + "HH", head, start)
        number = struct.unpack_from(order + offset_code, head, start + 4)[0]
        code = {3: "H", 4: "I", 16: "Q"}.get(kind)
        if code is None or not 0 < number <= 16:
            continue
        size = struct.calcsize(code) * number
        value_at = start + 4 + struct.calcsize(offset_code)
        if size > struct.calcsize(offset_code):
            value_at = struct.unpack_from(order + offset_code, head, value_at)[0]
        if value_at + size <= len(head):
            tags[tag] = struct.unpack_from(order + code * number, head, value_at)
    return tags


def bmp_feature(head: bytes) -> str | None:
    """A BMP variant Pillow does not read: unusual bit fields, compression or depth."""
    if len(head) < 34 or head[:2] != b"BM":
        return None
    header = struct.unpack_from("<I", head, 14)[0]
    if header not in (40, 52, 56, 64, 108, 124):
        return None
    bits, compression = struct.unpack_from("<HI", head, 28)
    if compression == 3 and len(head) >= 66:
        masks = struct.unpack_from("<3I", head, 54)
        return "bit fields " + ", ".join(f"{m:#x}" for m in masks)
    if compression not in (0, 1, 2, 3):
        return f"{_BMP_COMPRESSIONS.get(compression, 'an unknown')} compression (code {compression})"
    if bits not in (1, 2, 4, 8, 16, 24, 32):
        return f"{bits}-bit pixels"
    return None


def heif_feature(head: bytes) -> str | None:
    """An image sequence (a track of frames) with no still image item to show."""
    if head[4:8] != b"ftyp":
        return None
    size = struct.unpack_from(">I", head, 0)[0]
    brands = {head[i : i + 4] for i in range(8, min(size, len(head)), 4)}
    if not brands.intersection(_SEQUENCE_BRANDS):
        return None
    at = size
    while at + 8 <= len(head):
        box, kind = struct.unpack_from(">I", head, at)[0], head[at + 4 : at + 8]
        if kind == b"meta":
            return None
        if box < 8:
            break
        at += box
    return "an image sequence with no still image"


_FEATURES = {"jpg": jpeg_feature, "tiff": tiff_feature, "bmp": bmp_feature, "heic": heif_feature,
             "avif": heif_feature}  # fmt: skip


def _other_format(path: Path, fmt: str, display: str) -> ConversioError | None:
    """``FORMAT_MISMATCH`` or ``UNSUPPORTED_FORMAT`` when the content is another image format."""
    Image.init()
    known = [name for name in (*_OURS, *_OTHER_FORMATS) if name in Image.OPEN]  # HEIF once registered
    try:
        with Image.open(path, formats=known) as im:
            found = str(im.format)
    except Exception:  # not recognised: not another format we know
        return None
    name = _OURS.get(found)
    if name == fmt:
        return None
    if name is not None:
        return FormatMismatch(
            f"{display} is a {name} image, not {fmt}; rename it to end in .{name} and retry",
            file=display,
            claimed=fmt,
            detected=name,
        )
    kind = _OTHER_FORMATS[found]
    return UnsupportedFormat(
        f"{display} is a {kind} image named as {fmt}; conversio-image cannot read {kind} files",
        file=display,
        format=fmt,
        feature=kind,
    )
