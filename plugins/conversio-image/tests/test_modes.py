"""Every kind of pixel data (CMYK, 16-bit, palette, grey+alpha, bilevel, RGBA) to every target."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from image_helpers import close, decode, save
from PIL import Image

TARGETS = ("jpg", "png", "webp", "gif", "bmp", "tiff", "ico", "avif")
ALPHA_TARGETS = {"png", "webp", "gif", "tiff", "ico", "avif"}
SIZE = (64, 48)
WHITE = (255, 255, 255)


def _halves(mode: str, left: object, right: object) -> Image.Image:
    im = Image.new(mode, SIZE, left)  # type: ignore[arg-type]
    im.paste(right, (SIZE[0] // 2, 0, SIZE[0], SIZE[1]))  # type: ignore[arg-type]
    return im


def cmyk_jpg(tmp: Path) -> Path:
    return save(_halves("CMYK", (0, 0, 0, 0), (0, 255, 255, 0)), tmp / "cmyk.jpg", "jpg", quality=95)


def grey16_png(tmp: Path) -> Path:
    return save(_halves("I;16", 32768, 65535), tmp / "grey16.png", "png")


def palette_png(tmp: Path) -> Path:
    im = Image.new("P", SIZE, 0)
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * (254 * 3))
    im.paste(1, (SIZE[0] // 2, 0, SIZE[0], SIZE[1]))
    return save(im, tmp / "palette.png", "png", transparency=0)


def grey_alpha_png(tmp: Path) -> Path:
    return save(_halves("LA", (50, 0), (200, 255)), tmp / "la.png", "png")


def bilevel_tiff(tmp: Path) -> Path:
    return save(_halves("1", 1, 0), tmp / "bilevel.tif", "tiff", compression="group4")


def rgba_webp(tmp: Path) -> Path:
    return save(_halves("RGBA", (0, 0, 255, 0), (0, 0, 255, 255)), tmp / "rgba.webp", "webp", lossless=True)


def palette_gif(tmp: Path) -> Path:
    return save(_halves("RGB", (0, 128, 0), (255, 255, 0)).convert("P"), tmp / "pal.gif", "gif")


# (maker, source format, left colour or None for transparent, right colour)
SAMPLES: dict[str, tuple[Callable[[Path], Path], str, tuple[int, ...] | None, tuple[int, ...]]] = {
    "cmyk-jpg": (cmyk_jpg, "jpg", WHITE, (255, 0, 0)),
    "16bit-grey-png": (grey16_png, "png", (128, 128, 128), WHITE),
    "palette-transparent-png": (palette_png, "png", None, (255, 0, 0)),
    "grey-alpha-png": (grey_alpha_png, "png", None, (200, 200, 200)),
    "bilevel-g4-tiff": (bilevel_tiff, "tiff", WHITE, (0, 0, 0)),
    "rgba-webp": (rgba_webp, "webp", None, (0, 0, 255)),
    "palette-gif": (palette_gif, "gif", (0, 128, 0), (255, 255, 0)),
}


@pytest.mark.parametrize(
    ("sample", "target"), [(s, t) for s, (_, source, _, _) in SAMPLES.items() for t in TARGETS if t != source]
)
def test_pixels_survive_every_mode_to_every_target(sample: str, target: str, tmp_path: Path, convert) -> None:
    make, source, left, right = SAMPLES[sample]
    outputs = convert(make(tmp_path), source, target)
    assert len(outputs) == 1
    im = decode(outputs[0].path)
    assert im.format == {"jpg": "JPEG", "tiff": "TIFF"}.get(target, target.upper())
    if target == "ico":  # icons hold the standard sizes that fit the picture
        assert im.size[0] <= SIZE[0] and abs(im.size[0] / im.size[1] - SIZE[0] / SIZE[1]) < 0.1
    else:
        assert im.size == SIZE
    if target in ("jpg", "bmp"):
        assert im.mode in ("1", "L", "RGB")
    rgba = im.convert("RGBA")
    w, h = rgba.size
    left_px, right_px = rgba.getpixel((w // 4, h // 2)), rgba.getpixel((3 * w // 4, h // 2))
    assert isinstance(left_px, tuple) and isinstance(right_px, tuple)
    assert close(right_px[:3], right), right_px
    assert right_px[3] == 255
    if left is not None:
        assert close(left_px[:3], left) and left_px[3] == 255, left_px
    elif target in ALPHA_TARGETS:
        assert left_px[3] < 16, left_px
    else:  # no alpha in the target: composited on the default white background
        assert close(left_px, (255, 255, 255, 255)), left_px


def test_cmyk_becomes_rgb_and_16bit_becomes_8bit(tmp_path: Path, convert) -> None:
    assert decode(convert(cmyk_jpg(tmp_path), "jpg", "png")[0].path).mode == "RGB"
    grey = decode(convert(grey16_png(tmp_path), "png", "tiff")[0].path)
    assert grey.mode == "L"
    assert grey.getpixel((SIZE[0] // 4, 0)) == 128 and grey.getpixel((3 * SIZE[0] // 4, 0)) == 255


def test_cmyk_with_profile_goes_through_the_profile(tmp_path: Path, convert) -> None:
    corpus_cmyk = tmp_path / "cmyk-icc.jpg"
    im = _halves("CMYK", (0, 0, 0, 0), (0, 255, 255, 0))
    # An sRGB profile is no CMYK profile: the conversion must fall back to the plain formula, not crash.
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    save(im, corpus_cmyk, "jpg", icc_profile=srgb, quality=95)
    out = decode(convert(corpus_cmyk, "jpg", "png")[0].path)
    assert out.mode == "RGB" and close(out.getpixel((48, 10)), (255, 0, 0))  # type: ignore[arg-type]
    assert "icc_profile" not in out.info  # the CMYK file's profile no longer describes the pixels
