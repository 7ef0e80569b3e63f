"""Animated frames kept where the target holds them; TIFF pages split one file per page."""

from __future__ import annotations

from pathlib import Path

import pytest
from image_helpers import close, decode, frames_of, save
from PIL import Image

COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
DURATIONS = [100, 200, 300]


def _animation(tmp_path: Path, fmt: str, loop: int | None = 0) -> Path:
    frames = [Image.new("RGB", (40, 30), c) for c in COLOURS]
    params: dict[str, object] = {"duration": DURATIONS}
    if loop is not None:
        params["loop"] = loop
    return save(frames, tmp_path / f"anim.{fmt}", fmt, **params)


def _durations(path: Path) -> list[int]:
    im = Image.open(path)
    out = []
    for i in range(im.n_frames):
        im.seek(i)
        im.load()
        out.append(int(im.info.get("duration", 0)))
    return out


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("gif", "webp"),
        ("gif", "png"),
        ("webp", "gif"),
        ("webp", "png"),
        ("png", "gif"),
        ("png", "webp"),
        ("gif", "avif"),
    ],
)
def test_animation_frames_and_timing_are_kept(source: str, target: str, tmp_path: Path, convert) -> None:
    out = convert(_animation(tmp_path, source), source, target)[0].path
    frames = frames_of(out)
    assert len(frames) == 3
    for frame, colour in zip(frames, COLOURS, strict=True):
        assert frame.size == (40, 30)
        assert close(frame.getpixel((20, 15)), (*colour, 255))  # type: ignore[arg-type]
    assert _durations(out) == DURATIONS


def test_first_frame_option_keeps_one_frame(tmp_path: Path, convert) -> None:
    out = convert(_animation(tmp_path, "gif"), "gif", "webp", first_frame=True)[0].path
    im = Image.open(out)
    assert getattr(im, "n_frames", 1) == 1
    assert close(im.convert("RGB").getpixel((5, 5)), COLOURS[0])  # type: ignore[arg-type]


def test_single_frame_targets_take_the_first_frame(tmp_path: Path, convert) -> None:
    out = decode(convert(_animation(tmp_path, "gif"), "gif", "jpg")[0].path)
    assert close(out.getpixel((5, 5)), COLOURS[0])  # type: ignore[arg-type]


def test_animation_to_tiff_gives_pages(tmp_path: Path, convert) -> None:
    out = convert(_animation(tmp_path, "gif"), "gif", "tiff")[0].path
    assert Image.open(out).n_frames == 3


def test_loop_count_is_translated(tmp_path: Path, convert) -> None:
    forever = convert(_animation(tmp_path, "gif", loop=0), "gif", "webp")[0].path
    assert Image.open(forever).info["loop"] == 0
    once = convert(_animation(tmp_path, "gif", loop=None), "gif", "webp")[0].path
    assert Image.open(once).info["loop"] == 1
    back = convert(once, "webp", "gif")[0].path
    assert "loop" not in Image.open(back).info  # a GIF without a loop block plays once


@pytest.mark.parametrize(
    ("source", "target"), [("png", "gif"), ("png", "webp"), ("gif", "png"), ("gif", "webp")]
)
def test_transparent_animation_does_not_smear(source: str, target: str, tmp_path: Path, convert) -> None:
    """A pixel opaque in frame 1 and transparent in frame 2 must be transparent in frame 2."""
    first = Image.new("RGBA", (20, 20), (255, 0, 0, 255))
    second = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    second.paste((0, 0, 255, 255), (10, 0, 20, 20))
    third = Image.new("RGBA", (20, 20), (0, 255, 0, 255))
    params = {"disposal": 2, "optimize": False} if source == "gif" else {"disposal": 1, "blend": 0}
    src = save([first, second, third], tmp_path / f"t.{source}", source, duration=[100, 100, 100], **params)
    assert frames_of(src)[1].getpixel((3, 3))[3] == 0  # type: ignore[index]
    frames = frames_of(convert(src, source, target)[0].path)
    assert len(frames) == 3
    assert frames[1].getpixel((3, 3))[3] == 0  # type: ignore[index]
    assert close(frames[1].getpixel((15, 3)), (0, 0, 255, 255))  # type: ignore[arg-type]
    assert close(frames[2].getpixel((3, 3)), (0, 255, 0, 255))  # type: ignore[arg-type]


def _pages(tmp_path: Path) -> Path:
    pages = [
        Image.new("RGB", (40, 30), (255, 0, 0)),
        Image.new("L", (20, 10), 128),
        Image.new("1", (16, 16), 1),
    ]
    return save(pages, tmp_path / "pages.tif", "tiff")


@pytest.mark.parametrize("target", ["png", "jpg", "webp", "gif", "bmp", "avif", "ico"])
def test_multipage_tiff_gives_one_file_per_page(target: str, tmp_path: Path, convert) -> None:
    outputs = convert(_pages(tmp_path), "tiff", target)
    assert [o.name for o in outputs] == [f"pages-page{i:03d}.{target}" for i in (1, 2, 3)]
    sizes = [decode(o.path).size for o in outputs]
    if target != "ico":
        assert sizes == [(40, 30), (20, 10), (16, 16)]
    assert close(decode(outputs[0].path).convert("RGB").getpixel((2, 2)), (255, 0, 0))  # type: ignore[arg-type]


def test_single_page_tiff_gives_one_plainly_named_file(tmp_path: Path, convert) -> None:
    src = save(Image.new("RGB", (8, 8), "red"), tmp_path / "one.tif", "tiff")
    outputs = convert(src, "tiff", "png")
    assert [o.name for o in outputs] == ["one.png"]
    assert decode(outputs[0].path).size == (8, 8)


def test_pages_are_resized_each(tmp_path: Path, convert) -> None:
    outputs = convert(_pages(tmp_path), "tiff", "png", width=10)
    assert [decode(o.path).size for o in outputs] == [(10, 8), (10, 5), (10, 10)]
