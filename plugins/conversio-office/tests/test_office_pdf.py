"""PDF output checked with pikepdf: page counts, page ranges, sheets, landscape, PDF/A, passwords."""

from __future__ import annotations

import random
import string
import subprocess
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from conversio_office.soffice import office
from msoffcrypto.format.ooxml import OOXMLFile  # type: ignore[import-untyped]
from office_samples import TEXT_PAGES, sample_file, write_docx, write_ods, write_odt

import conversio
from conversio.errors import ConversioError

UNO_PROTECT = Path(__file__).with_name("uno_protect.py")


def to_pdf(app: conversio.Conversio, path: Path, **options: Any) -> pikepdf.Pdf:
    result = app.convert(path, to="pdf", options=options or None).run()
    [artifact] = result.artifacts
    assert artifact.format == "pdf"
    return pikepdf.open(app.store.open(artifact.id))


def page_size(pdf: pikepdf.Pdf, index: int = 0) -> tuple[float, float]:
    box = [float(v) for v in pdf.pages[index].mediabox]
    return box[2] - box[0], box[3] - box[1]


@pytest.mark.parametrize("fmt", ["docx", "odt", "doc"])
def test_text_documents_keep_their_pages(app: conversio.Conversio, tmp_path: Path, fmt: str) -> None:
    pdf = to_pdf(app, sample_file(fmt, tmp_path))
    assert len(pdf.pages) == len(TEXT_PAGES)
    width, height = page_size(pdf)
    assert height > width


@pytest.mark.parametrize(("fmt", "pages"), [("pptx", 2), ("ppt", 2), ("odp", 2), ("txt", 1), ("html", 1)])
def test_other_sources_give_their_page_count(
    app: conversio.Conversio, tmp_path: Path, fmt: str, pages: int
) -> None:
    pdf = to_pdf(app, sample_file(fmt, tmp_path))
    assert len(pdf.pages) == pages
    if fmt in ("pptx", "ppt", "odp"):
        width, height = page_size(pdf)
        assert width > height


def test_page_range(app: conversio.Conversio, tmp_path: Path) -> None:
    source = write_docx(tmp_path / "five.docx", [f"page {n}" for n in range(1, 6)])
    assert len(to_pdf(app, source).pages) == 5
    assert len(to_pdf(app, source, pages="2-3").pages) == 2
    assert len(to_pdf(app, source, pages="1,4-").pages) == 3


def test_bad_page_range_is_invalid_option(app: conversio.Conversio, tmp_path: Path) -> None:
    with pytest.raises(ConversioError) as info:
        to_pdf(app, sample_file("docx", tmp_path), pages="one to three")
    assert info.value.code == "INVALID_OPTION"


def test_landscape_turns_pages(app: conversio.Conversio, tmp_path: Path) -> None:
    source = sample_file("odt", tmp_path)
    width, height = page_size(to_pdf(app, source, landscape=True))
    assert width > height
    width, height = page_size(to_pdf(app, sample_file("ods", tmp_path), landscape=True))
    assert width > height


def test_pdfa_is_declared_in_the_metadata(app: conversio.Conversio, tmp_path: Path) -> None:
    source = sample_file("docx", tmp_path)
    assert to_pdf(app, source).open_metadata().get("pdfaid:part") is None
    meta = to_pdf(app, source, pdfa=True).open_metadata()
    assert meta.get("pdfaid:part") == "2" and meta.get("pdfaid:conformance") == "B"


def test_sheet_selection(app: conversio.Conversio, tmp_path: Path) -> None:
    rows = [[f"row {n}", "x" * 20] for n in range(300)]  # several pages on its own
    source = write_ods(tmp_path / "book.ods", {"Short": [["only", "one"]], "Long": rows})
    everything = len(to_pdf(app, source).pages)
    long_only = len(to_pdf(app, source, sheet=["Long"]).pages)
    assert long_only > 1
    assert everything == long_only + 1
    assert len(to_pdf(app, source, sheet=["1"]).pages) == 1
    assert len(to_pdf(app, source, sheet="2").pages) == long_only
    with pytest.raises(ConversioError) as info:
        to_pdf(app, source, sheet=["Missing"])
    assert info.value.code == "INVALID_OPTION" and "Short, Long" in info.value.message


