"""Multi-hop chains across the image, pdf and archive plugins, as a user runs them."""

from __future__ import annotations

import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pytest
from PIL import Image

import conversio

Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def three_page_pdf(app: conversio.Conversio, photo: Callable[..., Path], tmp_path: Path) -> Path:
    """A 3-page PDF made from three coloured photos (png → pdf, one page each)."""
    colours = ("red", "lime", "blue")
    pages = [photo(tmp_path / f"page{i}.png", size=(400, 300), colour=c) for i, c in enumerate(colours)]
    [saved] = app.convert(pages, to="pdf").save(tmp_path / "three.pdf")
    with pikepdf.open(saved) as pdf:
        assert len(pdf.pages) == 3
    return saved


def test_pdf_to_zip_via_jpg_gives_one_jpeg_per_page_in_order(
    app: conversio.Conversio, three_page_pdf: Path, tmp_path: Path
) -> None:
    with pikepdf.open(three_page_pdf) as pdf:
        box = [float(v) for v in pdf.pages[0].mediabox]
    expected = (round((box[2] - box[0]) * 2), round((box[3] - box[1]) * 2))  # 144 dpi = 2 px per pt
    result = app.convert(three_page_pdf, to="zip", via=["jpg"], options={"dpi": 144}).run()
    with zipfile.ZipFile(result.save(tmp_path / "pages.zip")[0]) as zf:
        names = zf.namelist()
        assert names == ["three-page001.jpg", "three-page002.jpg", "three-page003.jpg"]
        colours = []
        for name in names:
            with zf.open(name) as member, Image.open(member) as img:
                assert img.format == "JPEG"
                assert abs(img.width - expected[0]) <= 1 and abs(img.height - expected[1]) <= 1
                colours.append(img.convert("RGB").getpixel((img.width * 3 // 8, img.height * 3 // 8)))
    assert [max(range(3), key=lambda ch: c[ch]) for c in colours] == [0, 1, 2]  # red, green, blue


def test_merge_then_encrypt_from_the_command_line(
    run_cli: Cli, three_page_pdf: Path, photo: Callable[..., Path], tmp_path: Path
) -> None:
    single = photo(tmp_path / "cover.png")
    assert run_cli("convert", str(single), "--to", "pdf", "-o", "cover.pdf", cwd=tmp_path).returncode == 0
    then = ("--then", "merge", "--then", "encrypt:user_password=secret")
    done = run_cli(
        "convert", "cover.pdf", str(three_page_pdf), "--to", "pdf", *then, "-o", "out.pdf", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(tmp_path / "out.pdf")
    with pikepdf.open(tmp_path / "out.pdf", password="secret") as pdf:
        assert len(pdf.pages) == 4
        assert pdf.is_encrypted


def test_route_explains_the_page_fan_out(run_cli: Cli, tmp_path: Path) -> None:
    done = run_cli("route", "pdf", "zip", "--via", "jpg", "--explain", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "pdf → jpg (×pages) → zip" in done.stdout
    assert "pdf.pdfium:pdf->jpg" in done.stdout and "archive.zipfile:*->zip" in done.stdout
