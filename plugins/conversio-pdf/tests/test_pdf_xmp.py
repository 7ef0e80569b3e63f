"""The metadata operation: XMP and the Info dictionary written together and kept in step (read
back with pikepdf and pypdf), nothing else lost, PDF/A identification kept, hostile XMP refused."""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pikepdf
import pypdf
import pytest
from pdf_samples import make_pdf

from conversio.converters import Output
from conversio.errors import ConversioError

Run = Callable[..., list[Output]]
METADATA = "pdf.pikepdf:metadata(pdf)"


def _read(path: Path) -> tuple[dict[str, Any], dict[str, str], pypdf.xmp.XmpInformation]:
    """XMP as pikepdf reads it, the Info dictionary, and XMP as pypdf reads it."""
    with pikepdf.open(path) as pdf:
        meta = pdf.open_metadata()
        xmp = {
            key: meta[key]
            for key in ("dc:title", "dc:creator", "pdf:Keywords", "xmp:CreatorTool")
            if key in meta
        }
        xmp["status"] = meta.pdfa_status
        info = {str(k): str(v) for k, v in pdf.docinfo.items()}
    other = pypdf.PdfReader(path).xmp_metadata
    assert other is not None
    return xmp, info, other


def test_xmp_and_info_are_written_together_and_nothing_is_lost(run: Run, tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "report.pdf", pages=1)
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        pdf.docinfo["/Author"], pdf.docinfo["/Department"] = "Ada Lovelace", "Engines"
        pdf.save(path)
    (out,) = run(
        METADATA, path, title="Notes, on the engine", keywords="analytical engine", creator="conversio"
    )
    xmp, info, other = _read(out.path)
    assert xmp["dc:title"] == "Notes, on the engine" and xmp["dc:creator"] == ["Ada Lovelace"]
    assert (xmp["pdf:Keywords"], xmp["xmp:CreatorTool"]) == ("analytical engine", "conversio")
    assert info["/Title"] == "Notes, on the engine" and info["/Author"] == "Ada Lovelace"
    assert (info["/Keywords"], info["/Creator"], info["/Department"]) == (
        "analytical engine",
        "conversio",
        "Engines",
    )
    assert info["/ModDate"].startswith("D:20")
    assert other.dc_title == {"x-default": "Notes, on the engine"} and other.dc_creator == ["Ada Lovelace"]
    assert other.xmp_modify_date is not None and other.xmp_creator_tool == "conversio"


def test_further_xmp_properties_are_set_or_removed(run: Run, tmp_path: Path) -> None:
    extra = {
        "dc:rights": "CC BY 4.0",
        "dc:subject": ["engines", "notes"],
        "xmpRights:Marked": "True",
        "xmp:ModifyDate": "2020-02-03T04:05:06+00:00",
    }
    (first,) = run(METADATA, make_pdf(tmp_path / "a.pdf", pages=1), xmp=json.dumps(extra))
    other = pypdf.PdfReader(first.path).xmp_metadata
    assert other is not None
    assert str(other.xmp_modify_date) == "2020-02-03 04:05:06"  # pypdf gives it in UTC, naive
    info = pypdf.PdfReader(first.path).metadata
    assert info is not None and str(info["/ModDate"]).startswith("D:20200203040506")
    assert other.dc_rights == {"x-default": "CC BY 4.0"} and sorted(other.dc_subject or []) == [
        "engines",
        "notes",
    ]
    (second,) = run(METADATA, first.path, xmp={"dc:rights": None})  # a JSON object, as HTTP sends it
    with pikepdf.open(second.path) as pdf:
        meta = pdf.open_metadata()
        assert "dc:rights" not in meta and meta["xmpRights:Marked"] == "True"


@pytest.mark.parametrize(
    ("xmp", "words"),
    [
        ('{"pdfaid:part": "3"}', "cannot set 'pdfaid:part'"),
        ('{"evil:x": "1"}', "cannot set 'evil:x'"),
        ('{"dc:rights": 5}', "takes text, a list of texts or null"),
        ("{broken", "not valid JSON"),
        ("[]", "must be a JSON object"),
    ],
)
def test_wrong_xmp_properties_are_refused(run: Run, tmp_path: Path, xmp: str, words: str) -> None:
    with pytest.raises(ConversioError) as caught:
        run(METADATA, make_pdf(tmp_path / "a.pdf", pages=1), xmp=xmp)
    assert (caught.value.code, caught.value.details["option"]) == ("INVALID_OPTION", "xmp")
    assert words in caught.value.message


def test_nothing_to_set_is_refused(run: Run, tmp_path: Path) -> None:
    with pytest.raises(ConversioError) as caught:
        run(METADATA, make_pdf(tmp_path / "a.pdf", pages=1))
    assert caught.value.code == "INVALID_OPTION" and "creator, xmp" in caught.value.message


def test_a_pdfa_file_keeps_its_identification(run: Run, tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "archive.pdf", pages=1)
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
            meta["pdfaid:part"], meta["pdfaid:conformance"] = "2", "B"
        pdf.save(path)
    (out,) = run(METADATA, path, title="Kept as PDF/A", author="Grace Hopper")
    xmp, info, _ = _read(out.path)
    assert (xmp["status"], xmp["dc:title"], info["/Author"]) == ("2B", "Kept as PDF/A", "Grace Hopper")


def test_huge_xmp_is_refused_and_damaged_xmp_replaced_with_a_warning(run: Run, tmp_path: Path) -> None:
    huge = make_pdf(tmp_path / "huge.pdf", pages=1)
    with pikepdf.open(huge, allow_overwriting_input=True) as pdf:
        stream = pikepdf.Stream(pdf, zlib.compress(b" " * (64 * 1024 * 1024)))
        stream.Filter = pikepdf.Name.FlateDecode
        pdf.Root.Metadata = pdf.make_indirect(stream)
        pdf.save(
            huge,
            compress_streams=False,
            stream_decode_level=pikepdf.StreamDecodeLevel.none,
            fix_metadata_version=False,
        )
    with pytest.raises(ConversioError) as caught:
        run(METADATA, huge, title="x")
    assert caught.value.code == "FILE_TOO_LARGE"
    assert (
        caught.value.message == "huge.pdf: its XMP metadata unpacks to more than 4 MiB, more than the limit"
    )
    broken = make_pdf(tmp_path / "broken.pdf", pages=1)
    with pikepdf.open(broken, allow_overwriting_input=True) as pdf:
        pdf.Root.Metadata = pdf.make_indirect(pikepdf.Stream(pdf, b"<x:xmpmeta><rdf:RDF><unclosed"))
        pdf.save(broken, fix_metadata_version=False)
    warnings: list[str] = []
    (out,) = run(METADATA, broken, title="Mended", warnings=warnings)
    assert warnings == ["broken.pdf: its XMP metadata was damaged; what could be read of it was kept"]
    assert _read(out.path)[0]["dc:title"] == "Mended"
