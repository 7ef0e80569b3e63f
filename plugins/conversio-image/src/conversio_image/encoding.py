"""Writing a Picture in a target format: modes the format takes, metadata it holds, frames."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PIL import Image

from conversio.errors import FileTooLarge, InvalidOption
from conversio_image.catalogue import FORMATS, TIFF_DESCRIPTIVE_TAGS
from conversio_image.colour import RGBA, flatten, has_alpha, over_background, parse_colour
from conversio_image.reading import Picture
from conversio_image.schemas import STRIP_METADATA, background_for

_PILLOW_NAME = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP", "gif": "GIF", "bmp": "BMP", "tiff": "TIFF",
                "ico": "ICO", "avif": "AVIF"}  # fmt: skip


def background_of(options: Mapping[str, Any], target: str) -> RGBA:
    """The ``background`` option as RGBA (its declared default where the step does not declare it)."""
    value = options.get("background") or background_for(target).default
    colour = parse_colour(str(value))
    if colour[3] < 255 and not FORMATS[target].alpha:
        raise InvalidOption(
            f"{target} has no transparency, so the background must be an opaque colour, not {value!r}",
            option="background",
            value=value,
        )
    return colour


def write(picture: Picture, path: Path, target: str, options: Mapping[str, Any]) -> None:
    """Write ``picture`` (all its frames when ``target`` holds them) to ``path``."""
    fmt = FORMATS[target]
    background = background_of(options, target)
    kept = picture.frames if fmt.frames or fmt.pages else picture.frames[:1]
    frames = [_for_target(f, target, background) for f in kept]
    for frame in frames:
        if max(frame.size) > fmt.max_side:
            raise FileTooLarge(
                f"{target} images can be at most {fmt.max_side} pixels on a side; this one is "
                f"{frame.width}x{frame.height} (make it smaller with width/height)",
                width=frame.width,
                height=frame.height,
                limit=fmt.max_side,
            )
    params = {**_metadata(picture, target, options), **_encoder(frames, picture, target, options)}
    for frame in frames:
        frame.info = {}  # only what is passed below is written
    first = frames[0]
    if len(frames) > 1:
        params.update(save_all=True, append_images=frames[1:])
    first.save(path, _PILLOW_NAME[target], **params)


def _for_target(im: Image.Image, target: str, background: RGBA) -> Image.Image:
    """``im`` in a mode ``target`` can store, alpha composited over ``background`` when needed."""
    im = over_background(im, background) if FORMATS[target].alpha else flatten(im, background)
    if target in ("webp", "avif", "ico") and im.mode in ("1", "L", "LA"):
        return im.convert("RGBA" if has_alpha(im) else "RGB")
    if target == "gif" and im.mode == "LA":  # Pillow keeps GIF transparency from RGBA only
        return im.convert("RGBA")
    if target == "jpg" and im.mode == "1":
        return im.convert("L")
    return im


def _metadata(picture: Picture, target: str, options: Mapping[str, Any]) -> dict[str, Any]:
    fmt = FORMATS[target]
    params: dict[str, Any] = {}
    if fmt.dpi:
        dpi = options.get("dpi")
        if dpi is not None:
            params["dpi"] = (float(dpi), float(dpi))
        elif picture.dpi:
            params["dpi"] = picture.dpi
    if options.get("strip_metadata", STRIP_METADATA.default):
        return params
    if fmt.exif and picture.exif is not None and len(picture.exif):
        params["exif"] = _exif_for(picture.exif, target).tobytes()
    if fmt.icc and picture.icc:
        params["icc_profile"] = picture.icc
    return params


def _exif_for(exif: Image.Exif, target: str) -> Image.Exif:
    """The EXIF ``target`` can take: compressed TIFF (libtiff) holds only flat descriptive tags."""
    if target != "tiff":
        return exif
    flat = Image.Exif()
    for tag in TIFF_DESCRIPTIVE_TAGS:
        if tag in exif:
            flat[tag] = exif[tag]
    return flat


def _encoder(
    frames: list[Image.Image], picture: Picture, target: str, options: Mapping[str, Any]
) -> dict[str, Any]:
    """Compression settings, and the timing of an animation."""
    animated = len(frames) > 1 and FORMATS[target].frames
    durations = [d if d > 0 else 100 for d in picture.durations[: len(frames)]] or [100]
    params: dict[str, Any]
    if target == "jpg":
        params = {"quality": options["quality"]}
    elif target == "webp":
        params = {"quality": options["quality"], "method": 4}
    elif target == "avif":
        params = {"quality": options["quality"]}
    elif target == "png":
        params = {"compress_level": 6}
    elif target == "tiff":
        params = {"compression": "tiff_lzw"}
    else:
        params = {}
    if not animated:
        return params
    params["duration"] = durations
    alpha = any(has_alpha(f) for f in frames)
    if target == "gif":
        if picture.plays != 1:
            params["loop"] = 0 if picture.plays == 0 else picture.plays - 1
        params["disposal"] = 2 if alpha else 1
        # Pillow's palette optimisation drops the transparent index of frames that do not use it.
        params["optimize"] = not alpha
    elif target in ("webp", "png"):
        params["loop"] = picture.plays
    if target == "webp" and alpha:
        # Only whole (key) frames make libwebp flag the animation as having alpha.
        params.update(kmin=0, kmax=1)
    if target == "png":
        params["disposal"] = 1  # APNG: each frame is whole; clear before the next
        params["blend"] = 0
    return params