def test_form_fields_option_is_accepted(app: conversio.Conversio, tmp_path: Path) -> None:
    pdf = to_pdf(app, sample_file("odt", tmp_path), export_form_fields=True)
    assert len(pdf.pages) == len(TEXT_PAGES)


def protect(source: Path, target: Path, filter_name: str, password: str) -> Path:
    """Save ``source`` with a password, through this process's warm soffice."""
    soffice = office()
    soffice.ensure()
    subprocess.run(
        [
            "/usr/bin/python3",
            str(UNO_PROTECT),
            soffice.pipe,
            source.as_uri(),
            target.as_uri(),
            filter_name,
            password,
        ],
        check=True,
        timeout=60,
        capture_output=True,
    )
    assert target.stat().st_size > 0
    return target


@pytest.mark.parametrize(
    ("fmt", "filter_name", "maker"),
    [
        ("odt", "writer8", "odt"),
        ("doc", "MS Word 97", "odt"),
        ("ods", "calc8", "ods"),
        ("xls", "MS Excel 97", "ods"),
    ],
)
def test_protected_documents(
    app: conversio.Conversio, tmp_path: Path, fmt: str, filter_name: str, maker: str
) -> None:
    locked = protect(sample_file(maker, tmp_path), tmp_path / f"locked.{fmt}", filter_name, "s3cret")
    for options in ({}, {"password": "wrong"}):
        with pytest.raises(ConversioError) as info:
            to_pdf(app, locked, **options)
        assert info.value.code == "INVALID_PASSWORD"
        assert info.value.details["password_given"] is bool(options)
        assert "s3cret" not in str(info.value) and "wrong" not in str(info.value.details)
    assert len(to_pdf(app, locked, password="s3cret").pages) >= 1
    converted = app.convert(locked, to="pdf", options={"password": "s3cret"}).run()
    assert converted.artifacts[0].size > 0


ORIGIN = {"docx": "odt", "xlsx": "ods", "pptx": "odp"}


@pytest.mark.parametrize("fmt", ["docx", "xlsx", "pptx"])
def test_password_protected_ooxml(app: conversio.Conversio, tmp_path: Path, fmt: str) -> None:
    """Encrypted OOXML (an OLE2 package, as Word and Excel write it), made with msoffcrypto-tool."""
    # msoffcrypto-tool writes packages under 4 KiB (the OLE mini stream) that nothing can read
    # back, itself included: give the document enough incompressible text to be bigger
    rng = random.Random(7)
    words = " ".join("".join(rng.choice(string.ascii_lowercase) for _ in range(7)) for _ in range(900))
    origin = (
        write_odt(tmp_path / "long.odt", [words]) if fmt == "docx" else sample_file(ORIGIN[fmt], tmp_path)
    )
    [plain] = app.convert(origin, to=fmt).save(tmp_path / f"plain.{fmt}")
    assert plain.stat().st_size > 4096
    locked = tmp_path / f"locked.{fmt}"
    with plain.open("rb") as source, locked.open("wb") as target:
        OOXMLFile(source).encrypt("s3cret", target)
    for options in ({}, {"password": "wrong"}):
        with pytest.raises(ConversioError) as info:
            to_pdf(app, locked, **options)
        assert info.value.code == "INVALID_PASSWORD"
    with to_pdf(app, locked, password="s3cret") as pdf:
        assert len(pdf.pages) >= 1


def test_damaged_document_is_corrupt(app: conversio.Conversio, tmp_path: Path) -> None:
    source = write_odt(tmp_path / "ok.odt", ["text"])
    data = bytearray(source.read_bytes())
    broken = tmp_path / "broken.odt"
    broken.write_bytes(bytes(data[: len(data) // 2]))
    artifact = app.store.put_file(broken, name=broken.name, format="odt")  # it no longer sniffs as odt
    with pytest.raises(ConversioError) as info:
        app.engine.run_converter("office.libreoffice:odt->pdf", [artifact], {})
    assert info.value.code == "CORRUPT_FILE"
