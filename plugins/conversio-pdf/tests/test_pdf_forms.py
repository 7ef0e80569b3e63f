"""PDF forms: fields filled from JSON (text, checkbox, radio, choice; signatures untouched),
forms and annotations flattened into the page text; wrong names, values and files refused."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pikepdf
import pypdf
import pypdfium2 as pdfium  # type: ignore[import-untyped]
import pytest
from pdf_samples import encrypted_pdf

from conversio import Conversio
from conversio.converters import Output
from conversio.errors import ConversioError
from conversio.plugins import PluginPolicy

Run = Callable[..., list[Output]]
FILL = "pdf.pypdf:fill(pdf)"
FLATTEN = "pdf.pikepdf:flatten(pdf)"
_FONT = {"/Type": "/Font", "/Subtype": "/Type1", "/BaseFont": "/Helvetica", "/Encoding": "/WinAnsiEncoding"}


def _look(pdf: pikepdf.Pdf, text: bytes = b"") -> pikepdf.Stream:
    return pikepdf.Stream(pdf, text, BBox=[0, 0, 20, 20], Resources={})


def _widget(pdf: pikepdf.Pdf, page: pikepdf.Dictionary, rect: list[int], **keys: Any) -> pikepdf.Dictionary:
    widget = pdf.make_indirect(
        pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Widget, Rect=rect, P=page, **keys)
    )
    page.Annots.append(widget)
    return widget


def _states(pdf: pikepdf.Pdf, on: str) -> pikepdf.Dictionary:
    return pikepdf.Dictionary(N={on: _look(pdf, b"0 0 20 20 re f"), "/Off": _look(pdf)})


def form_pdf(path: Path, *, with_form: bool = True) -> Path:
    """A page with a text field, a checkbox, a two-button radio group, a combo box and an
    empty signature field (Helvetica as the form's default font)."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(400, 400))
    page = pdf.pages[0].obj
    page.Annots = pikepdf.Array()
    if with_form:
        text = _widget(pdf, page, [20, 340, 300, 370], FT=pikepdf.Name.Tx, T="name", DA="/Helv 12 Tf 0 g")
        check = _widget(
            pdf, page, [20, 300, 40, 320], FT=pikepdf.Name.Btn, T="agree", AP=_states(pdf, "/Yes")
        )
        check.AS = check.V = pikepdf.Name.Off
        radio = pdf.make_indirect(pikepdf.Dictionary(FT=pikepdf.Name.Btn, T="size", Ff=1 << 15, Kids=[]))
        for index, state in enumerate(("/S", "/L")):
            kid = _widget(pdf, page, [20 + 40 * index, 260, 40 + 40 * index, 280], Parent=radio)
            kid.AP, kid.AS = _states(pdf, state), pikepdf.Name.Off
            radio.Kids.append(kid)
        choice = _widget(
            pdf, page, [20, 220, 200, 240], FT=pikepdf.Name.Ch, T="colour", Ff=1 << 17, Opt=["red", "green"]
        )
        choice.DA = pikepdf.String("/Helv 12 Tf 0 g")
        signature = _widget(pdf, page, [20, 150, 200, 200], FT=pikepdf.Name.Sig, T="signed")
        fields = [text, check, radio, choice, signature]
        helv = pdf.make_indirect(pikepdf.Dictionary(_FONT))
        pdf.Root.AcroForm = pikepdf.Dictionary(
            Fields=fields, DA="/Helv 12 Tf 0 g", DR={"/Font": {"/Helv": helv}}
        )
    pdf.save(path)
    return path


def _fields(path: Path) -> dict[str, Any]:
    return {name: field.get("/V") for name, field in (pypdf.PdfReader(path).get_fields() or {}).items()}


def _page_text(path: Path) -> str:
    document = pdfium.PdfDocument(path)
    try:
        return str(document[0].get_textpage().get_text_range())
    finally:
        document.close()


VALUES = {"name": "Ada Lovelace", "agree": True, "size": "L", "colour": "green"}


def test_fill_sets_every_kind_of_field(run: Run, tmp_path: Path) -> None:
    (out,) = run(FILL, form_pdf(tmp_path / "form.pdf"), data=json.dumps(VALUES))
    fields = _fields(out.path)
    assert fields["name"] == "Ada Lovelace"
    assert (fields["agree"], fields["size"], fields["colour"]) == ("/Yes", "/L", "green")
    assert fields["signed"] is None  # the signature field is left as it was
    with pikepdf.open(out.path) as pdf:
        assert bool(pdf.Root.AcroForm.NeedAppearances)
        kids = pdf.Root.AcroForm.Fields[2].Kids
        assert [str(kid.AS) for kid in kids] == ["/Off", "/L"]
        assert pdf.Root.AcroForm.Fields[2].V == pikepdf.Name.L  # a name, as buttons' values are
        assert b"Ada Lovelace" in pdf.Root.AcroForm.Fields[0].AP.N.read_bytes()


def test_fill_then_flatten_draws_the_values_into_the_page(run: Run, tmp_path: Path) -> None:
    (out,) = run(FILL, form_pdf(tmp_path / "form.pdf"), data=json.dumps(VALUES), flatten=True)
    assert "Ada Lovelace" in _page_text(out.path)
    assert "green" in _page_text(out.path)
    with pikepdf.open(out.path) as pdf:
        assert "/AcroForm" not in pdf.Root
        assert not [a for a in pdf.pages[0].obj.get("/Annots", []) if a.get("/Subtype") == "/Widget"]


def test_flatten_keeps_filled_values_and_removes_the_form(run: Run, tmp_path: Path) -> None:
    (filled,) = run(FILL, form_pdf(tmp_path / "form.pdf"), data=json.dumps({"name": "Grace Hopper"}))
    assert "Grace Hopper" not in _page_text(filled.path)  # a field, not yet page content
    (out,) = run(FLATTEN, filled.path)
    assert "Grace Hopper" in _page_text(out.path)
    assert pypdf.PdfReader(out.path).get_fields() is None


def test_false_unchecks_and_export_values_with_a_slash_are_accepted(run: Run, tmp_path: Path) -> None:
    data = json.dumps({"agree": False, "size": "/S", "name": 42})
    (out,) = run(FILL, form_pdf(tmp_path / "form.pdf"), data=data)
    fields = _fields(out.path)
    assert (fields["agree"], fields["size"], fields["name"]) == ("/Off", "/S", "42")


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"nmae": "x"}, ["'nmae'", "agree, colour, name, size"]),
        ({"colour": "blue"}, ["'colour'", "red, green"]),
        ({"size": "M"}, ["'size'", "S, L, false"]),
        ({"agree": "maybe"}, ["'agree'", "Yes, true, false"]),
        ({"signed": "x"}, ["'signed' is a signature field"]),
        ({"name": ["a"]}, ["text field 'name'"]),
    ],
)
def test_wrong_names_and_values_are_refused(
    run: Run, tmp_path: Path, data: dict[str, Any], words: list[str]
) -> None:
    with pytest.raises(ConversioError) as caught:
        run(FILL, form_pdf(tmp_path / "form.pdf"), data=json.dumps(data))
    assert caught.value.code == "INVALID_OPTION"
    for word in words:
        assert word in caught.value.message


