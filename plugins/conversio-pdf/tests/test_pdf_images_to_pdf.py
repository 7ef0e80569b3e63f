"""Images into one PDF with img2pdf: a page per image, JPEG bytes embedded untouched."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pikepdf
import pytest
from PIL import Image

from conversio.converters import Output
from conversio.errors import ConversioError
from conversio.limits import Limits
from conversio.testing import make_conversio

Run = Callable[..., list[Output]]


def _jpeg(path: Path, size: tuple[int, int], colour: str) -> Path:
    Image.new("RGB", size, colour).save(path, "JPEG", quality=90)
    return path


def _page_sizes(path: Path) -> list[tuple[float, float]]:
    with pikepdf.open(path) as pdf:
        return [(float(p.mediabox[2]), float(p.mediabox[3])) for p in pdf.pages]


def _image_widths(path: Path) -> list[int]:
    """The pixel width of the one image on each page."""
    with pikepdf.open(path) as pdf:
        return [int(next(iter(p.get_images().values())).Width) for p in pdf.pages]


def test_jpeg_is_embedded_as_is(run: Run, tmp_path: Path) -> None:
    photo = _jpeg(tmp_path / "photo.jpg", (120, 80), "orange")
    (out,) = run("pdf.img2pdf:jpg->pdf", [photo])
    with pikepdf.open(out.path) as pdf:
        assert len(pdf.pages) == 1
        (image,) = pdf.pages[0].get_images().values()
        assert isinstance(image, pikepdf.Stream)
        assert image.Filter == pikepdf.Name.DCTDecode
        assert image.read_raw_bytes() == photo.read_bytes()


def test_bundle_gives_a_page_per_image_in_natural_name_order(run: Run, tmp_path: Path) -> None:
    paths = [_jpeg(tmp_path / f"scan{n}.jpg", (100 + n, 50), "blue") for n in (10, 2, 1)]
    (out,) = run("pdf.img2pdf:jpg->pdf", paths)
    assert _image_widths(out.path) == [101, 102, 110]
    (given,) = run("pdf.img2pdf:jpg->pdf", paths, order="given")
    assert _image_widths(given.path) == [110, 102, 101]


def test_png_with_alpha_is_lossless(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "logo.png"
    source = Image.new("RGBA", (40, 30), (10, 200, 30, 255))
    source.putpixel((5, 5), (250, 1, 2, 255))
    source.save(path)
    (out,) = run("pdf.img2pdf:png->pdf", [path])
    with pikepdf.open(out.path) as pdf:
        (image,) = pdf.pages[0].get_images().values()
        assert isinstance(image, pikepdf.Stream)
        decoded = pikepdf.PdfImage(image).as_pil_image().convert("RGB")
    assert decoded.getpixel((5, 5)) == (250, 1, 2)
    assert decoded.getpixel((20, 20)) == (10, 200, 30)


def test_multi_page_tiff_gives_a_page_per_frame(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "fax.tif"
    frames = [Image.new("L", (50, 70), v) for v in (0, 128, 255)]
    frames[0].save(path, save_all=True, append_images=frames[1:])
    (out,) = run("pdf.img2pdf:tiff->pdf", [path])
    assert len(_page_sizes(out.path)) == 3


def test_garbage_image_is_corrupt(run: Run, tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    with pytest.raises(ConversioError) as info:
        run("pdf.img2pdf:png->pdf", [bad])
    assert info.value.code == "CORRUPT_FILE"


def test_image_limits(run: Run, tmp_path: Path) -> None:
    big = _jpeg(tmp_path / "big.jpg", (400, 300), "red")
    with pytest.raises(ConversioError) as info:
        run("pdf.img2pdf:jpg->pdf", [big], limits=Limits(max_pixels=10_000))
    assert info.value.code == "FILE_TOO_LARGE"
    small = [_jpeg(tmp_path / f"s{n}.jpg", (10, 10), "red") for n in range(3)]
    with pytest.raises(ConversioError) as info:
        run("pdf.img2pdf:jpg->pdf", small, limits=Limits(max_pages=2))
    assert info.value.code == "FILE_TOO_LARGE"


def test_png_to_pdf_renders_back_to_the_same_image(run: Run, tmp_path: Path) -> None:
    """img2pdf places an image without a resolution at 96 dpi: rendering at 96 dpi gives it back."""
    path = tmp_path / "flag.png"
    Image.new("RGB", (60, 40), (0, 128, 0)).save(path)
    (pdf,) = run("pdf.img2pdf:png->pdf", [path])
    (png,) = run("pdf.pdfium:pdf->png", pdf.path, dpi=96)
    with Image.open(png.path) as image:
        assert image.size == (60, 40)
        assert image.convert("RGB").getpixel((30, 20)) == (0, 128, 0)


def test_a_bundle_of_images_routes_to_one_pdf_through_the_api(tmp_path: Path) -> None:
    paths = [_jpeg(tmp_path / f"s{n}.jpg", (40 + n, 40), "red") for n in (10, 2)]
    app = make_conversio("conversio_pdf.plugin")
    try:
        result = app.convert(paths, to="pdf").then("rotate", angle=180).run()
        (saved,) = result.save(tmp_path / "out.pdf")
    finally:
        app.close()
    assert [a.name for a in result.artifacts] == ["images.pdf"]
    assert _image_widths(saved) == [42, 50]
    with pikepdf.open(saved) as pdf:
        assert [int(p.obj.Rotate) for p in pdf.pages] == [180, 180]
