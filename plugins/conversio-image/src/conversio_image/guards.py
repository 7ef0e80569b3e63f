"""Limits on hostile input, and decoder failures mapped to stable error codes."""

from __future__ import annotations

import struct
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from PIL import Image, ImageFile, UnidentifiedImageError

from conversio.errors import ConversioError, CorruptFile, FileTooLarge
from conversio.limits import Limits

#: What Pillow and its plugins raise on damaged input.
DECODE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    zlib.error,
    IndexError,
    KeyError,
    TypeError,
    RuntimeError,
)


def check_pixels(
    size: tuple[int, int], limits: Limits, display: str, what: str = "image", frames: int = 1
) -> None:
    """``FILE_TOO_LARGE`` when ``frames`` of ``size`` hold more pixels than ``limits.max_pixels``."""
    width, height = size
    pixels = width * height * frames
    if pixels > limits.max_pixels:
        shape = f"{frames} frames of {width}x{height}" if frames > 1 else f"{width}x{height}"
        raise FileTooLarge(
            f"{display}: the {what} is {shape} = {pixels:,} pixels, "
            f"more than the limit of {limits.max_pixels:,}",
            file=display,
            width=width,
            height=height,
            frames=frames,
            limit=limits.max_pixels,
        )


def check_count(count: int, limit: int, display: str, what: str) -> None:
    """``FILE_TOO_LARGE`` when an image holds more frames or pages than allowed."""
    if count > limit:
        raise FileTooLarge(
            f"{display} has {count:,} {what}, more than the limit of {limit:,}",
            file=display,
            count=count,
            limit=limit,
        )


@contextmanager
def decoding(display: str, limits: Limits) -> Iterator[None]:
    """Run Pillow decoding under ``limits``: bombs are ``FILE_TOO_LARGE``, damage is ``CORRUPT_FILE``.

    Pillow's own bomb check is set to the same pixel limit and its warning made
    an error; truncated images are never accepted.
    """
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    Image.MAX_IMAGE_PIXELS = limits.max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # decoder chatter about damaged files
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except ConversioError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise FileTooLarge(
            f"{display} decodes to more pixels than the limit of {limits.max_pixels:,}",
            file=display,
            limit=limits.max_pixels,
        ) from None
    except MemoryError:
        raise FileTooLarge(f"{display} needs more memory to decode than is available", file=display) from None
    except UnidentifiedImageError:
        raise CorruptFile(f"{display} is damaged or not an image of its format", file=display) from None
    except DECODE_ERRORS:
        # the decoder's own words name its internals, not the user's file
        raise CorruptFile(
            f"{display} could not be decoded: its image data is damaged or cut short", file=display
        ) from None
