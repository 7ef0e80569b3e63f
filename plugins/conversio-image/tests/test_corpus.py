"""Every image of the shared corpus to PNG and to JPEG, each output decoded and checked.

The expected picture comes from the engines used directly (Pillow with its own
EXIF transpose, pillow-heif, resvg), and TIFF pages are counted by walking the
file's IFD chain here, independently of Pillow.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from image_helpers import run_spec, spec_for
from PIL import Image, ImageChops, ImageOps, ImageStat

from conversio.errors import ConversioError
from conversio.testing import corpus_files

pytestmark = pytest.mark.corpus

FILES = corpus_files("images")
ALIASES = {"heif": "heic", "jpeg": "jpg", "tif": "tiff"}
#: Corpus files expected to fail, with the error code they must give (none so far).
EXPECTED_FAILURES: dict[str, str] = {}
#: Mean absolute difference per channel allowed between the output and the engine's own decoding.
TOLERANCE = {"png": 3.0, "jpg": 12.0}


def _cases() -> list[tuple[Path, str, str]]:
    cases = []
    for path, row in FILES:
        fmt = ALIASES.get(row["format"], row["format"])
        for target in ("png", "jpg"):
            if fmt != target:
                cases.append((path, fmt, target))
    return cases


def tiff_page_count(path: Path) -> int:
    """Pages of a TIFF, by following its IFD chain (no imaging library involved)."""
    data = path.read_bytes()
    endian = "<" if data[:2] == b"II" else ">"
    offset, seen = struct.unpack(endian + "I", data[4:8])[0], set()
    while offset and offset not in seen and offset + 2 <= len(data):
        seen.add(offset)
        entries = struct.unpack(endian + "H", data[offset : offset + 2])[0]
        next_at = offset + 2 + 12 * entries
        offset = struct.unpack(endian + "I", data[next_at : next_at + 4])[0]
    return len(seen)


def expected_pictures(path: Path, fmt: str) -> list[Image.Image]:
    """What a viewer shows: one picture per page, upright, as RGBA."""
    if fmt == "svg":
        import resvg_py

        png = bytes(resvg_py.svg_to_bytes(svg_string=path.read_text(encoding="utf-8"), dpi=96.0))
        return [Image.open(io.BytesIO(png)).convert("RGBA")]
    if fmt == "heic":
        import pillow_heif

        pillow_heif.register_heif_opener()
    im = Image.open(path)
    pictures = []
    for index in range(tiff_page_count(path) if fmt == "tiff" else 1):
        im.seek(index)
        upright = ImageOps.exif_transpose(im)
        pictures.append((upright or im).convert("RGBA"))
    return pictures


def _on_white(im: Image.Image) -> Image.Image:
    base = Image.new("RGBA", im.size, (255, 255, 255, 255))
    base.alpha_composite(im.convert("RGBA"))
    return base.convert("RGB")


@pytest.mark.skipif(not FILES, reason="the shared corpus is not available")
@pytest.mark.parametrize(
    ("path", "fmt", "target"), _cases(), ids=lambda v: v.name if isinstance(v, Path) else v
)
def test_corpus_image_converts(path: Path, fmt: str, target: str, tmp_path: Path) -> None:
    try:
        outputs = run_spec(spec_for(fmt, target), path, tmp_path / "out")
    except ConversioError as exc:
        assert EXPECTED_FAILURES.get(path.name) == exc.code, f"{path.name}: {exc}"
        return
    assert path.name not in EXPECTED_FAILURES, "converted although a failure was expected"
    expected = expected_pictures(path, fmt)
    assert len(outputs) == len(expected), "one output per page"
    for output, picture in zip(outputs, expected, strict=True):
        produced = Image.open(output.path)
        produced.load()
        assert produced.format == {"png": "PNG", "jpg": "JPEG"}[target]
        assert produced.size == picture.size, "size differs from the source's upright size"
        if target == "jpg":
            assert produced.mode in ("L", "RGB")
        difference = ImageStat.Stat(ImageChops.difference(_on_white(produced), _on_white(picture))).mean
        assert max(difference) <= TOLERANCE[target], f"pixels differ from the source (mean {difference})"
    if fmt in ("gif", "webp") and getattr(Image.open(path), "n_frames", 1) > 1 and target == "png":
        assert Image.open(outputs[0].path).n_frames == Image.open(path).n_frames  # type: ignore[attr-defined]
