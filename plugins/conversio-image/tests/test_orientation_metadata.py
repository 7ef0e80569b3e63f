"""EXIF orientation, EXIF/ICC carried over or stripped, DPI, quality."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from image_helpers import close, decode, quadrants, save, with_orientation
from PIL import Image, ImageCms

from conversio.errors import InvalidOption

BLUE, RED = (0, 0, 255), (255, 0, 0)
MAKE = 0x010F


def _oriented(tmp_path: Path, fmt: str, orientation: int = 6) -> Path:
    im = quadrants((64, 48))
    exif = with_orientation(im, orientation)
    params = {"exif": exif} if fmt != "jpg" else {"exif": exif, "quality": 95}
    return save(im, tmp_path / f"oriented.{fmt}", fmt, **params)


@pytest.mark.parametrize("source", ["jpg", "png", "webp", "tiff", "avif", "heic"])
def test_exif_orientation_is_applied(source: str, tmp_path: Path, convert) -> None:
    target = "tiff" if source == "png" else "png"
    out = decode(convert(_oriented(tmp_path, source), source, target)[0].path)
    # Orientation 6: the stored picture is shown turned 90° clockwise.
    assert out.size == (48, 64)
    assert close(out.getpixel((5, 5)), BLUE) and close(out.getpixel((43, 5)), RED)  # type: ignore[arg-type]
    assert out.getexif().get(0x0112, 1) == 1


@pytest.mark.parametrize("target", ["jpg", "webp", "tiff", "avif"])
def test_orientation_tag_is_reset_and_other_exif_kept(target: str, tmp_path: Path, convert) -> None:
    source = "png" if target == "jpg" else "jpg"
    out = decode(convert(_oriented(tmp_path, source), source, target)[0].path)
    assert out.size == (48, 64)
    exif = out.getexif()
    assert exif.get(0x0112, 1) == 1
    assert exif.get(MAKE) == "conversio-test-camera"


def test_auto_orient_off_keeps_pixels_and_tag(tmp_path: Path, convert) -> None:
    out = decode(convert(_oriented(tmp_path, "jpg"), "jpg", "png", auto_orient=False)[0].path)
    assert out.size == (64, 48)
    assert out.getexif().get(0x0112) == 6


@pytest.mark.parametrize(
    ("orientation", "size", "top_left"), [(3, (64, 48), (255, 255, 255)), (8, (48, 64), (0, 255, 0))]
)
def test_other_orientations(
    orientation: int, size: tuple[int, int], top_left: tuple[int, int, int], tmp_path: Path, convert
) -> None:
    out = decode(convert(_oriented(tmp_path, "png", orientation), "png", "bmp")[0].path)
    assert out.size == size and close(out.getpixel((3, 3)), top_left)  # type: ignore[arg-type]


def _srgb() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@pytest.mark.parametrize("target", ["jpg", "png", "webp", "tiff", "avif"])
def test_exif_and_icc_are_kept_unless_stripped(target: str, tmp_path: Path, convert) -> None:
    exif = Image.Exif()
    exif[MAKE] = "conversio-test-camera"
    source_fmt = "png" if target == "jpg" else "jpg"
    profile = _srgb()  # made once: a profile records the second it was created
    src = save(
        quadrants(), tmp_path / f"meta.{source_fmt}", source_fmt, exif=exif.tobytes(), icc_profile=profile
    )
    kept = decode(convert(src, source_fmt, target)[0].path)
    assert kept.getexif().get(MAKE) == "conversio-test-camera"
    assert kept.info.get("icc_profile") == profile
    stripped = decode(convert(src, source_fmt, target, strip_metadata=True)[0].path)
    assert MAKE not in stripped.getexif()
    assert not stripped.info.get("icc_profile")


def test_dpi_is_carried_over_or_set(tmp_path: Path, convert) -> None:
    src = save(quadrants(), tmp_path / "dpi.png", "png", dpi=(150, 150))
    carried = decode(convert(src, "png", "tiff")[0].path)
    assert carried.info["dpi"] == pytest.approx((150, 150), abs=0.5)
    set_ = decode(convert(src, "png", "jpg", dpi=300)[0].path)
    assert set_.info["dpi"] == pytest.approx((300, 300), abs=0.5)


@pytest.mark.parametrize("target", ["jpg", "webp", "avif"])
def test_quality_changes_the_size(target: str, tmp_path: Path, convert) -> None:
    rng = random.Random(7)
    noisy = Image.frombytes("RGB", (96, 96), rng.randbytes(96 * 96 * 3))
    src = save(noisy, tmp_path / "noisy.png", "png")
    low = convert(src, "png", target, quality=10)[0].path.stat().st_size
    high = convert(src, "png", target, quality=95)[0].path.stat().st_size
    default = convert(src, "png", target)[0].path.stat().st_size
    assert low < default < high


def test_background_fills_transparency(tmp_path: Path, convert) -> None:
    im = Image.new("RGBA", (20, 10), (0, 0, 0, 0))
    im.paste((255, 0, 0, 255), (10, 0, 20, 10))
    src = save(im, tmp_path / "half.png", "png")
    green = decode(convert(src, "png", "jpg", background="#00ff00")[0].path)
    assert close(green.getpixel((2, 5)), (0, 255, 0)) and close(green.getpixel((17, 5)), (255, 0, 0))  # type: ignore[arg-type]
    flat_png = decode(convert(src, "png", "webp", background="rgb(0,0,255)")[0].path)
    assert flat_png.convert("RGBA").getpixel((2, 5)) == (0, 0, 255, 255)
    kept = decode(convert(src, "png", "webp")[0].path)
    assert kept.convert("RGBA").getpixel((2, 5))[3] == 0  # type: ignore[index]


@pytest.mark.parametrize("colour", ["not-a-colour", "#12", "transparent"])
def test_bad_background_for_jpg_is_invalid_option(colour: str, tmp_path: Path, convert) -> None:
    src = save(quadrants(), tmp_path / "q.png", "png")
    with pytest.raises(InvalidOption) as info:
        convert(src, "png", "jpg", background=colour)
    assert info.value.details["option"] == "background"
