"""Real-world variants of each format: the right picture, or a refusal naming what is unsupported.

Every fixture is written byte by byte (:mod:`handmade`) or by Pillow here; every result is
decoded and its pixels checked. A valid file is never called damaged.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from conversio_image.plugin import confirm_format
from conversio_image.specs import all_specs
from handmade import (
    BI_BITFIELDS,
    BI_JPEG,
    BI_PNG,
    BI_RLE4,
    BI_RLE8,
    CIELAB,
    DEFLATE,
    JBIG,
    MIN_IS_BLACK,
    NONE,
    OLD_JPEG,
    SEPARATED,
    Page,
    bmp,
    padded,
    rgb_page,
    rle4,
    rle8,
    tiff,
)
from image_helpers import close, decode, save
from PIL import Image

from conversio.converters import ConversionRequest, InputFile
from conversio.errors import CorruptFile, FormatMismatch, UnsupportedFormat
from conversio.limits import Limits

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def _refused(excinfo: pytest.ExceptionInfo[UnsupportedFormat], name: str, folder: Path) -> str:
    """The refusal's feature, after checking it names the file and nothing of the server."""
    error = excinfo.value
    assert type(error) is UnsupportedFormat, error
    assert error.details["file"] == name and name in error.message
    assert str(folder) not in error.message and str(folder) not in repr(error.details)
    return str(error.details["feature"])


# -- BigTIFF ------------------------------------------------------------------------------------


@pytest.mark.parametrize("compression", [NONE, DEFLATE])
@pytest.mark.parametrize("target", ["png", "jpg"])
def test_little_endian_bigtiff_gives_one_file_per_page(
    compression: int, target: str, tmp_path: Path, convert
) -> None:
    pages = [rgb_page(40, 30, RED, compression), rgb_page(20, 10, BLUE, compression)]
    src = _write(tmp_path, "scan.tif", tiff(pages, big=True, order="<"))
    assert src.read_bytes()[:4] == b"II+\x00"
    outputs = convert(src, "tiff", target)
    assert [o.path.name for o in outputs] == [f"scan-page001.{target}", f"scan-page002.{target}"]
    first, second = (decode(o.path) for o in outputs)
    assert first.format == ("PNG" if target == "png" else "JPEG") and first.size == (40, 30)
    assert close(first.convert("RGB").getpixel((5, 5)), RED, 8)  # type: ignore[arg-type]
    assert second.size == (20, 10) and close(second.convert("RGB").getpixel((5, 5)), BLUE, 8)  # type: ignore[arg-type]


def test_single_page_bigtiff_gives_one_file(tmp_path: Path, convert) -> None:
    src = _write(tmp_path, "one.tif", tiff([rgb_page(16, 8, GREEN, DEFLATE)], big=True))
    [out] = convert(src, "tiff", "png")
    assert out.path.name == "one.png" and decode(out.path).convert("RGB").getpixel((0, 0)) == GREEN


@pytest.mark.parametrize("compression", [NONE, DEFLATE])
def test_big_endian_bigtiff_is_refused_by_name(compression: int, tmp_path: Path, convert) -> None:
    """Pillow reads the byte-order mark of a big-endian BigTIFF wrongly (MM\\0+): refused, not damaged."""
    src = _write(tmp_path, "mm.tif", tiff([rgb_page(8, 8, RED, compression)], big=True, order=">"))
    assert src.read_bytes()[:4] == b"MM\x00+"
    with pytest.raises(UnsupportedFormat) as info:
        convert(src, "tiff", "png")
    assert _refused(info, "mm.tif", tmp_path) == "big-endian BigTIFF"


def test_big_endian_classic_tiff_converts(tmp_path: Path, convert) -> None:
    src = _write(tmp_path, "mm.tif", tiff([rgb_page(8, 8, RED, DEFLATE)], order=">"))
    [out] = convert(src, "tiff", "png")
    assert decode(out.path).convert("RGB").getpixel((4, 4)) == RED


# -- TIFF variants ------------------------------------------------------------------------------


