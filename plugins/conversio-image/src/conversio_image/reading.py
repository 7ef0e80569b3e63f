"""Reading images: header checked against the limits first, frames decoded, turned upright."""

from __future__ import annotations

import functools
import io
import struct
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import attrs
from PIL import Image

from conversio.errors import CorruptFile, EmptyFile
from conversio.limits import Limits
from conversio_image.catalogue import FORMATS, TIFF_DESCRIPTIVE_TAGS
from conversio_image.colour import has_alpha, normalize
from conversio_image.diagnosis import explain
from conversio_image.guards import check_count, check_pixels, decoding

ORIENTATION_TAG = 0x0112
_TRANSPOSE: dict[int, tuple[Image.Transpose, ...]] = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT,),
    3: (Image.Transpose.ROTATE_180,),
    4: (Image.Transpose.FLIP_TOP_BOTTOM,),
    5: (Image.Transpose.TRANSPOSE,),
    6: (Image.Transpose.ROTATE_270,),
    7: (Image.Transpose.TRANSVERSE,),
    8: (Image.Transpose.ROTATE_90,),
}


@attrs.define
class Picture:
    """Decoded frames (or pages) in working modes, and what is carried over to the output.

    ``plays`` is how often an animation plays: 0 for ever, 1 for once. ``images`` counts the
    separate pictures of a HEIF file, of which only the primary one is read.
    """

    frames: list[Image.Image]
    durations: list[int] = attrs.field(factory=list)
    plays: int = 0
    exif: Image.Exif | None = None
    icc: bytes | None = None
    dpi: tuple[float, float] | None = None
    images: int = 1

    @property
    def size(self) -> tuple[int, int]:
        return self.frames[0].size

    def replace_frames(self, frames: list[Image.Image]) -> Picture:
        return attrs.evolve(self, frames=frames)


@functools.cache
def ensure_heif() -> None:
    """Teach Pillow to open HEIF/HEIC (once; only when a HEIC file is read)."""
    import pillow_heif

    pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)


def open_image(path: Path, fmt: str, limits: Limits, display: str) -> Image.Image:
    """Open ``path`` as ``fmt`` (the header only) and refuse it if its size is over the limit.

    Must run inside :func:`reading_errors`; the caller closes the image.
    """
    Image.init()  # every plugin registered: a format list naming one not yet loaded is no KeyError
    if fmt == "heic":
        ensure_heif()
    embedded = _embedded_in_bmp(path) if fmt == "bmp" else None
    if embedded is not None:
        im = Image.open(embedded[0], formats=[embedded[1]])
    else:
        im = Image.open(path, formats=list(FORMATS[fmt].pillow))
    try:
        check_pixels(im.size, limits, display)
    except BaseException:
        im.close()
        raise
    return im


#: BMP compressions that store a whole JPEG or PNG stream in place of the pixels.
_BMP_EMBEDDED = {4: "JPEG", 5: "PNG"}


def _embedded_in_bmp(path: Path) -> tuple[io.BytesIO, str] | None:
    """The JPEG or PNG stream of a BMP that holds one (``BI_JPEG``, ``BI_PNG``), and its format."""
    with path.open("rb") as stream:
        head = stream.read(34)
        if len(head) < 34 or head[:2] != b"BM" or struct.unpack_from("<I", head, 14)[0] < 40:
            return None
        kind = _BMP_EMBEDDED.get(struct.unpack_from("<I", head, 30)[0])
        if kind is None:
            return None
        stream.seek(struct.unpack_from("<I", head, 10)[0])
        return io.BytesIO(stream.read()), kind


@contextmanager
def reading_errors(path: Path, fmt: str, limits: Limits, display: str) -> Iterator[None]:
    """:func:`~conversio_image.guards.decoding`, with a file Pillow could not read explained:
    a feature it does not support, or another image format, rather than "damaged"."""
    try:
        with decoding(display, limits):
            yield
    except EmptyFile:
        raise
    except CorruptFile as damaged:
        better = explain(path, fmt, display)
        raise (better or damaged) from None


def read_picture(
    path: Path,
    fmt: str,
    limits: Limits,
    display: str,
    *,
    all_frames: bool,
    auto_orient: bool = True,
) -> Picture:
    """Decode ``path``: every frame (or page) when ``all_frames``, else the first only."""
    with reading_errors(path, fmt, limits, display), open_image(path, fmt, limits, display) as im:
        pages = FORMATS[fmt].pages
        count = _frame_count(im, fmt) if all_frames else 1
        check_count(
            count, limits.max_pages if pages else limits.max_frames, display, "pages" if pages else "frames"
        )
        if count > 1 and not pages:
            check_pixels(im.size, limits, display, "animation", frames=count)
        picture = _metadata(im, fmt)
        if fmt == "heic":
            picture.images = int(getattr(im, "n_frames", 1))
        frames, durations = [], []
        for index in range(count):
            if index:
                im.seek(index)
                check_pixels(im.size, limits, display, f"frame {index + 1}")
            im.load()
            durations.append(int(im.info.get("duration") or 0))
            # A file with one frame is used as it is; frames of a sequence are copied (seek reuses them).
            decoded = im.copy() if count > 1 or getattr(im, "is_animated", False) else im
            frame, icc = normalize(decoded, picture.icc if index == 0 else None, _sample_bits(im))
            if index == 0:
                picture.icc = icc
            frames.append(frame)
        picture.frames = frames if pages else unify_modes(frames)
        picture.durations = durations
    return orient(picture) if auto_orient else picture