@pytest.mark.parametrize("data", ["{not json", "[1, 2]", "{}"])
def test_data_must_be_a_json_object(run: Run, tmp_path: Path, data: str) -> None:
    with pytest.raises(ConversioError) as caught:
        run(FILL, form_pdf(tmp_path / "form.pdf"), data=data)
    assert (caught.value.code, caught.value.details["option"]) == ("INVALID_OPTION", "data")


def test_a_pdf_without_a_form_is_refused_by_name(run: Run, tmp_path: Path) -> None:
    with pytest.raises(ConversioError) as caught:
        run(FILL, form_pdf(tmp_path / "plain.pdf", with_form=False), data=json.dumps({"name": "x"}))
    assert caught.value.code == "INVALID_REQUEST"
    assert caught.value.message.startswith("plain.pdf has no form fields")


def test_encrypted_input_needs_its_password(run: Run, tmp_path: Path) -> None:
    locked = encrypted_pdf(tmp_path / "locked.pdf", user="pw")
    for converter, options in ((FILL, {"data": '{"a": "b"}'}), (FLATTEN, {})):
        with pytest.raises(ConversioError) as caught:
            run(converter, locked, **options)
        assert caught.value.code == "INVALID_PASSWORD"
        assert "locked.pdf" in caught.value.message
    (out,) = run(FLATTEN, locked, password="pw")
    with pikepdf.open(out.path) as pdf:
        assert not pdf.is_encrypted and len(pdf.pages) == 2


def test_flatten_draws_other_annotations_too(run: Run, tmp_path: Path) -> None:
    path = form_pdf(tmp_path / "noted.pdf", with_form=False)
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        font = pdf.make_indirect(pikepdf.Dictionary(_FONT))
        look = pikepdf.Stream(pdf, b"BT /F1 12 Tf 2 6 Td (Reviewed) Tj ET", BBox=[0, 0, 120, 20])
        look.Resources = pikepdf.Dictionary(Font={"/F1": font})
        note = pikepdf.Dictionary(
            Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.FreeText, Rect=[50, 50, 170, 70]
        )
        note.AP, note.DA = pikepdf.Dictionary(N=look), pikepdf.String("/F1 12 Tf 0 g")
        pdf.pages[0].obj.Annots.append(pdf.make_indirect(note))
        pdf.save(path)
    assert "Reviewed" not in _page_text(path)
    (out,) = run(FLATTEN, path)
    assert "Reviewed" in _page_text(out.path)
    with pikepdf.open(out.path) as pdf:
        assert len(pdf.pages[0].obj.get("/Annots", [])) == 0


def test_a_form_pypdf_cannot_read_is_a_clear_corrupt_file(run: Run, tmp_path: Path) -> None:
    path = form_pdf(tmp_path / "form.pdf")
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        del pdf.Root.AcroForm.Fields[2].Kids[0]["/AP"]  # a radio button with no appearance
        pdf.save(path)
    with pytest.raises(ConversioError) as caught:
        run(FILL, path, data=json.dumps({"name": "x"}))
    assert caught.value.code == "CORRUPT_FILE"
    assert "form.pdf" in caught.value.message and "pypdf" not in caught.value.message.lower()


def test_data_may_be_a_json_object_as_an_http_body_sends_it(tmp_path: Path) -> None:
    form = form_pdf(tmp_path / "form.pdf")
    with Conversio(
        policy=PluginPolicy(allow=frozenset({"pdf"})), executor="inline", store="memory://"
    ) as app:
        result = app.convert(form).then("fill", data={"name": "Ada, L", "agree": True}).run()
        with result.open() as stream:
            fields = {
                name: field.get("/V") for name, field in (pypdf.PdfReader(stream).get_fields() or {}).items()
            }
    assert (fields["name"], fields["agree"]) == ("Ada, L", "/Yes")


def test_a_value_fills_only_the_field_it_names(run: Run, tmp_path: Path) -> None:
    path = form_pdf(tmp_path / "clash.pdf")
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        page = pdf.pages[0].obj
        person = pdf.make_indirect(pikepdf.Dictionary(T="person", Kids=[]))
        kid = _widget(pdf, page, [20, 100, 200, 120], FT=pikepdf.Name.Tx, T="name", Parent=person)
        kid.DA = pikepdf.String("/Helv 12 Tf 0 g")
        person.Kids.append(kid)
        pdf.Root.AcroForm.Fields.append(person)
        pdf.save(path)
    (out,) = run(FILL, path, data=json.dumps({"name": "Ada"}))
    assert (_fields(out.path)["name"], _fields(out.path)["person.name"]) == ("Ada", None)
    (out,) = run(FILL, path, data=json.dumps({"person.name": "Grace"}))
    assert (_fields(out.path)["name"], _fields(out.path)["person.name"]) == (None, "Grace")
    with pikepdf.open(out.path) as pdf:  # the partial names are back
        assert [str(f.T) for f in pdf.Root.AcroForm.Fields[-1].Kids] == ["name"]


def test_each_page_is_filled_with_its_own_fields_values(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pypdf compares every widget it is given with every value: 3,000 fields at once took 6 to
    10 s, 1.8 s page by page."""
    path = form_pdf(tmp_path / "big.pdf", with_form=False)
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        for _ in range(19):
            pdf.add_blank_page(page_size=(400, 400))
        fields = []
        for number in range(600):
            page = pdf.pages[number % 20].obj
            page.Annots = page.get("/Annots", pikepdf.Array())
            widget = _widget(pdf, page, [0, 0, 50, 10], FT=pikepdf.Name.Tx, T=f"f{number}")
            widget.DA = pikepdf.String("/Helv 8 Tf 0 g")
            fields.append(widget)
        helv = pdf.make_indirect(pikepdf.Dictionary(_FONT))
        pdf.Root.AcroForm = pikepdf.Dictionary(Fields=fields, DR={"/Font": {"/Helv": helv}})
        pdf.save(path)
    given: list[int] = []
    update = pypdf.PdfWriter.update_page_form_field_values

    def counted(writer: pypdf.PdfWriter, page: Any, values: Any, *args: Any, **kwargs: Any) -> None:
        given.append(len(values))
        update(writer, page, values, *args, **kwargs)

    monkeypatch.setattr(pypdf.PdfWriter, "update_page_form_field_values", counted)
    (out,) = run(FILL, path, data={f"f{number}": str(number) for number in range(600)})
    assert given == [30] * 20
    fields_read = _fields(out.path)
    assert (fields_read["f0"], fields_read["f599"], len(fields_read)) == ("0", "599", 600)
