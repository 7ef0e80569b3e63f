"""width/height/fit on conversions, and the resize, rotate, crop and thumbnail operations."""

from __future__ import annotations

from pathlib import Path

import pytest
from conversio_image.geometry import fit_sizes
from image_helpers import close, decode, frames_of, quadrants, save
from PIL import Image

from conversio.errors import FileTooLarge, InvalidOption

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


@pytest.mark.parametrize(
    ("width", "height", "fit", "scaled", "box"),
    [
        (32, None, "inside", (32, 24), (32, 24)),
        (None, 12, "inside", (16, 12), (16, 12)),
        (30, 30, "inside", (30, 22), (30, 22)),
        (30, 30, "contain", (30, 22), (30, 30)),
        (30, 30, "cover", (40, 30), (30, 30)),
        (30, 30, "fill", (30, 30), (30, 30)),
        (None, None, "cover", (64, 48), (64, 48)),
    ],
)
def test_fit_sizes(
    width: int | None, height: int | None, fit: str, scaled: tuple[int, int], box: tuple[int, int]
) -> None:
    assert fit_sizes((64, 48), width, height, fit) == (scaled, box)


def test_resize_keeps_aspect_by_default(tmp_path: Path, convert) -> None:
    src = save(quadrants(), tmp_path / "q.png", "png")
    assert decode(convert(src, "png", "jpg", width=32)[0].path).size == (32, 24)
    assert decode(convert(src, "png", "jpg", width=30, height=30)[0].path).size == (30, 22)


def test_contain_pads_with_background_and_cover_crops(tmp_path: Path, convert) -> None:
    src = save(quadrants(), tmp_path / "q.png", "png")
    contain_png = decode(convert(src, "png", "webp", width=64, height=64, fit="contain")[0].path).convert(
        "RGBA"
    )
    assert contain_png.size == (64, 64) and contain_png.getpixel((32, 2))[3] == 0  # type: ignore[index]
    contain_jpg = decode(
        convert(src, "png", "jpg", width=64, height=64, fit="contain", background="black")[0].path
    )
    assert close(contain_jpg.getpixel((32, 2)), (0, 0, 0))  # type: ignore[arg-type]
    cover = decode(convert(src, "png", "bmp", width=24, height=48, fit="cover")[0].path)
    assert cover.size == (24, 48)
    assert close(cover.getpixel((2, 2)), RED) and close(cover.getpixel((21, 2)), GREEN)  # type: ignore[arg-type]
    fill = decode(convert(src, "png", "bmp", width=10, height=40, fit="fill")[0].path)
    assert fill.size == (10, 40)


def test_output_over_the_pixel_limit_is_refused(tmp_path: Path, convert) -> None:
    src = save(quadrants(), tmp_path / "q.png", "png")
    with pytest.raises(FileTooLarge):
        convert(src, "png", "jpg", width=60_000, height=60_000, fit="fill")


def test_webp_side_limit_is_file_too_large(tmp_path: Path, convert) -> None:
    src = save(Image.new("RGB", (100, 1), "red"), tmp_path / "strip.png", "png")
    with pytest.raises(FileTooLarge) as info:
        convert(src, "png", "webp", width=20_000)
    assert info.value.details["limit"] == 16_383


def test_resize_operation(tmp_path: Path, operate) -> None:
    src = save(quadrants(), tmp_path / "q.jpg", "jpg", quality=95)
    out = operate(src, "jpg", "resize", width=16)
    assert out[0].name == "q.jpg" and decode(out[0].path).size == (16, 12)


@pytest.mark.parametrize("fmt", ["png", "jpg", "webp", "gif", "bmp", "tiff", "ico", "avif"])
def test_rotate_90_is_exact_and_clockwise(fmt: str, tmp_path: Path, operate) -> None:
    src = save(quadrants(), tmp_path / f"q.{fmt}", fmt)
    out = decode(operate(src, fmt, "rotate", angle=90)[0].path).convert("RGB")
    if fmt == "ico":
        assert out.size[0] < out.size[1]
        return
    assert out.size == (48, 64)
    assert close(out.getpixel((5, 5)), BLUE) and close(out.getpixel((43, 5)), RED)  # type: ignore[arg-type]


def test_rotate_by_any_angle_fills_corners(tmp_path: Path, operate) -> None:
    src = save(Image.new("RGB", (40, 40), "red"), tmp_path / "r.png", "png")
    png = decode(operate(src, "png", "rotate", angle=45)[0].path)
    assert png.size[0] > 40 and png.convert("RGBA").getpixel((1, 1))[3] == 0  # type: ignore[index]
    jpg_src = save(Image.new("RGB", (40, 40), "red"), tmp_path / "r.jpg", "jpg")
    jpg = decode(operate(jpg_src, "jpg", "rotate", angle=45, background="#0000ff")[0].path)
    assert close(jpg.getpixel((1, 1)), BLUE)  # type: ignore[arg-type]
    same = decode(operate(src, "png", "rotate", angle=30, expand=False)[0].path)
    assert same.size == (40, 40)


def test_rotate_needs_an_angle(tmp_path: Path, operate) -> None:
    src = save(quadrants(), tmp_path / "q.png", "png")
    with pytest.raises(InvalidOption) as info:
        operate(src, "png", "rotate")
    assert info.value.details["option"] == "angle"


def test_crop(tmp_path: Path, operate) -> None:
    src = save(quadrants(), tmp_path / "q.png", "png")
    out = decode(operate(src, "png", "crop", left=32, top=0, width=32, height=24)[0].path)
    assert out.size == (32, 24) and close(out.convert("RGB").getpixel((16, 12)), GREEN)  # type: ignore[arg-type]
    rest = decode(operate(src, "png", "crop", left=40, top=30)[0].path)
    assert rest.size == (24, 18)


@pytest.mark.parametrize("box", [{"left": 64}, {"top": 10, "height": 40}, {"left": 10, "width": 60}])
def test_crop_outside_the_image_is_invalid_option(box: dict[str, int], tmp_path: Path, operate) -> None:
    src = save(quadrants(), tmp_path / "q.png", "png")
    with pytest.raises(InvalidOption):
        operate(src, "png", "crop", **box)


def test_thumbnail_shrinks_but_never_enlarges(tmp_path: Path, operate) -> None:
    src = save(quadrants(), tmp_path / "q.webp", "webp")
    assert decode(operate(src, "webp", "thumbnail", size=16)[0].path).size == (16, 12)
    assert decode(operate(src, "webp", "thumbnail", size=500)[0].path).size == (64, 48)


def test_operations_apply_to_every_frame_and_page(tmp_path: Path, operate) -> None:
    frames = [Image.new("RGB", (40, 30), c) for c in (RED, GREEN, BLUE)]
    gif = save(frames, tmp_path / "a.gif", "gif", duration=100, loop=0)
    resized = frames_of(operate(gif, "gif", "resize", width=20)[0].path)
    assert [f.size for f in resized] == [(20, 15)] * 3
    assert close(resized[2].getpixel((5, 5)), (*BLUE, 255))  # type: ignore[arg-type]
    first_only = frames_of(operate(gif, "gif", "resize", width=20, first_frame=True)[0].path)
    assert len(first_only) == 1
    pages = save([Image.new("RGB", (40, 30), "red"), Image.new("L", (10, 20), 7)], tmp_path / "p.tif", "tiff")
    turned = Image.open(operate(pages, "tiff", "rotate", angle=90)[0].path)
    sizes = []
    for i in range(turned.n_frames):
        turned.seek(i)
        sizes.append(turned.size)
    assert sizes == [(30, 40), (20, 10)]
