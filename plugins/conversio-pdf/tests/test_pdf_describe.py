"""The describe operation (pdf → json): a PDF's pages, Info, XMP, form fields and attachments, on
forms and files made here, hostile ones included (a field tree that loops, too many fields, huge XMP)."""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import conversio_pdf.fields
import pikepdf
import pytest
from pdf_samples import encrypted_pdf, make_pdf
from test_pdf_attachments import with_attachments
from test_pdf_forms import FILL, VALUES, form_pdf

from conversio.converters import Output
from conversio.errors import ConversioError

Run = Callable[..., list[Output]]
DESCRIBE = "pdf.pikepdf:describe(pdf)"


def described(run: Run, path: Path, **options: Any) -> dict[str, Any]:
    (out,) = run(DESCRIBE, path, **options)
    assert out.name == path.with_suffix(".json").name
    data: dict[str, Any] = json.loads(out.path.read_text(encoding="utf-8"))
    return data


def test_form_fields_are_listed_with_kinds_options_and_pages(run: Run, tmp_path: Path) -> None:
    fields = {f["name"]: f for f in described(run, form_pdf(tmp_path / "form.pdf"))["form"]["fields"]}
    assert list(fields) == ["name", "agree", "size", "colour", "signed"]
    assert fields["name"] == {
        "name": "name",
        "type": "text",
        "value": None,
        "required": False,
        "read_only": False,
        "page": 1,
        "multiline": False,
        "password": False,
        "max_length": None,
    }
    assert (fields["agree"]["type"], fields["agree"]["options"]) == ("checkbox", ["Yes"])
    assert (fields["size"]["type"], fields["size"]["options"]) == ("radio", ["S", "L"])
    assert (fields["colour"]["type"], fields["colour"]["options"], fields["colour"]["multiple"]) == (
        "combo",
        ["red", "green"],
        False,
    )
    assert fields["signed"] == {
        "name": "signed",
        "type": "signature",
        "value": None,
        "required": False,
        "read_only": False,
        "page": 1,
        "signed": False,
    }


def test_filled_values_are_read_back_as_fill_takes_them(run: Run, tmp_path: Path) -> None:
    (filled,) = run(FILL, form_pdf(tmp_path / "form.pdf"), data=json.dumps(VALUES))
    fields = described(run, filled.path)["form"]["fields"]
    values = {f["name"]: f["value"] for f in fields}
    assert values == {"name": "Ada Lovelace", "agree": "Yes", "size": "L", "colour": "green", "signed": None}


def test_nested_names_flags_lists_and_labels(run: Run, tmp_path: Path) -> None:
    path = form_pdf(tmp_path / "nested.pdf")
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        page = pdf.pages[0].obj
        parent = pdf.make_indirect(pikepdf.Dictionary(T="person", FT=pikepdf.Name.Tx, Ff=2, Kids=[]))
        for partial, flags in (("first", 1), ("last", 0)):
            kid = pdf.make_indirect(
                pikepdf.Dictionary(
                    Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Widget, T=partial, Parent=parent, P=page
                )
            )
            kid.Rect, kid.Ff = [0, 0, 10, 10], flags | 2 | (1 << 12)
            parent.Kids.append(kid)
            page.Annots.append(kid)
        listing = pdf.make_indirect(
            pikepdf.Dictionary(
                T="langs",
                FT=pikepdf.Name.Ch,
                Ff=1 << 21,
                Opt=[["en", "English"], ["fr", "Français"]],
                V=["en", "fr"],
            )
        )
        pdf.Root.AcroForm.Fields.extend([parent, listing])
        pdf.save(path)
    fields = {f["name"]: f for f in described(run, path)["form"]["fields"]}
    first, last, langs = fields["person.first"], fields["person.last"], fields["langs"]
    assert (first["read_only"], first["required"], first["multiline"], first["page"]) == (True, True, True, 1)
    assert (last["read_only"], last["type"]) == (False, "text")
    assert langs["type"] == "list" and langs["multiple"] and langs["page"] is None
    assert (langs["options"], langs["labels"], langs["value"]) == (
        ["en", "fr"],
        ["English", "Français"],
        ["en", "fr"],
    )


def test_the_document_is_described(run: Run, tmp_path: Path) -> None:
    path = with_attachments(tmp_path / "report.pdf", {"data.csv": b"a,b\n"})
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        pdf.add_blank_page(page_size=(842, 595))
        pdf.pages[1].rotate(90, relative=True)
        pdf.docinfo["/Title"] = "Quarterly"
        with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
            meta["dc:title"] = "Quarterly"
            meta["pdfaid:part"], meta["pdfaid:conformance"] = "2", "B"
        pdf.save(path)
    data = described(run, path)
    assert (data["version"], data["file"], data["encrypted"], data["tagged"], data["pdfa"]) == (
        1,
        "report.pdf",
        False,
        False,
        "2B",
    )
    assert [(p["width"], p["height"], p["rotate"]) for p in data["pages"]][1] == (842.0, 595.0, 90)
    assert data["info"]["Title"] == "Quarterly" and data["xmp"]["dc:title"] == "Quarterly"
    assert data["form"] == {"type": None, "fields": []}
    (attachment,) = data["attachments"]
    assert (attachment["name"], attachment["filename"], attachment["size"]) == ("data.csv", "data.csv", 4)
    assert data["warnings"] == []


