"""PDF operations with pikepdf, each output opened again and checked."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium  # type: ignore[import-untyped]
import pytest
from pdf_samples import encrypted_pdf, make_pdf
from PIL import Image

from conversio.converters import Output
from conversio.errors import ConversioError
from conversio.limits import Limits

Run = Callable[..., list[Output]]


def page_texts(path: Path, password: str | None = None) -> list[str]:
    document = pdfium.PdfDocument(path, password=password)
    try:
        return [page.get_textpage().get_text_bounded().strip() for page in document]
    finally:
        document.close()


def op(name: str) -> str:
    return f"pdf.pikepdf:{name}(pdf)"


def test_merge_keeps_every_page_in_natural_name_order(run: Run, tmp_path: Path) -> None:
    paths = [make_pdf(tmp_path / f"part{n}.pdf", pages=n, words=[f"doc{n}"] * n) for n in (10, 2, 1)]
    (out,) = run(op("merge"), paths)
    texts = page_texts(out.path)
    assert len(texts) == 13
    assert [t.split()[-1] for t in texts] == ["doc1"] + ["doc2"] * 2 + ["doc10"] * 10
    (given,) = run(op("merge"), paths, order="given")
    assert [t.split()[-1] for t in page_texts(given.path)][:11] == ["doc10"] * 10 + ["doc2"]


def test_merge_respects_the_page_limit(run: Run, tmp_path: Path) -> None:
    paths = [make_pdf(tmp_path / f"p{n}.pdf", pages=2) for n in range(3)]
    with pytest.raises(ConversioError) as info:
        run(op("merge"), paths, limits=Limits(max_pages=5))
    assert info.value.code == "FILE_TOO_LARGE"


def test_split_every_n_pages_and_by_ranges(run: Run, tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "book.pdf", pages=5)
    parts = run(op("split"), pdf, every=2)
    assert [o.name for o in parts] == ["book-part001.pdf", "book-part002.pdf", "book-part003.pdf"]
    assert [len(page_texts(o.path)) for o in parts] == [2, 2, 1]
    ranged = run(op("split"), pdf, ranges="1,2-4")
    assert [[t.split()[1] for t in page_texts(o.path)] for o in ranged] == [["1"], ["2", "3", "4"]]


def test_extract_pages_in_the_order_written(run: Run, three_pages: Path) -> None:
    (out,) = run(op("extract-pages"), three_pages, pages="3,1")
    assert page_texts(out.path) == ["Page 3 charlie", "Page 1 alpha"]
    with pytest.raises(ConversioError) as info:
        run(op("extract-pages"), three_pages)
    assert info.value.code == "INVALID_OPTION"


def test_encrypt_aes256_opens_only_with_a_password(run: Run, three_pages: Path) -> None:
    (out,) = run(
        op("encrypt"), three_pages, user_password="user-pw", owner_password="owner-pw", permissions="print"
    )
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(out.path)
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(out.path, password="guess")
    with pikepdf.open(out.path, password="user-pw") as pdf:
        assert pdf.is_encrypted
        assert pdf.encryption.R == 6
        assert pdf.encryption.stream_method.name == "aesv3"
        assert pdf.allow.print_highres and not pdf.allow.extract and not pdf.allow.modify_other
        assert len(pdf.pages) == 3
    with pikepdf.open(out.path, password="owner-pw") as pdf:
        assert pdf.owner_password_matched
    assert page_texts(out.path, password="user-pw")[1] == "Page 2 bravo"


@pytest.mark.parametrize("options", [{}, {"user_password": "x", "permissions": "print,fly"}])
def test_encrypt_rejects_bad_options(run: Run, three_pages: Path, options: dict[str, str]) -> None:
    with pytest.raises(ConversioError) as info:
        run(op("encrypt"), three_pages, **options)
    assert info.value.code == "INVALID_OPTION"


def test_decrypt_with_the_password(run: Run, tmp_path: Path) -> None:
    locked = encrypted_pdf(tmp_path / "locked.pdf", user="pw1")
    for options in ({}, {"password": "nope"}):
        with pytest.raises(ConversioError) as info:
            run(op("decrypt"), locked, **options)
        assert info.value.code == "INVALID_PASSWORD"
    (out,) = run(op("decrypt"), locked, password="pw1")
    with pikepdf.open(out.path) as pdf:
        assert not pdf.is_encrypted
    assert page_texts(out.path) == ["Page 1 secret", "Page 2 secret"]


@pytest.mark.parametrize("operation", ["merge", "split", "rotate", "compress", "linearize"])
def test_every_operation_needs_the_password_of_an_encrypted_input(
    run: Run, tmp_path: Path, operation: str
) -> None:
    locked = encrypted_pdf(tmp_path / "locked.pdf", user="pw2")
    with pytest.raises(ConversioError) as info:
        run(op(operation), locked)
    assert info.value.code == "INVALID_PASSWORD"
    assert run(op(operation), locked, password="pw2")


def _photo_pdf(path: Path) -> Path:
    """A page showing a noisy 400x300 photo stored with Flate (lossless, large)."""
    photo = Image.effect_noise((400, 300), 40).convert("RGB")
    pdf = pikepdf.new()
    stream = pikepdf.Stream(pdf, zlib.compress(photo.tobytes()))
    stream.Filter = pikepdf.Name.FlateDecode
    stream.Type, stream.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    stream.Width, stream.Height, stream.BitsPerComponent = 400, 300, 8
    stream.ColorSpace = pikepdf.Name.DeviceRGB
    page = pikepdf.Dictionary(
        Type=pikepdf.Name.Page,
        MediaBox=[0, 0, 400, 300],
        Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=stream)),
        Contents=pdf.make_stream(b"q 400 0 0 300 0 0 cm /Im0 Do Q"),
    )
    pdf.pages.append(pikepdf.Page(page))
    pdf.save(path, compress_streams=False)
    return path


def test_compress_recompresses_photos_and_reports_the_bytes_saved(run: Run, tmp_path: Path) -> None:
    source = _photo_pdf(tmp_path / "photo.pdf")
    seen: list[tuple[float, str]] = []
    (out,) = run(op("compress"), source, quality=50, progress=seen)
    before, after = source.stat().st_size, out.path.stat().st_size
    assert after < before / 2
    assert seen[-1][1].startswith(f"saved {before - after} bytes")
    with pikepdf.open(out.path) as pdf:
        (image,) = pdf.pages[0].get_images().values()
        assert isinstance(image, pikepdf.Stream)
        assert image.Filter == pikepdf.Name.DCTDecode
        assert pikepdf.PdfImage(image).as_pil_image().size == (400, 300)
    (kept,) = run(op("compress"), source, images=False)
    with pikepdf.open(kept.path) as pdf:
        assert next(iter(pdf.pages[0].get_images().values())).Filter == pikepdf.Name.FlateDecode


def test_linearize(run: Run, three_pages: Path) -> None:
    (out,) = run(op("linearize"), three_pages)
    with pikepdf.open(out.path) as pdf:
        assert pdf.is_linearized
        assert len(pdf.pages) == 3


def test_rotate_records_the_angle_on_the_chosen_pages(run: Run, three_pages: Path) -> None:
    (out,) = run(op("rotate"), three_pages, angle=90, pages="2")
    (again,) = run(op("rotate"), out.path, angle=-180)
    with pikepdf.open(out.path) as pdf:
        assert [int(p.obj.get("/Rotate", 0)) for p in pdf.pages] == [0, 90, 0]
    with pikepdf.open(again.path) as pdf:
        assert [int(p.obj.get("/Rotate", 0)) % 360 for p in pdf.pages] == [180, 270, 180]
    first, second, _ = run("pdf.pdfium:pdf->png", out.path, dpi=36)
    with Image.open(first.path) as a, Image.open(second.path) as b:
        assert b.size == (a.height, a.width)


@pytest.mark.parametrize("given", [{}, {"text": "  "}])
def test_a_watermark_needs_its_text(run: Run, three_pages: Path, given: dict[str, str]) -> None:
    with pytest.raises(ConversioError) as info:
        run(op("watermark"), three_pages, **given)
    assert info.value.code == "INVALID_OPTION" and info.value.details["option"] == "text"


def test_watermark_adds_text_to_each_page_with_its_opacity(run: Run, three_pages: Path) -> None:
    (out,) = run(op("watermark"), three_pages, text="DRAFT", opacity=0.25, position="center")
    texts = page_texts(out.path)
    assert all("DRAFT" in t for t in texts)
    assert texts[0].startswith("Page 1 alpha")
    with pikepdf.open(out.path) as pdf:
        states = pdf.pages[0].Resources.ExtGState
        assert [float(s.ca) for s in states.values()] == [0.25]
    (some,) = run(op("watermark"), three_pages, text="Brouillon été", pages="2", position="top")
    texts = page_texts(some.path)
    assert "Brouillon été" in texts[1] and "Brouillon" not in texts[0] + texts[2]


def test_metadata_sets_info_and_xmp(run: Run, three_pages: Path) -> None:
    (out,) = run(op("metadata"), three_pages, title="Annual report", author="Ada", keywords="pdf, test")
    with pikepdf.open(out.path) as pdf:
        assert str(pdf.docinfo["/Title"]) == "Annual report"
        assert str(pdf.docinfo["/Author"]) == "Ada"
        assert str(pdf.docinfo["/Keywords"]) == "pdf, test"
        assert pdf.open_metadata()["dc:title"] == "Annual report"
    with pytest.raises(ConversioError) as info:
        run(op("metadata"), three_pages)
    assert info.value.code == "INVALID_OPTION"


def test_repair_rebuilds_a_broken_cross_reference_table(run: Run, three_pages: Path, tmp_path: Path) -> None:
    data = three_pages.read_bytes()
    start = data.rindex(b"startxref")
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(data[:start] + b"startxref\n999999\n%%EOF\n")
    (out,) = run(op("repair"), broken)
    with pikepdf.open(out.path) as pdf:
        assert len(pdf.pages) == 3
    assert page_texts(out.path)[2] == "Page 3 charlie"