def iter_pages(
    path: Path, fmt: str, limits: Limits, display: str, *, auto_orient: bool
) -> Iterator[tuple[int, int, Picture]]:
    """``(number, count, page)`` for each page of a multi-page file, decoded one at a time."""
    with ExitStack() as stack:
        with reading_errors(path, fmt, limits, display):
            im = stack.enter_context(open_image(path, fmt, limits, display))
            count = _frame_count(im, fmt)
            check_count(count, limits.max_pages, display, "pages")
        for index in range(count):
            # not held across the yield: it sets process-wide state
            with reading_errors(path, fmt, limits, display):
                if index:
                    im.seek(index)
                check_pixels(im.size, limits, display, f"page {index + 1}")
                im.load()
                picture = _metadata(im, fmt)
                frame, picture.icc = normalize(im.copy(), picture.icc, _sample_bits(im))
                picture.frames = [frame]
                picture = orient(picture) if auto_orient else picture
            yield index + 1, count, picture


def _sample_bits(im: Image.Image) -> int:
    """Bits used of each 16-bit sample: a TIFF's BitsPerSample (12-bit greys arrive as I;16), else 16."""
    tags = getattr(im, "tag_v2", None)
    value = tags.get(258) if tags is not None else None
    first = value[0] if isinstance(value, tuple) and value else value
    return first if isinstance(first, int) and 8 < first < 16 else 16


def _frame_count(im: Image.Image, fmt: str) -> int:
    if fmt == "heic":  # several top-level images are not an animation: the primary one is the picture
        return 1
    return int(getattr(im, "n_frames", 1))


def _metadata(im: Image.Image, fmt: str) -> Picture:
    exif = _exif(im, fmt)
    icc = im.info.get("icc_profile") or None
    dpi = im.info.get("dpi")
    return Picture(
        frames=[],
        plays=_plays(im, fmt),
        exif=exif if len(exif) else None,
        icc=bytes(icc) if icc else None,
        dpi=(float(dpi[0]), float(dpi[1])) if dpi and dpi[0] and dpi[1] else None,
    )


_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825


def _exif(im: Image.Image, fmt: str) -> Image.Exif:
    """The EXIF of ``im``; for TIFF only the descriptive tags and the Exif and GPS folders."""
    exif = im.getexif()
    if fmt != "tiff":
        return exif
    clean = Image.Exif()
    for tag in TIFF_DESCRIPTIVE_TAGS:
        if tag in exif:
            clean[tag] = exif[tag]
    for ifd in (_EXIF_IFD, _GPS_IFD):
        if ifd in exif and (content := exif.get_ifd(ifd)):
            clean[ifd] = content
    return clean


def _plays(im: Image.Image, fmt: str) -> int:
    loop = im.info.get("loop")
    if fmt == "gif":  # no NETSCAPE loop block: once; loop=N: N repeats after the first play
        return 1 if loop is None else (0 if loop == 0 else int(loop) + 1)
    return int(loop or 0)


def unify_modes(frames: list[Image.Image]) -> list[Image.Image]:
    """Frames of one animation in one mode (the richest among them)."""
    modes = {f.mode for f in frames}
    if len(modes) <= 1:
        return frames
    colour = any(m in ("RGB", "RGBA") for m in modes)
    alpha = any(has_alpha(f) for f in frames)
    mode = ("RGBA" if alpha else "RGB") if colour else ("LA" if alpha else "L")
    return [f if f.mode == mode else f.convert(mode) for f in frames]


def orient(picture: Picture) -> Picture:
    """Turn the frames upright as the EXIF orientation says, and reset the tag."""
    exif = picture.exif
    if exif is None:
        return picture
    orientation = exif.get(ORIENTATION_TAG, 1)
    steps = _TRANSPOSE.get(orientation, ())
    if ORIENTATION_TAG in exif:
        del exif[ORIENTATION_TAG]
    frames = picture.frames
    for step in steps:
        frames = [f.transpose(step) for f in frames]
    if steps and picture.dpi:
        picture.dpi = (picture.dpi[1], picture.dpi[0]) if orientation >= 5 else picture.dpi
    picture.frames = frames
    return picture
