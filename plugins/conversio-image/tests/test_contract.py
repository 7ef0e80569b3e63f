"""The checks every conversio converter passes, for a representative set of image converters."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from image_helpers import quadrants, save
from PIL import Image

from conversio.testing import ConverterContract


class ImageContract(ConverterContract):
    plugin = "conversio_image.plugin"
    heavy_modules = ("PIL", "pillow_heif", "resvg_py")
    source_format: ClassVar[str] = "png"

    def make_sample(self, tmp_path: Path) -> Path:
        return save(quadrants(), tmp_path / f"sample.{self.source_format}", self.source_format)


class TestPngToJpg(ImageContract):
    converter_id = "image.pillow:png->jpg"
    options: ClassVar[dict[str, Any]] = {"quality": 70}


class TestJpgToPng(ImageContract):
    converter_id = "image.pillow:jpg->png"
    source_format = "jpg"


class TestAnimatedGifToWebp(ImageContract):
    converter_id = "image.pillow:gif->webp"

    def make_sample(self, tmp_path: Path) -> Path:
        frames = [Image.new("RGB", (32, 24), c) for c in ("red", "green", "blue")]
        return save(frames, tmp_path / "sample.gif", "gif", duration=80, loop=0)


class TestTiffPagesToPng(ImageContract):
    converter_id = "image.pillow:tiff->png"

    def make_sample(self, tmp_path: Path) -> Path:
        return save([quadrants(), Image.new("L", (10, 10), 99)], tmp_path / "sample.tif", "tiff")


class TestHeicToJpg(ImageContract):
    converter_id = "image.pillow:heic->jpg"
    source_format = "heic"


class TestWebpToAvif(ImageContract):
    converter_id = "image.pillow:webp->avif"
    source_format = "webp"


class TestSvgToPng(ImageContract):
    converter_id = "image.resvg:svg->png"

    def make_sample(self, tmp_path: Path) -> Path:
        path = tmp_path / "sample.svg"
        circle = '<circle cx="10" cy="10" r="8"/>'
        path.write_text(f'<svg xmlns="http://www.w3.org/2000/svg" width="30" height="20">{circle}</svg>')
        return path


class TestRotateJpg(ImageContract):
    converter_id = "image.pillow:rotate(jpg)"
    source_format = "jpg"
    options: ClassVar[dict[str, Any]] = {"angle": 90}