def _grey(bits: int, value: int, count: int) -> bytes:
    """``count`` samples of ``value``, packed MSB-first at ``bits`` bits each."""
    stream = "".join(format(value, f"0{bits}b") for _ in range(count))
    stream += "0" * (-len(stream) % 8)
    return int(stream, 2).to_bytes(len(stream) // 8, "big")


@pytest.mark.parametrize(
    ("name", "page", "expected"),
    [
        ("lab", Page(8, 6, bytes((135, 80, 67)) * 48, photometric=CIELAB), RED),  # L*53 a*80 b*67
        ("cmyk", Page(8, 6, bytes((0, 255, 255, 0)) * 48, bits=(8,) * 4, photometric=SEPARATED), RED),
        ("rgb16", Page(8, 6, struct.pack("<3H", 65535, 0, 0) * 48, bits=(16,) * 3), RED),
        (
            "grey16",
            Page(8, 6, struct.pack("<H", 32896) * 48, bits=(16,), photometric=MIN_IS_BLACK),
            (128,) * 3,
        ),
        ("grey12", Page(8, 6, _grey(12, 2056, 48), bits=(12,), photometric=MIN_IS_BLACK), (128,) * 3),
        (
            "float",
            Page(8, 6, struct.pack("<f", 0.5) * 48, bits=(32,), photometric=MIN_IS_BLACK, sample_format=3),
            (128,) * 3,
        ),
    ],
)
def test_tiff_sample_layouts_give_the_right_colour(
    name: str, page: Page, expected: tuple[int, ...], tmp_path: Path, convert
) -> None:
    src = _write(tmp_path, f"{name}.tif", tiff([page]))
    [out] = convert(src, "tiff", "png")
    pixel = decode(out.path).convert("RGB").getpixel((3, 3))
    assert isinstance(pixel, tuple) and close(pixel, expected, 12), pixel


@pytest.mark.parametrize(
    ("page", "feature"),
    [
        (Page(8, 6, b"\0" * 64, compression=OLD_JPEG), "old-style JPEG compression (code 6)"),
        (Page(8, 6, b"\0" * 64, bits=(1,), photometric=MIN_IS_BLACK, compression=JBIG), "JBIG compression"),
        (Page(8, 6, b"\0" * 64, compression=40000), "an unknown compression (code 40000)"),
        (
            Page(8, 6, struct.pack("<3f", 1, 0, 0) * 48, bits=(32,) * 3, sample_format=3),
            "floating-point colour",
        ),
    ],
)
def test_tiff_features_pillow_lacks_are_named(page: Page, feature: str, tmp_path: Path, convert) -> None:
    src = _write(tmp_path, "odd.tif", tiff([page]))
    with pytest.raises(UnsupportedFormat) as info:
        convert(src, "tiff", "png")
    assert _refused(info, "odd.tif", tmp_path).startswith(feature)


def _psd(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    """A flat RGB Photoshop file (no layers, raw channel data)."""
    header = b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, height, width, 8, 3)
    sections = struct.pack(">III", 0, 0, 0)  # colour mode data, image resources, layers
    planes = b"".join(bytes((c,)) * (width * height) for c in colour)
    return header + sections + struct.pack(">H", 0) + planes


def test_photoshop_file_named_tif_is_refused_as_photoshop(tmp_path: Path, convert) -> None:
    src = _write(tmp_path, "layout.tif", _psd(8, 6, RED))
    assert Image.open(src).format == "PSD"  # the fixture is a real PSD
    with pytest.raises(UnsupportedFormat) as info:
        convert(src, "tiff", "png")
    assert _refused(info, "layout.tif", tmp_path) == "Photoshop (PSD)"


def test_png_named_tif_is_a_format_mismatch(tmp_path: Path, convert) -> None:
    src = save(Image.new("RGB", (8, 6), RED), tmp_path / "photo.tif", "png")
    with pytest.raises(FormatMismatch) as info:
        convert(src, "tiff", "jpg")
    assert info.value.details == {"file": "photo.tif", "claimed": "tiff", "detected": "png"}


def test_jpeg_2000_named_jpg_is_refused_as_jpeg_2000(tmp_path: Path, convert) -> None:
    src = tmp_path / "photo.jpg"
    Image.new("RGB", (8, 6), RED).save(src, "JPEG2000")
    with pytest.raises(UnsupportedFormat) as info:
        convert(src, "jpg", "png")
    assert _refused(info, "photo.jpg", tmp_path) == "JPEG 2000"


# -- JPEG ---------------------------------------------------------------------------------------


def _jpeg_with_frame(marker: int, precision: int) -> bytes:
    """A Pillow JPEG whose frame header says ``marker`` (SOFn) and ``precision`` bits."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), RED).save(buffer, "JPEG")
    data = bytearray(buffer.getvalue())
    at = data.index(b"\xff\xc0")
    data[at + 1], data[at + 4] = marker, precision
    return bytes(data)


@pytest.mark.parametrize(
    ("marker", "precision", "feature"),
    [(0xC1, 12, "12-bit samples"), (0xC3, 8, "lossless JPEG coding"), (0xC5, 8, "hierarchical JPEG coding")],
)
def test_jpeg_codings_pillow_lacks_are_named(
    marker: int, precision: int, feature: str, tmp_path: Path, convert
) -> None:
    src = _write(tmp_path, "deep.jpg", _jpeg_with_frame(marker, precision))
    with pytest.raises(UnsupportedFormat) as info:
        convert(src, "jpg", "png")
    assert _refused(info, "deep.jpg", tmp_path) == feature


def test_damaged_jpeg_is_still_corrupt_in_plain_words(tmp_path: Path, convert) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), RED).save(buffer, "JPEG")
    src = _write(tmp_path, "cut.jpg", buffer.getvalue()[:200])
    with pytest.raises(CorruptFile) as info:
        convert(src, "jpg", "png")
    assert info.value.message == "cut.jpg could not be decoded: its image data is damaged or cut short"


# -- BMP ----------------------------------------------------------------------------------------

PALETTE = [RED, BLUE] + [(0, 0, 0)] * 14
#: 8 x 6, red above blue: stored bottom-up, so blue rows come first.
TOP, BOTTOM = bytes([0] * 8), bytes([1] * 8)
BOTTOM_UP = [BOTTOM] * 3 + [TOP] * 3


def _pixels16(value: int) -> bytes:
    return b"".join(padded(struct.pack("<H", value) * 8) for _ in range(6))


def _embedded(fmt: str) -> bytes:
    picture = Image.new("RGB", (8, 6), RED)
    picture.paste(BLUE, (0, 3, 8, 6))
    buffer = io.BytesIO()
    picture.save(buffer, fmt, **({"quality": 100} if fmt == "JPEG" else {}))
    return buffer.getvalue()


BMPS = {
    "rle8": lambda: bmp(8, 6, rle8(BOTTOM_UP), bits=8, compression=BI_RLE8, palette=PALETTE),
    "rle4": lambda: bmp(8, 6, rle4(BOTTOM_UP), bits=4, compression=BI_RLE4, palette=PALETTE),
    "top-down-24": lambda: bmp(
        8, 6, padded(b"\0\0\xff" * 8) * 3 + padded(b"\xff\0\0" * 8) * 3, bits=24, top_down=True
    ),
    "os2-8": lambda: bmp(
        8, 6, b"".join(padded(r) for r in BOTTOM_UP), bits=8, palette=PALETTE + [(0, 0, 0)] * 240, header=12
    ),
    "bitfields-565": lambda: bmp(
        8, 6, _pixels16(0x001F) * 1, bits=16, compression=BI_BITFIELDS, masks=(0xF800, 0x07E0, 0x001F)
    ),
    "rgb555": lambda: bmp(8, 6, _pixels16(0x001F), bits=16),
    "bitfields-32": lambda: bmp(
        8, 6, struct.pack("<I", 0xFF0000) * 48, bits=32, compression=BI_BITFIELDS,
        masks=(0xFF0000, 0xFF00, 0xFF),
    ),
    "v5-alpha": lambda: bmp(
        8, 6, struct.pack("<I", 0x80FF0000) * 48, bits=32, compression=BI_BITFIELDS,
        masks=(0xFF0000, 0xFF00, 0xFF, 0xFF000000), header=124,
    ),
    "embedded-jpeg": lambda: bmp(8, 6, _embedded("JPEG"), bits=0, compression=BI_JPEG, header=124),
    "embedded-png": lambda: bmp(8, 6, _embedded("PNG"), bits=0, compression=BI_PNG, header=124),
}  # fmt: skip
#: (top colour, bottom colour, alpha) of each BMP above.
EXPECTED = {
    "rle8": (RED, BLUE, 255),
    "rle4": (RED, BLUE, 255),
    "top-down-24": (RED, BLUE, 255),
    "os2-8": (RED, BLUE, 255),
    "bitfields-565": (BLUE, BLUE, 255),
    "rgb555": (BLUE, BLUE, 255),
    "bitfields-32": (RED, RED, 255),
    "v5-alpha": (RED, RED, 128),
    "embedded-jpeg": (RED, BLUE, 255),
    "embedded-png": (RED, BLUE, 255),
}


@pytest.mark.parametrize("kind", list(BMPS))
def test_bmp_variants_convert_upright(kind: str, tmp_path: Path, convert) -> None:
    src = _write(tmp_path, f"{kind}.bmp", BMPS[kind]())
    top, bottom, alpha = EXPECTED[kind]
    [out] = convert(src, "bmp", "png")
    im = decode(out.path).convert("RGBA")
    assert im.size == (8, 6)
    top_px, bottom_px = im.getpixel((4, 0)), im.getpixel((4, 5))
    assert isinstance(top_px, tuple) and isinstance(bottom_px, tuple)
    assert close(top_px[:3], top, 6) and close(bottom_px[:3], bottom, 6), (top_px, bottom_px)
    assert abs(top_px[3] - alpha) <= 1
    [flat] = convert(src, "bmp", "jpg")  # no alpha in JPEG: over white
    pixel = decode(flat.path).convert("RGB").getpixel((4, 0))
    assert isinstance(pixel, tuple)
    expected = tuple(round(c * alpha / 255 + 255 * (255 - alpha) / 255) for c in top)
    assert close(pixel, expected, 24), pixel  # twice JPEG next to a colour edge


@pytest.mark.parametrize(
    ("data", "feature"),
    [
        (
            bmp(8, 6, struct.pack("<I", 0x3FF << 20) * 48, bits=32, compression=BI_BITFIELDS,
                masks=(0x3FF << 20, 0x3FF << 10, 0x3FF)),
            "bit fields 0x3ff00000, 0xffc00, 0x3ff",
        ),
        (bmp(8, 6, b"\0" * 192, bits=32, compression=6), "alpha bit fields compression (code 6)"),
        (bmp(8, 6, b"\0" * 64, bits=8, compression=12, palette=PALETTE), "CMYK RLE8 compression (code 12)"),
    ],
)  # fmt: skip
def test_bmp_features_pillow_lacks_are_named(data: bytes, feature: str, tmp_path: Path, convert) -> None:
    src = _write(tmp_path, "odd.bmp", data)
    with pytest.raises(UnsupportedFormat) as info:
        convert(src, "bmp", "png")
    assert _refused(info, "odd.bmp", tmp_path) == feature


# -- HEIF ---------------------------------------------------------------------------------------


def test_heic_with_several_images_gives_the_primary_and_says_so(tmp_path: Path) -> None:
    import pillow_heif

    pillow_heif.register_heif_opener()
    red, green, blue = (Image.new("RGB", (32, 16), c) for c in (RED, GREEN, BLUE))
    src = tmp_path / "burst.heic"
    red.save(src, "HEIF", save_all=True, append_images=[green, blue])
    spec = next(s for s in all_specs() if s.id == "image.pillow:heic->png")
    (tmp_path / "out").mkdir()
    request = ConversionRequest(
        inputs=(InputFile(src, "burst.heic", "heic"),),
        output_dir=tmp_path / "out",
        source="heic",
        target="png",
        options=spec.options.validate({}),
        limits=Limits(),
    )
    [out] = spec.load()(request)
    assert close(decode(out.path).convert("RGB").getpixel((8, 8)), RED, 24)  # type: ignore[arg-type]
    assert request.warnings == [
        "burst.heic holds 3 separate images; only its primary image was converted to png"
    ]


def _box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def test_heif_sequence_without_a_still_image_is_refused_by_name(tmp_path: Path, convert) -> None:
    ftyp = _box(b"ftyp", b"msf1" + b"\0\0\0\0" + b"msf1iso8hevc")
    moov = _box(b"moov", _box(b"mvhd", b"\0" * 100))
    src = _write(tmp_path, "clip.heic", ftyp + moov + _box(b"mdat", zlib.compress(b"frames")))
    with pytest.raises(UnsupportedFormat) as info:
        convert(src, "heic", "png")
    assert _refused(info, "clip.heic", tmp_path) == "an image sequence with no still image"


# -- confirm_format -----------------------------------------------------------------------------

SVG = (
    b'<?xml version="1.0"?>\n<!-- drawn by hand -->\n'
    b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>'
)


@pytest.mark.parametrize("fmt", ["jpg", "png", "webp", "gif", "bmp", "tiff", "ico", "avif", "heic", "svg"])
def test_confirm_format_knows_each_format_from_the_others(fmt: str, tmp_path: Path) -> None:
    if fmt == "svg":
        real = _write(tmp_path, "a.svg", SVG)
    else:
        real = save(Image.new("RGB", (16, 16), RED), tmp_path / f"a.{fmt}", fmt)
    assert confirm_format(path=real, format=fmt) is True
    other = save(Image.new("RGB", (16, 16), RED), tmp_path / "b.bin", "gif" if fmt == "png" else "png")
    assert confirm_format(path=other, format=fmt) is False
    text = _write(tmp_path, "c.txt", b"BMW,Audi\nII*\0 MM\0* <svg> is a tag\n" * 20)
    assert confirm_format(path=text, format=fmt) is False
    assert confirm_format(path=_write(tmp_path, "d.txt", b""), format=fmt) is False


def test_confirm_format_says_yes_to_a_format_with_an_unsupported_feature(tmp_path: Path) -> None:
    big_endian = _write(tmp_path, "mm.tif", tiff([rgb_page(8, 8, RED)], big=True, order=">"))
    assert confirm_format(path=big_endian, format="tiff") is True
    deep = _write(tmp_path, "deep.jpg", _jpeg_with_frame(0xC1, 12))
    assert confirm_format(path=deep, format="jpg") is True
    assert confirm_format(path=_write(tmp_path, "x.svg", b"<html><svg/></html>"), format="svg") is False


@pytest.mark.parametrize("fmt", ["pdf", "mp3", "docx", "txt"])
def test_confirm_format_leaves_other_formats_to_other_plugins(fmt: str, tmp_path: Path) -> None:
    assert confirm_format(path=_write(tmp_path, "x", b"%PDF-1.7\n"), format=fmt) is None
