"""Helpers for conversio-image's tests: run a converter as the engine would, make sample images."""

from __future__ import annotations

import io
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conversio_image.specs import all_specs
from PIL import Image

from conversio.converters import ConversionRequest, ConverterSpec, InputFile, Output
from conversio.limits import Limits

SPECS: dict[str, ConverterSpec] = {spec.id: spec for spec in all_specs()}
EXTENSION = {"jpg": "jpg", "png": "png", "webp": "webp", "gif": "gif", "bmp": "bmp", "tiff": "tif",
             "ico": "ico", "avif": "avif", "heic": "heic", "svg": "svg"}  # fmt: skip
PILLOW = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP", "gif": "GIF", "bmp": "BMP", "tiff": "TIFF",
          "ico": "ICO", "avif": "AVIF"}  # fmt: skip


def spec_for(source: str, target: str, operation: str | None = None) -> ConverterSpec:
    if operation:
        return SPECS[f"image.pillow:{operation}({source})"]
    engine = "image.resvg" if source == "svg" else "image.pillow"
    return SPECS[f"{engine}:{source}->{target}"]


def run_spec(
    spec: ConverterSpec, path: Path, out_dir: Path, limits: Limits | None = None, **options: Any
) -> list[Output]:
    """Validate ``options`` with the spec's schema and call its function, as the engine does."""
    out_dir.mkdir(parents=True, exist_ok=True)
    request = ConversionRequest(
        inputs=(InputFile(path, path.name, spec.source),),
        output_dir=out_dir,
        source=spec.source,
        target=spec.target,
        options=spec.options.validate(options),
        limits=limits or Limits(),
    )
    return list(spec.load()(request))


def save(im: Image.Image | Sequence[Image.Image], path: Path, fmt: str, **params: Any) -> Path:
    """Write ``im`` (or frames) as ``fmt`` with Pillow (or pillow-heif for HEIC)."""
    frames = list(im) if isinstance(im, Sequence) else [im]
    if fmt == "heic":
        import pillow_heif

        pillow_heif.register_heif_opener()
        frames[0].save(path, "HEIF", **params)
        return path
    if len(frames) > 1:
        params.update(save_all=True, append_images=frames[1:])
    frames[0].save(path, PILLOW[fmt], **params)
    return path


def quadrants(size: tuple[int, int] = (64, 48), mode: str = "RGB") -> Image.Image:
    """An image whose four quadrants are red, green, blue and white (to see turns and flips)."""
    w, h = size
    im = Image.new("RGB", size)
    for box, colour in (
        ((0, 0, w // 2, h // 2), (255, 0, 0)),
        ((w // 2, 0, w, h // 2), (0, 255, 0)),
        ((0, h // 2, w // 2, h), (0, 0, 255)),
        ((w // 2, h // 2, w, h), (255, 255, 255)),
    ):
        im.paste(colour, box)
    return im.convert(mode) if mode != "RGB" else im


def with_orientation(im: Image.Image, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "conversio-test-camera"
    return exif.tobytes()


def decode(path: Path) -> Image.Image:
    im = Image.open(path)
    im.load()
    return im


def frames_of(path: Path) -> list[Image.Image]:
    im = Image.open(path)
    out = []
    for i in range(getattr(im, "n_frames", 1)):
        im.seek(i)
        out.append(im.convert("RGBA"))
    return out


def png_bytes(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def close(a: tuple[int, ...], b: tuple[int, ...], tolerance: int = 40) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=False))


def png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk with its length and CRC."""
    return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")


def png_header_only(width: int, height: int) -> bytes:
    """A syntactically valid PNG whose header claims ``width`` x ``height`` (the data is tiny)."""
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + b"\x08\x02\x00\x00\x00"
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )
