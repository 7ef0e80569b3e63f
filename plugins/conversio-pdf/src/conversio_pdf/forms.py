"""PDF forms: AcroForm fields filled from JSON (pypdf), forms and annotations flattened (qpdf).

The input is opened with pikepdf first, as every other operation opens it (password,
damage, page limits), and pypdf fills a plain copy held in memory. Values are checked
against the form before anything is written: an unknown field, or a value that is not
among a checkbox's, radio group's or choice's options, is ``INVALID_OPTION`` naming the
valid ones. Signature fields are never changed.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from typing import Any

import pikepdf
import pypdf
from pypdf.constants import FieldDictionaryAttributes as FA
from pypdf.errors import PyPdfError
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

from conversio.converters import ConversionRequest, Output
from conversio.errors import InvalidOption, InvalidRequest
from conversio_pdf.documents import engine_errors, open_pdf, save_pdf, write_pdf
from conversio_pdf.faults import damaged

#: A field's value as pypdf sets it: text, an export value (``/Yes``) or a list of choices.
Value = str | list[str]
_OFF = "/Off"
#: The most ancestors a field's name is read from.
_MAX_DEPTH = 32


def fill(request: ConversionRequest) -> list[Output]:
    """The form's fields set from ``data`` (a JSON object of field name → value), then
    ``flatten``-ed when asked; viewers are asked to redraw the fields (NeedAppearances)."""
    source, options = request.input, request.options
    data = _data(options["data"])
    with open_pdf(source.path, source.name, options.get("password"), request.limits) as pdf:
        plain = io.BytesIO()
        write_pdf(pdf, plain, source.name)
    try:
        writer = pypdf.PdfWriter(clone_from=io.BytesIO(plain.getvalue()))
        fields = writer.get_fields() or {}
        if not fields:
            raise InvalidRequest(
                f"{source.name} has no form fields: there is nothing to fill", file=source.name
            )
        values = {name: _value(name, fields, value) for name, value in data.items()}
        _fill_pages(writer, values)
        filled = io.BytesIO()
        writer.write(filled)
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise damaged(source.name, str(exc)) from None
    with engine_errors(source.name), pikepdf.open(filled) as result:
        _button_values_as_names(result.Root.AcroForm.Fields, None, set())
        if options["flatten"]:
            _flattened(result)
        return [save_pdf(result, request, source.name)]


def _fill_pages(writer: pypdf.PdfWriter, values: dict[str, Value]) -> None:
    """``values`` set page by page, on the fields they name and no other.

    pypdf compares every widget of the pages it is given with every value (3,000 fields on
    one page: 10 s), so each page gets only the values of its own fields. It also takes a
    value for a field whose partial name is the value's name (``name`` would fill
    ``person.name`` too): such a field's partial name is hidden while its page is filled.
    """
    writer.set_need_appearances_writer(True)
    for page in writer.pages:
        widgets = list(_widget_fields(page))
        mine = {name: values[name] for name in {qualified for _, qualified in widgets} if name in values}
        if not mine:
            continue
        others = {
            id(field): field
            for field, qualified in widgets
            if qualified not in mine and field.get("/T") in mine
        }
        names = {key: field[NameObject("/T")] for key, field in others.items()}
        for field in others.values():
            field[NameObject("/T")] = TextStringObject("")
        try:
            writer.update_page_form_field_values(page, mine, auto_regenerate=None)
        finally:
            for key, field in others.items():
                field[NameObject("/T")] = names[key]


def _widget_fields(page: pypdf.PageObject) -> Iterator[tuple[DictionaryObject, str]]:
    """Each widget's field on ``page`` (as pypdf finds it) and the field's qualified name."""
    annotations = page.get("/Annots")
    annotations = annotations.get_object() if annotations is not None else None
    for each in annotations if isinstance(annotations, ArrayObject) else []:
        widget = each.get_object()
        if not isinstance(widget, DictionaryObject) or widget.get("/Subtype") != "/Widget":
            continue
        field = widget if "/FT" in widget and "/T" in widget else widget.get("/Parent", DictionaryObject())
        field = field.get_object()
        if isinstance(field, DictionaryObject):
            yield field, _qualified(field)


def _qualified(field: DictionaryObject) -> str:
    """The field's full name as pypdf computes it: its /TM, else its ancestors' partial names."""
    names: list[str] = []
    node: object = field
    seen: set[int] = set()
    while isinstance(node, DictionaryObject) and id(node) not in seen and len(seen) < _MAX_DEPTH:
        seen.add(id(node))
        if "/TM" in node:
            names.append(str(node["/TM"]))
            break
        names.append(str(node.get("/T", "")))
        parent = node.get("/Parent")
        node = parent.get_object() if parent is not None else None
    return ".".join(reversed(names))


def _button_values_as_names(fields: object, kind: object, seen: set[tuple[int, int]]) -> None:
    """A button's value as the name it must be (pypdf writes a radio group's as text, ``"/L"``)."""
    for field in fields if isinstance(fields, pikepdf.Array) else []:
        if not isinstance(field, pikepdf.Dictionary) or field.objgen in seen:
            continue
        seen.add(field.objgen)
        own = field.get("/FT", kind)
        value = field.get("/V")
        if own == "/Btn" and isinstance(value, pikepdf.String) and str(value).startswith("/"):
            field.V = pikepdf.Name(str(value))
        _button_values_as_names(field.get("/Kids"), own, seen)


def flatten(request: ConversionRequest) -> list[Output]:
    """Form fields and annotations drawn into the page content; the form removed."""
    source = request.input
    with open_pdf(source.path, source.name, request.options.get("password"), request.limits) as pdf:
        _flattened(pdf)
        return [save_pdf(pdf, request, source.name)]


def _flattened(pdf: pikepdf.Pdf) -> None:
    """Every annotation's appearance merged into its page (appearances made first where a
    viewer was asked to make them), and the document's form removed."""
    form = pdf.Root.get("/AcroForm")
    if isinstance(form, pikepdf.Dictionary) and form.get("/NeedAppearances", False):
        pdf.generate_appearance_streams()
    pdf.flatten_annotations("all")
    if "/AcroForm" in pdf.Root:
        del pdf.Root["/AcroForm"]
    for page in pdf.pages:  # widgets left have no appearance (an unsigned signature): nothing to draw
        annotations = page.obj.get("/Annots")
        if isinstance(annotations, pikepdf.Array):
            page.obj.Annots = pikepdf.Array(
                [each for each in annotations if each.get("/Subtype") != "/Widget"]
            )


