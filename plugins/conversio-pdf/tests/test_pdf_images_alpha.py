"""Images with transparency, 16 bits, CMYK, interlacing, animation and EXIF orientation into a
PDF: each page decoded back to pixels shows the image as a viewer shows it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pikepdf
import pytest
from handmade_png import png
from PIL import Image, ImageOps

from conversio.converters import Output
from conversio.errors import ConversioError

Run = Callable[..., list[Output]]
WHITE, RED, BLUE = (255, 255, 255), (255, 0, 0), (0, 0, 255)
SIZE = (40, 30)


def _pages(run: Run, paths: list[Path], warnings: list[str] | None = None) -> list[Image.Image]:
    """The PDF made of ``paths``, each page rendered at 96 dpi (img2pdf's size for a bare image)."""
    suffix = paths[0].suffix.lstrip(".")
    fmt = {"jpeg": "jpg", "tif": "tiff"}.get(suffix, suffix)
    (pdf,) = run(f"pdf.img2pdf:{fmt}->pdf", paths, warnings=warnings)
    rendered = []
    for out in run("pdf.pdfium:pdf->png", pdf.path, dpi=96):
        with Image.open(out.path) as image:
            rendered.append(image.convert("RGB"))
    return rendered


def _half_transparent(mode: str) -> Image.Image:
    """Left half transparent (its colour blue), right half opaque red."""
    image = Image.new("RGBA", SIZE, (*RED, 255))
    image.paste(Image.new("RGBA", (SIZE[0] // 2, SIZE[1]), (*BLUE, 0)), (0, 0))
    return image.convert(mode) if mode != "RGBA" else image


def _rgb(image: Image.Image, xy: tuple[int, int]) -> tuple[int, int, int]:
    red, green, blue = image.getpixel(xy)  # type: ignore[misc]
    return int(red), int(green), int(blue)


def _close(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 3) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def _palette_with_trns(path: Path) -> Path:
    image = Image.new("P", SIZE, 1)
    image.putpalette([*BLUE, *RED])
    image.paste(0, (0, 0, SIZE[0] // 2, SIZE[1]))
    image.save(path, transparency=0)
    return path


ALPHA: dict[str, Callable[[Path], object]] = {
    "rgba.png": lambda p: _half_transparent("RGBA").save(p),
    "rgba.webp": lambda p: _half_transparent("RGBA").save(p, lossless=True),
    "rgba.tiff": lambda p: _half_transparent("RGBA").save(p),
    "palette-trns.png": _palette_with_trns,
    "palette-trns.gif": _palette_with_trns,
    "rgba16-interlaced.png": lambda p: p.write_bytes(
        png(SIZE, 6, 16, lambda x, y: (0, 0, 65535, 0) if x < SIZE[0] // 2 else (65535, 0, 0, 65535), True)
    ),
}


@pytest.mark.parametrize("name", list(ALPHA))
def test_transparent_pixels_show_the_white_page_and_the_rest_its_colour(
    run: Run, tmp_path: Path, name: str
) -> None:
    path = tmp_path / name
    ALPHA[name](path)
    (page,) = _pages(run, [path])
    assert page.size == SIZE
    assert page.getpixel((5, 15)) == WHITE
    assert page.getpixel((35, 15)) == RED


def test_grey_with_alpha_keeps_its_grey(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "la.png"
    image = Image.new("LA", SIZE, (80, 255))
    image.paste(Image.new("LA", (20, 30), (0, 0)), (0, 0))
    image.save(path)
    (page,) = _pages(run, [path])
    assert page.getpixel((5, 15)) == WHITE and _close(_rgb(page, (35, 15)), (80, 80, 80))


def test_sixteen_bit_grey_keeps_its_level(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "grey16.png"
    Image.new("I;16", SIZE, 30000).save(path)
    (page,) = _pages(run, [path])
    assert _close(_rgb(page, (20, 15)), (117, 117, 117))  # 30000/65535 of 255


def test_interlaced_png(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "adam7.png"
    path.write_bytes(png((13, 9), 2, 8, lambda x, y: (x * 19, y * 28, 90), interlaced=True))
    (page,) = _pages(run, [path])
    assert page.size == (13, 9)
    assert [page.getpixel(xy) for xy in ((0, 0), (12, 8), (5, 3))] == [
        (0, 0, 90),
        (228, 224, 90),
        (95, 84, 90),
    ]


def test_cmyk_jpeg_is_embedded_as_is_and_shows_its_colour(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "press.jpg"
    Image.new("CMYK", SIZE, (0, 255, 255, 0)).save(path, quality=95)
    (pdf,) = run("pdf.img2pdf:jpg->pdf", [path])
    with pikepdf.open(pdf.path) as document:
        (image,) = document.pages[0].get_images().values()
        assert image.ColorSpace == pikepdf.Name.DeviceCMYK
    (page,) = _pages(run, [path])
    red, green, blue = _rgb(page, (page.width // 2, page.height // 2))
    assert red > 200 and green < 60 and blue < 60


@pytest.mark.parametrize("fmt", ["gif", "webp"])
def test_an_animation_gives_its_first_frame_with_a_warning(run: Run, tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"clip.{fmt}"
    frames = [Image.new("RGB", SIZE, colour) for colour in (RED, (0, 255, 0), BLUE)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    warnings: list[str] = []
    (page,) = _pages(run, [path], warnings)
    assert _close(_rgb(page, (20, 15)), RED, 8)
    assert warnings == [f"clip.{fmt} is animated (3 frames): its first frame is the page"]


def _oriented(path: Path, orientation: int) -> Path:
    """A 40x20 image with a red top-left corner, tagged with EXIF ``orientation``."""
    image = Image.new("RGB", (40, 20), WHITE)
    image.paste(Image.new("RGB", (10, 10), RED), (0, 0))
    exif = image.getexif()
    exif[0x0112] = orientation
    image.save(path, exif=exif)
    return path


def _red_corners(image: Image.Image) -> list[str]:
    corners = {"top-left": (2, 2), "top-right": (-3, 2), "bottom-left": (2, -3), "bottom-right": (-3, -3)}
    return [
        name for name, (x, y) in corners.items() if _rgb(image, (x % image.width, y % image.height))[1] < 100
    ]


@pytest.mark.parametrize("fmt", ["jpg", "png", "webp", "tiff"])
@pytest.mark.parametrize("orientation", [2, 3, 5, 6, 8])
def test_exif_orientation_is_shown_as_a_viewer_shows_it(
    run: Run, tmp_path: Path, fmt: str, orientation: int
) -> None:
    path = _oriented(tmp_path / f"photo.{fmt}", orientation)
    with Image.open(path) as source:
        upright = ImageOps.exif_transpose(source).convert("RGB")
    (page,) = _pages(run, [path])
    assert (page.width > page.height) == (upright.width > upright.height)
    assert _red_corners(page) == _red_corners(upright)


def test_thirty_two_bit_samples_are_refused_clearly(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "depth.tiff"
    Image.new("F", SIZE, 0.5).save(path)
    with pytest.raises(ConversioError) as info:
        run("pdf.img2pdf:tiff->pdf", [path])
    assert info.value.code == "UNSUPPORTED_FORMAT"
    assert info.value.message.startswith("depth.tiff has 32-bit samples")


def test_a_damaged_image_among_others_is_named(run: Run, tmp_path: Path) -> None:
    good = tmp_path / "a.png"
    Image.new("RGB", SIZE, RED).save(good)
    bad = tmp_path / "b.png"
    bad.write_bytes(good.read_bytes()[:60])
    with pytest.raises(ConversioError) as info:
        run("pdf.img2pdf:png->pdf", [good, bad])
    assert info.value.code == "CORRUPT_FILE" and info.value.details == {"file": "b.png"}
    assert str(tmp_path) not in info.value.message
