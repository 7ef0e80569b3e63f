"""The converter functions conversio-image registers (see :mod:`conversio_image.specs`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from PIL import Image

from conversio.converters import ConversionRequest, InputFile, Output, with_extension
from conversio.errors import CorruptFile
from conversio_image import geometry, svg
from conversio_image.catalogue import holds_many
from conversio_image.colour import RGBA
from conversio_image.encoding import background_of, write
from conversio_image.guards import check_pixels
from conversio_image.reading import Picture, iter_pages, read_picture
from conversio_image.schemas import AUTO_ORIENT, FIRST_FRAME


def convert(request: ConversionRequest) -> list[Output]:
    """One raster image (every frame, where the target holds frames) to another format."""
    options, target = request.options, request.target
    background = background_of(options, target)
    picture = _read(request, all_frames=holds_many(target) and not _first_frame(options))
    if picture.images > 1:
        request.warn(
            f"{request.input.name} holds {picture.images} separate images; "
            f"only its primary image was converted to {target}"
        )
    picture = _resized(picture, request, background)
    out = request.output(with_extension(request.input.name, target))
    write(picture, out.path, target, options)
    request.progress(1.0)
    return [out]


def convert_pages(request: ConversionRequest) -> list[Output]:
    """A multi-page TIFF to one file per page (a single page gives a single file)."""
    options, target, source = request.options, request.target, request.input
    background = background_of(options, target)
    pages = iter_pages(
        source.path, request.source, request.limits, source.name, auto_orient=_auto_orient(options)
    )
    outputs: list[Output] = []
    for number, count, page in pages:
        outputs.append(_write_page(request, page, number, background))
        request.progress(number / (count + 1))
    if not outputs:
        raise CorruptFile(f"{source.name} has no pages", file=source.name)
    if len(outputs) == 1:
        single = request.output(with_extension(source.name, target))
        outputs[0].path.replace(single.path)
        outputs = [single]
    request.progress(1.0)
    return outputs


def _write_page(request: ConversionRequest, page: Picture, number: int, background: RGBA) -> Output:
    page = _resized(page, request, background)
    stem = with_extension(request.input.name, "").rstrip(".")
    out = request.output(f"{stem}-page{number:03d}.{request.target}")
    write(page, out.path, request.target, request.options)
    return out


def render_svg(request: ConversionRequest) -> list[Output]:
    """An SVG rendered to a raster format, with no access to files or the network."""
    options, target, source = request.options, request.target, request.input
    background = background_of(options, target)
    clean = svg.clean(source.path.read_bytes(), request.limits, source.name)
    scale = options["dpi"] / 96.0
    natural = (max(1, round(clean.width * scale)), max(1, round(clean.height * scale)))
    width, height, fit = options["width"], options["height"], options["fit"]
    scaled, box = geometry.fit_sizes(natural, width, height, fit)
    check_pixels(box, request.limits, source.name, "output")
    rendered = svg.render(clean, scaled, request.limits, source.name)
    if rendered.size != box:  # resvg keeps the aspect: stretch (fill), crop (cover) or pad (contain)
        finish = fit if width is not None and height is not None and fit in ("cover", "contain") else "fill"
        rendered = geometry.resize(rendered, box[0], box[1], finish, background)
    picture = Picture(frames=[rendered])
    out = request.output(with_extension(source.name, target))
    write(picture, out.path, target, {**options, "dpi": scale * 96.0})
    request.progress(1.0)
    return [out]


# -- operations --------------------------------------------------------------------------------


def resize(request: ConversionRequest) -> list[Output]:
    """Scale every frame to width and/or height (see ``fit``)."""
    return _operate(request, _resized)


def rotate(request: ConversionRequest) -> list[Output]:
    """Turn every frame clockwise by ``angle`` degrees."""
    angle, expand = request.options["angle"], request.options["expand"]
    return _operate(request, _each(lambda im, background: geometry.rotate(im, angle, expand, background)))


def crop(request: ConversionRequest) -> list[Output]:
    """Keep the rectangle ``left, top, width, height`` of every frame."""
    options = request.options
    left, top, width, height = options["left"], options["top"], options["width"], options["height"]
    return _operate(request, _each(lambda im, _: geometry.crop(im, left, top, width, height)))


def thumbnail(request: ConversionRequest) -> list[Output]:
    """Shrink every frame to fit a ``size`` square."""
    size = request.options["size"]
    return _operate(request, _each(lambda im, _: geometry.thumbnail(im, size)))


PictureOp = Callable[[Picture, ConversionRequest, RGBA], Picture]


def _each(frame_op: Callable[[Image.Image, RGBA], Image.Image]) -> PictureOp:
    """A picture operation applying ``frame_op`` to every frame (or page)."""

    def apply(picture: Picture, request: ConversionRequest, background: RGBA) -> Picture:
        frames = []
        for index, frame in enumerate(picture.frames):
            frames.append(frame_op(frame, background))
            request.progress((index + 1) / (len(picture.frames) + 1))
        return picture.replace_frames(frames)

    return apply


def _operate(request: ConversionRequest, op: PictureOp) -> list[Output]:
    options, fmt = request.options, request.target
    background = background_of(options, fmt)
    all_frames = holds_many(fmt) and not _first_frame(options)
    picture = op(_read(request, all_frames=all_frames), request, background)
    out = request.output(with_extension(request.input.name, fmt))
    write(picture, out.path, fmt, options)
    request.progress(1.0)
    return [out]


# -- shared steps -------------------------------------------------------------------------------


def _read(request: ConversionRequest, *, all_frames: bool) -> Picture:
    source: InputFile = request.input
    return read_picture(
        source.path,
        request.source,
        request.limits,
        source.name,
        all_frames=all_frames,
        auto_orient=_auto_orient(request.options),
    )


def _first_frame(options: Mapping[str, Any]) -> bool:
    """``first_frame``, declared only where the source may hold frames."""
    return bool(options.get("first_frame", FIRST_FRAME.default))


def _auto_orient(options: Mapping[str, Any]) -> bool:
    """``auto_orient``, declared only where the source records an orientation."""
    return bool(options.get("auto_orient", AUTO_ORIENT.default))


def _resized(picture: Picture, request: ConversionRequest, background: RGBA) -> Picture:
    width, height, fit = request.options["width"], request.options["height"], request.options["fit"]
    if width is None and height is None:
        return picture
    _, box = geometry.fit_sizes(picture.size, width, height, fit)
    check_pixels(box, request.limits, request.input.name, "output", frames=len(picture.frames))
    return picture.replace_frames(
        [geometry.resize(f, width, height, fit, background) for f in picture.frames]
    )


__all__ = ["convert", "convert_pages", "crop", "render_svg", "resize", "rotate", "thumbnail"]
