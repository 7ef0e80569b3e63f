"""Hostile input: decompression bombs, too many frames or pages, truncated and garbage files."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from image_helpers import png_header_only, save
from PIL import Image, ImageFile

from conversio.errors import CorruptFile, FileTooLarge, FormatMismatch
from conversio.limits import Limits

SOURCES = ("jpg", "png", "webp", "gif", "bmp", "tiff", "ico", "avif", "heic")


def _target(source: str) -> str:
    return "jpg" if source == "png" else "png"


def test_png_claiming_100000_squared_is_refused_fast_without_decoding(
    tmp_path: Path, convert, monkeypatch
) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header_only(100_000, 100_000))
    loads: list[object] = []
    original = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: loads.append(self) or original(self))
    started = time.monotonic()
    with pytest.raises(FileTooLarge) as info:
        convert(bomb, "png", "jpg")
    assert time.monotonic() - started < 1.0
    assert loads == [], "pixel data was decoded"
    assert info.value.code == "FILE_TOO_LARGE"
    assert "100000" in info.value.message.replace(",", "")


@pytest.mark.parametrize("source", ["jpg", "png", "gif", "bmp", "tiff", "webp", "avif", "heic", "ico"])
def test_pixel_limit_is_checked_on_the_header(source: str, tmp_path: Path, convert) -> None:
    src = save(Image.new("RGB", (40, 30), "red"), tmp_path / f"small.{source}", source)
    if source == "heic":
        import pillow_heif

        pillow_heif.register_heif_opener()
    width, height = Image.open(src).size  # an icon stores the standard sizes that fit: 24 x 18 here
    with pytest.raises(FileTooLarge) as info:
        convert(src, source, _target(source), limits=Limits(max_pixels=width * height - 1))
    assert info.value.details.get("limit") == width * height - 1
    convert(src, source, _target(source), limits=Limits(max_pixels=width * height))  # at the limit: fine


def test_pillow_bomb_error_is_file_too_large_even_at_open(tmp_path: Path, convert) -> None:
    bomb = tmp_path / "bomb.gif"
    # A GIF whose logical screen is 60000 x 60000.
    bomb.write_bytes(
        b"GIF89a"
        + (60000).to_bytes(2, "little") * 2
        + b"\x00\x00\x00"
        + b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
    )
    with pytest.raises(FileTooLarge):
        convert(bomb, "gif", "png")


def _animation(tmp_path: Path, count: int, size: tuple[int, int] = (10, 10)) -> Path:
    frames = [Image.new("RGB", size, (i * 20 % 256, 0, 0)) for i in range(count)]
    return save(frames, tmp_path / "many.gif", "gif", duration=50, loop=0)


def test_frame_limit(tmp_path: Path, convert) -> None:
    src = _animation(tmp_path, 5)
    with pytest.raises(FileTooLarge) as info:
        convert(src, "gif", "webp", limits=Limits(max_frames=3))
    assert info.value.details["count"] == 5
    # Only the first frame is decoded for a target that holds one.
    assert convert(src, "gif", "jpg", limits=Limits(max_frames=3))


def test_all_frames_together_count_against_the_pixel_limit(tmp_path: Path, convert) -> None:
    src = _animation(tmp_path, 10, (100, 100))
    with pytest.raises(FileTooLarge):
        convert(src, "gif", "webp", limits=Limits(max_pixels=50_000))
    assert convert(src, "gif", "webp", first_frame=True, limits=Limits(max_pixels=50_000))


def test_page_limit(tmp_path: Path, convert) -> None:
    pages = [Image.new("L", (8, 8), i * 40) for i in range(3)]
    src = save(pages, tmp_path / "pages.tif", "tiff")
    with pytest.raises(FileTooLarge):
        convert(src, "tiff", "png", limits=Limits(max_pages=2))
    assert len(convert(src, "tiff", "png", limits=Limits(max_pages=3))) == 3


def _valid(source: str, tmp_path: Path) -> Path:
    rng = random.Random(3)
    noise = Image.frombytes("RGB", (120, 90), rng.randbytes(120 * 90 * 3))
    frames = [noise, noise.rotate(90), noise.rotate(180)] if source == "gif" else noise
    return save(frames, tmp_path / f"valid.{source}", source)


@pytest.mark.parametrize("fraction", [0.5, 0.9])
@pytest.mark.parametrize("source", SOURCES)
def test_truncated_file_is_corrupt(source: str, fraction: float, tmp_path: Path, convert) -> None:
    data = _valid(source, tmp_path).read_bytes()
    cut = tmp_path / f"cut.{source}"
    cut.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(CorruptFile) as info:
        convert(cut, source, _target(source))
    assert str(tmp_path) not in info.value.message  # no server paths in user-facing messages


@pytest.mark.parametrize("source", SOURCES)
def test_garbage_and_empty_files_are_corrupt(source: str, tmp_path: Path, convert) -> None:
    garbage = tmp_path / f"garbage.{source}"
    garbage.write_bytes(random.Random(5).randbytes(4096))
    with pytest.raises(CorruptFile):
        convert(garbage, source, _target(source))
    empty = tmp_path / f"empty.{source}"
    empty.write_bytes(b"")
    with pytest.raises(CorruptFile):
        convert(empty, source, _target(source))


def test_header_then_garbage_is_corrupt(tmp_path: Path, convert) -> None:
    data = _valid("png", tmp_path).read_bytes()
    bad = tmp_path / "bad.png"
    bad.write_bytes(data[:16] + bytes(range(256)) * 4)
    with pytest.raises(CorruptFile):
        convert(bad, "png", "jpg")


def test_a_wrong_format_is_not_handed_to_another_decoder(tmp_path: Path, convert) -> None:
    png = save(Image.new("RGB", (8, 8), "red"), tmp_path / "really-a-png.jpg", "png")
    with pytest.raises(FormatMismatch) as info:  # recognised from its header, never decoded as PNG
        convert(png, "jpg", "png")
    assert info.value.details["detected"] == "png"


def test_truncated_images_stay_refused_even_if_someone_allowed_them(
    tmp_path: Path, convert, monkeypatch
) -> None:
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    data = _valid("jpg", tmp_path).read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFile):
        convert(cut, "jpg", "png")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
