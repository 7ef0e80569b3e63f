"""Screenshots by a real Chromium, decoded with Pillow: sizes, clips, formats, transparency."""

from __future__ import annotations

import pytest
from conftest import Convert, image, refused

#: A page 500 CSS pixels wide and 2000 tall: red above, blue below.
TALL = (
    "<body style='margin:0'><div style='width:500px;height:1000px;background:#f00'></div>"
    "<div style='width:500px;height:1000px;background:#00f'></div></body>"
)


def test_viewport_times_device_scale(convert: Convert) -> None:
    shot = image(convert(TALL, "png", width=400, height=300, device_scale=2.0, full_page=False))
    assert shot.format == "PNG"
    assert shot.size == (800, 600)
    assert shot.convert("RGB").getpixel((10, 10)) == (255, 0, 0)


def test_full_page_is_as_tall_as_the_page(convert: Convert) -> None:
    shot = image(convert(TALL, "png", width=500, height=300)).convert("RGB")
    assert shot.size == (500, 2000)
    assert shot.getpixel((10, 10)) == (255, 0, 0)
    assert shot.getpixel((10, 1990)) == (0, 0, 255)


def test_clip_anywhere_on_the_page(convert: Convert) -> None:
    shot = image(convert(TALL, "png", width=500, height=300, clip="0,950,100,100", device_scale=2.0))
    assert shot.size == (200, 200)
    rgb = shot.convert("RGB")
    assert rgb.getpixel((5, 5)) == (255, 0, 0)
    assert rgb.getpixel((5, 195)) == (0, 0, 255)


@pytest.mark.parametrize(("target", "fmt"), [("jpg", "JPEG"), ("webp", "WEBP")])
def test_jpeg_and_webp(convert: Convert, target: str, fmt: str) -> None:
    shot = image(convert(TALL, target, width=320, height=240, full_page=False, quality=80))
    assert shot.format == fmt
    assert shot.size == (320, 240)
    red, green, blue = shot.convert("RGB").getpixel((100, 100))  # type: ignore[misc]
    assert red > 230 and green < 30 and blue < 30


def test_quality_changes_the_size(convert: Convert) -> None:
    photo = "<body style='margin:0;background:linear-gradient(45deg,#f00,#0f0,#00f)'><p>text</p></body>"
    low = convert(photo, "jpg", name="low.html", quality=10, full_page=False).stat().st_size
    high = convert(photo, "jpg", name="high.html", quality=95, full_page=False).stat().st_size
    assert low < high


def test_omit_background_is_transparent(convert: Convert) -> None:
    page = "<body style='margin:0'><div style='width:50px;height:50px;background:#0f0'></div></body>"
    shot = image(convert(page, "png", width=200, height=100, full_page=False, omit_background=True))
    assert shot.mode == "RGBA"
    assert shot.getpixel((10, 10)) == (0, 255, 0, 255)
    assert shot.getpixel((150, 80))[3] == 0  # type: ignore[index]


def test_a_100000_pixel_tall_page_is_refused_before_rendering(convert: Convert) -> None:
    error = refused(convert, "<div style='height:100000px'>tall</div>", "png")
    assert error.code == "FILE_TOO_LARGE"
    assert error.details["limit"] == "max_pixels"
    assert "page.html" in error.message


def test_its_viewport_is_fine(convert: Convert) -> None:
    shot = image(convert("<div style='height:100000px'>tall</div>", "png", full_page=False))
    assert shot.size == (1280, 800)


def test_markdown_screenshot(convert: Convert) -> None:
    assert image(convert("# Title\n\ntext\n", "png", name="notes.md", full_page=False)).size == (1280, 800)