def _data(data: object) -> dict[str, Any]:
    """The ``data`` option: a JSON object (the option's type parsed any JSON text)."""
    if not isinstance(data, dict) or not data:
        raise InvalidOption("'data' must be a JSON object of field name → value", option="data")
    return data


def _value(name: str, fields: Mapping[str, Any], value: object) -> Value:
    """``value`` for the field ``name`` as pypdf sets it; ``INVALID_OPTION`` when the field
    is unknown, a signature, or ``value`` is not among its options."""
    field = fields.get(name)
    if field is None:
        fillable = sorted(key for key, each in fields.items() if _kind(each) not in ("/Sig", None))
        raise InvalidOption(
            f"the form has no field {name!r}; its fields: {', '.join(fillable)}", option="data"
        )
    kind = _kind(field)
    if kind == "/Sig":
        raise InvalidOption(f"{name!r} is a signature field: it is never filled", option="data")
    if kind == "/Btn":
        return _button(name, [str(state) for state in field.get("/_States_", [])], value)
    if kind == "/Ch":
        return _choice(name, field, value)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidOption(f"the text field {name!r} takes text or a number", option="data")
    return str(value)


def _kind(field: Mapping[str, Any]) -> str | None:
    kind = field.get(FA.FT)
    return None if kind is None else str(kind)


def _button(name: str, states: list[str], value: object) -> str:
    """A checkbox's or radio group's export value: one of its states, with or without the
    leading slash; ``true`` checks a checkbox, ``false`` turns a button off."""
    on = [state for state in states if state != _OFF]
    checkbox, can_be_off = len(on) == 1, _OFF in states
    if value is True and checkbox:
        return on[0]
    if value is False and can_be_off:
        return _OFF
    if isinstance(value, str) and f"/{value.lstrip('/')}" in states:
        return f"/{value.lstrip('/')}"
    valid = [state.lstrip("/") for state in on] + ["true"] * checkbox + ["false"] * can_be_off
    raise InvalidOption(f"{name!r} cannot be {value!r}; valid: {', '.join(valid)}", option="data")


def _choice(name: str, field: Mapping[str, Any], value: object) -> Value:
    """One of a choice field's options (its export values), or a list of them when it allows
    several."""
    options = [
        str(option[0] if isinstance(option, list) else option) for option in field.get("/_States_", [])
    ]
    several = int(field.get(FA.Ff, 0)) & FA.FfBits.MultiSelect
    chosen = value if several and isinstance(value, list) else [value]
    bad = [each for each in chosen if not isinstance(each, str) or each not in options]
    if bad or not chosen:
        raise InvalidOption(f"{name!r} cannot be {value!r}; valid: {', '.join(options)}", option="data")
    return [str(each) for each in chosen] if isinstance(value, list) else str(value)