def test_an_encrypted_pdf_needs_its_password_and_says_it_was(run: Run, tmp_path: Path) -> None:
    locked = encrypted_pdf(tmp_path / "locked.pdf", user="pw")
    with pytest.raises(ConversioError) as caught:
        run(DESCRIBE, locked)
    assert caught.value.code == "INVALID_PASSWORD" and "locked.pdf" in caught.value.message
    data = described(run, locked, password="pw")
    assert data["encrypted"] is True and data["xmp"] is None


def test_thousands_of_fields_are_listed_and_more_than_the_limit_refused(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_pdf(tmp_path / "big-form.pdf", pages=1)
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        fields = [pdf.make_indirect(pikepdf.Dictionary(T=f"f{n}", FT=pikepdf.Name.Tx)) for n in range(3000)]
        pdf.Root.AcroForm = pikepdf.Dictionary(Fields=fields)
        pdf.save(path)
    assert len(described(run, path)["form"]["fields"]) == 3000
    monkeypatch.setattr(conversio_pdf.fields, "MAX_FIELDS", 2999)
    with pytest.raises(ConversioError) as caught:
        run(DESCRIBE, path)
    assert caught.value.code == "FILE_TOO_LARGE" and "big-form.pdf has more than 2999" in caught.value.message


def test_a_field_tree_that_loops_is_listed_once(run: Run, tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "loop.pdf", pages=1)
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        parent = pdf.make_indirect(pikepdf.Dictionary(T="a", FT=pikepdf.Name.Tx, Kids=[]))
        child = pdf.make_indirect(pikepdf.Dictionary(T="b", Parent=parent, Kids=[parent]))
        parent.Kids.append(child)
        pdf.Root.AcroForm = pikepdf.Dictionary(Fields=[parent, parent])
        pdf.save(path)
    assert described(run, path)["form"]["fields"] == []  # the only leaf is the loop itself


def test_huge_or_damaged_xmp_is_reported_not_fatal(run: Run, tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "huge.pdf", pages=1)
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        packet = b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>" + b" " * (8 * 1024 * 1024) + b"</x:xmpmeta>"
        stream = pikepdf.Stream(pdf, zlib.compress(packet))
        stream.Filter, stream.Type, stream.Subtype = (
            pikepdf.Name.FlateDecode,
            pikepdf.Name.Metadata,
            pikepdf.Name.XML,
        )
        pdf.Root.Metadata = pdf.make_indirect(stream)
        pdf.save(
            path,
            stream_decode_level=pikepdf.StreamDecodeLevel.none,
            compress_streams=False,
            fix_metadata_version=False,
        )
    data = described(run, path)
    assert data["xmp"] is None and data["warnings"] == [
        "huge.pdf: its XMP metadata unpacks to more than 4 MiB, more than the limit"
    ]
    broken = make_pdf(tmp_path / "broken.pdf", pages=1)
    with pikepdf.open(broken, allow_overwriting_input=True) as pdf:
        pdf.Root.Metadata = pdf.make_indirect(pikepdf.Stream(pdf, b"<x:xmpmeta><rdf:RDF><unclosed"))
        pdf.save(broken, fix_metadata_version=False)
    data = described(run, broken)
    assert data["xmp"] == {} and data["warnings"] == [
        "broken.pdf: its XMP metadata is damaged; what could be read of it is given"
    ]


def test_a_page_box_that_is_no_box_is_described_as_unknown(run: Run, tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "odd.pdf", pages=1)
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        pdf.pages[0].obj.CropBox = pikepdf.Array([0, pikepdf.Name.X, 5])
        pdf.pages[0].obj.Rotate = pikepdf.Name.Y
        pdf.save(path)
    assert described(run, path)["pages"] == [{"width": None, "height": None, "rotate": 0}]


def test_values_no_field_holds_are_given_as_null(run: Run, tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "odd-values.pdf", pages=1)
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        rich = pdf.make_indirect(pikepdf.Dictionary(T="rich", FT=pikepdf.Name.Tx))
        rich.V = pdf.make_indirect(pikepdf.Stream(pdf, b"<body>rich text</body>"))
        listed = pdf.make_indirect(pikepdf.Dictionary(T="mixed", FT=pikepdf.Name.Ch, V=[1, "a", {}]))
        pdf.Root.AcroForm = pikepdf.Dictionary(Fields=[rich, listed])
        pdf.save(path)
    values = {f["name"]: f["value"] for f in described(run, path)["form"]["fields"]}
    assert values == {"rich": None, "mixed": ["a"]}
