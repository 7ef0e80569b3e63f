"""PDF pages to images and text with PDFium: sizes, order, ranges, limits, passwords."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pdf_samples import encrypted_pdf, make_pdf, two_column_table
from PIL import Image

from conversio.converters import Output
from conversio.errors import ConversioError
from conversio.limits import Limits

Run = Callable[..., list[Output]]


@pytest.mark.parametrize(
    ("target", "pillow"), [("jpg", "JPEG"), ("png", "PNG"), ("webp", "WEBP"), ("tiff", "TIFF")]
)
def test_every_page_becomes_an_image_of_the_page_size_at_the_dpi(
    run: Run, tmp_path: Path, target: str, pillow: str
) -> None:
    pdf = make_pdf(tmp_path / "report.pdf", pages=3, size=(300, 144))
    outputs = run(f"pdf.pdfium:pdf->{target}", pdf, dpi=144)
    assert [o.name for o in outputs] == [f"report-page00{n}.{target}" for n in (1, 2, 3)]
    for out in outputs:
        with Image.open(out.path) as image:
            assert image.format == pillow
            assert abs(image.width - 300 * 2) <= 1 and abs(image.height - 144 * 2) <= 1


def test_rendered_pixels_show_the_page_content(run: Run, three_pages: Path) -> None:
    (out,) = run("pdf.pdfium:pdf->png", three_pages, dpi=72, pages="1")
    with Image.open(out.path) as image:
        rgb = image.convert("RGB")
        # the blue rectangle at (72..172, 72..122) in PDF space; PNG rows count from the top
        assert rgb.getpixel((120, rgb.height - 100)) == (0, 0, 255)
        assert rgb.getpixel((400, rgb.height - 400)) == (255, 255, 255)


def test_page_range_keeps_the_pages_asked_for(run: Run, tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "doc.pdf", pages=6, size=(100, 100))
    names = [o.name for o in run("pdf.pdfium:pdf->png", pdf, dpi=20, pages="1-2,5-")]
    assert names == ["doc-page001.png", "doc-page002.png", "doc-page005.png", "doc-page006.png"]


def test_grayscale_and_quality(run: Run, three_pages: Path) -> None:
    (grey,) = run("pdf.pdfium:pdf->jpg", three_pages, dpi=40, pages="1", grayscale=True)
    (low,) = run("pdf.pdfium:pdf->jpg", three_pages, dpi=40, pages="1", quality=10)
    (high,) = run("pdf.pdfium:pdf->jpg", three_pages, dpi=40, pages="1", quality=95)
    with Image.open(grey.path) as image:
        assert image.mode == "L"
    assert low.path.stat().st_size < high.path.stat().st_size


def test_progress_is_reported_per_page(run: Run, three_pages: Path) -> None:
    seen: list[tuple[float, str]] = []
    run("pdf.pdfium:pdf->png", three_pages, dpi=20, progress=seen)
    assert [round(f, 2) for f, _ in seen] == [0.33, 0.67, 1.0]


@pytest.mark.parametrize("pages", ["4", "0-1", "2-1", "x", "1,,2"])
def test_bad_page_range_is_an_invalid_option(run: Run, three_pages: Path, pages: str) -> None:
    with pytest.raises(ConversioError) as info:
        run("pdf.pdfium:pdf->png", three_pages, pages=pages)
    assert info.value.code == "INVALID_OPTION"


def test_dpi_above_the_cap_is_an_invalid_option(run: Run, three_pages: Path) -> None:
    with pytest.raises(ConversioError) as info:
        run("pdf.pdfium:pdf->png", three_pages, dpi=5000)
    assert info.value.code == "INVALID_OPTION"


def test_dpi_cap_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    from conversio_pdf.specs import raster_specs

    monkeypatch.setenv("CONVERSIO_PDF_MAX_DPI", "1200")
    assert raster_specs()[0].options.get("dpi").max == 1200


def test_pixels_per_page_are_capped_before_rendering(run: Run, three_pages: Path) -> None:
    with pytest.raises(ConversioError) as info:
        run("pdf.pdfium:pdf->png", three_pages, dpi=300, limits=Limits(max_pixels=1_000_000))
    assert info.value.code == "FILE_TOO_LARGE"
    assert info.value.details["page"] == 1


def test_pages_are_capped(run: Run, three_pages: Path) -> None:
    with pytest.raises(ConversioError) as info:
        run("pdf.pdfium:pdf->png", three_pages, dpi=20, limits=Limits(max_pages=2))
    assert info.value.code == "FILE_TOO_LARGE"


def test_text_per_page_separated_by_form_feeds(run: Run, three_pages: Path) -> None:
    (out,) = run("pdf.pdfium:pdf->txt", three_pages)
    pages = out.path.read_text(encoding="utf-8").split("\f")
    assert [p.strip() for p in pages] == ["Page 1 alpha", "Page 2 bravo", "Page 3 charlie"]
    (two,) = run("pdf.pdfium:pdf->txt", three_pages, pages="3,1")
    assert [p.strip() for p in two.path.read_text(encoding="utf-8").split("\f")] == [
        "Page 3 charlie",
        "Page 1 alpha",
    ]


@pytest.mark.parametrize("converter_id", ["pdf.pdfium:pdf->png", "pdf.pdfium:pdf->txt"])
def test_encrypted_input_needs_the_right_password(run: Run, tmp_path: Path, converter_id: str) -> None:
    locked = encrypted_pdf(tmp_path / "locked.pdf", user="s3cret")
    for password in (None, "wrong"):
        with pytest.raises(ConversioError) as info:
            run(converter_id, locked, **({"password": password} if password else {}))
        assert info.value.code == "INVALID_PASSWORD"
        assert "s3cret" not in str(info.value.to_dict())
    assert len(run(converter_id, locked, password="s3cret")) >= 1


def test_layout_keeps_columns_where_they_are(run: Run, tmp_path: Path) -> None:
    table = two_column_table(tmp_path / "table.pdf")
    (out,) = run("pdf.pdfium:pdf->txt", table, layout=True)
    lines = out.path.read_text(encoding="utf-8").splitlines()
    assert [line.split()[0] for line in lines] == ["Apples", "Pears", "Plums"]
    # Courier is 7.2 pt wide at 12 pt: the amounts start 300 pt = ~41.7 columns right of the names
    columns = {line.index(amount) for line, amount in zip(lines, ("12", "7", "130"), strict=True)}
    assert len(columns) == 1 and abs(columns.pop() - 300 / 7.2) <= 1
    assert "Pears and quinces" in lines[1]
    (plain,) = run("pdf.pdfium:pdf->txt", table)
    assert "Apples" in plain.path.read_text(encoding="utf-8")
