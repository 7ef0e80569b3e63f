"""A PDF's AcroForm fields as plain data: name, kind, value, options, flags and page.

The field tree is walked by hand (pikepdf objects): inherited attributes are passed down,
a node is visited once (a loop is cut), and a tree deeper than :data:`MAX_DEPTH` or with more than
:data:`MAX_FIELDS` fields is refused, so a hostile form (a loop, a million fields) costs
little. The values are those :func:`conversio_pdf.forms.fill` takes.
"""

from __future__ import annotations

from typing import Any

import pikepdf

from conversio.errors import FileTooLarge
from conversio_pdf.faults import damaged

#: The most fields a form may have for it to be listed.
MAX_FIELDS = 50_000
#: The deepest a field tree may be (real forms nest a few levels).
MAX_DEPTH = 32
#: Attributes a field takes from its parent when it has none of its own.
_INHERITED = ("/FT", "/Ff", "/V", "/Opt")
_OFF = "Off"
# Field flags (PDF 32000-1, tables 221, 226, 228, 230)
_READ_ONLY, _REQUIRED = 1, 1 << 1
_MULTILINE, _PASSWORD = 1 << 12, 1 << 13
_RADIO, _PUSHBUTTON = 1 << 15, 1 << 16
_COMBO, _MULTI_SELECT = 1 << 17, 1 << 21


def form_kind(pdf: pikepdf.Pdf) -> str | None:
    """``"acroform"``, ``"xfa"`` (an XML form a viewer draws itself), or None without a form."""
    form = pdf.Root.get("/AcroForm")
    if not isinstance(form, pikepdf.Dictionary):
        return None
    return "xfa" if "/XFA" in form else "acroform"


def list_fields(pdf: pikepdf.Pdf, name: str) -> list[dict[str, Any]]:
    """Every field of the form of ``pdf`` (the file ``name``), in the form's order."""
    form = pdf.Root.get("/AcroForm")
    roots = form.get("/Fields") if isinstance(form, pikepdf.Dictionary) else None
    if not isinstance(roots, pikepdf.Array):
        return []
    walk = _Walk(name, _widget_pages(pdf))
    for root in roots:
        walk.visit(root, "", {}, 0)
    return walk.fields


def _widget_pages(pdf: pikepdf.Pdf) -> dict[tuple[int, int], int]:
    """The page number (from 1) of every annotation, by its object id."""
    pages: dict[tuple[int, int], int] = {}
    for number, page in enumerate(pdf.pages, 1):
        annotations = page.obj.get("/Annots")
        for annotation in annotations if isinstance(annotations, pikepdf.Array) else []:
            if isinstance(annotation, pikepdf.Dictionary) and annotation.is_indirect:
                pages.setdefault(annotation.objgen, number)
    return pages


class _Walk:
    """One walk of a field tree, collecting its terminal fields."""

    def __init__(self, name: str, pages: dict[tuple[int, int], int]) -> None:
        self.name = name
        self.pages = pages
        self.seen: set[tuple[int, int]] = set()
        self.fields: list[dict[str, Any]] = []

    def visit(self, node: object, parent: str, inherited: dict[str, Any], depth: int) -> None:
        if not isinstance(node, pikepdf.Dictionary):
            return
        if node.is_indirect:
            if node.objgen in self.seen:
                return  # listed already, or a loop in the tree
            self.seen.add(node.objgen)
        if depth > MAX_DEPTH:
            raise damaged(self.name, "form field tree nested too deeply")
        partial = node.get("/T")
        full = parent if partial is None else f"{parent}.{partial}" if parent else str(partial)
        own = {key: node[key] for key in _INHERITED if key in node}
        attributes = {**inherited, **own}
        array = node.get("/Kids")
        kids = list(array) if isinstance(array, pikepdf.Array) else []
        fields = [kid for kid in kids if isinstance(kid, pikepdf.Dictionary) and "/T" in kid]
        if fields:
            for kid in fields:
                self.visit(kid, full, attributes, depth + 1)
            return
        if len(self.fields) >= MAX_FIELDS:
            raise FileTooLarge(
                f"{self.name} has more than {MAX_FIELDS} form fields, more than can be listed",
                file=self.name,
                limit=MAX_FIELDS,
            )
        widgets = [kid for kid in kids if isinstance(kid, pikepdf.Dictionary)] or [node]
        self.fields.append(self._field(full, attributes, widgets))

    def _field(
        self, name: str, attributes: dict[str, Any], widgets: list[pikepdf.Dictionary]
    ) -> dict[str, Any]:
        flags = _int(attributes.get("/Ff"))
        kind = _kind(attributes.get("/FT"), flags)
        pages = [self.pages[w.objgen] for w in widgets if w.is_indirect and w.objgen in self.pages]
        field: dict[str, Any] = {
            "name": name,
            "type": kind,
            "value": _value(kind, attributes.get("/V")),
            "required": bool(flags & _REQUIRED),
            "read_only": bool(flags & _READ_ONLY),
            "page": min(pages) if pages else None,
        }
        if kind in ("checkbox", "radio"):
            field["options"] = _states(widgets)
        elif kind in ("combo", "list"):
            values, labels = _choices(attributes.get("/Opt"))
            field["options"] = values
            if labels != values:
                field["labels"] = labels
            field["multiple"] = bool(flags & _MULTI_SELECT)
        elif kind == "text":
            field["multiline"] = bool(flags & _MULTILINE)
            field["password"] = bool(flags & _PASSWORD)
            max_length = widgets[0].get("/MaxLen", attributes.get("/MaxLen"))
            field["max_length"] = _int(max_length) or None
        elif kind == "signature":
            field["value"] = None
            field["signed"] = isinstance(attributes.get("/V"), pikepdf.Dictionary)
        return field


def _int(value: object) -> int:
    return int(value) if isinstance(value, int) else 0


def _kind(field_type: object, flags: int) -> str:
    """The field's kind: text, checkbox, radio, pushbutton, combo, list, signature (or unknown)."""
    if field_type == "/Btn":
        return "pushbutton" if flags & _PUSHBUTTON else "radio" if flags & _RADIO else "checkbox"
    if field_type == "/Ch":
        return "combo" if flags & _COMBO else "list"
    return {"/Tx": "text", "/Sig": "signature"}.get(str(field_type), "unknown")


def _text(value: object) -> str:
    return str(value)[1:] if isinstance(value, pikepdf.Name) else str(value)


def _value(kind: str, value: object) -> str | list[str] | None:
    """The field's value as JSON: text, an export value (None when off) or chosen options."""
    if kind in ("pushbutton", "signature"):
        return None
    if isinstance(value, pikepdf.Array):
        return [_text(each) for each in value if isinstance(each, pikepdf.String | pikepdf.Name)]
    if not isinstance(value, pikepdf.String | pikepdf.Name):
        return None  # none, or what no form field holds (a rich-text stream is not read)
    text = _text(value)
    return None if kind in ("checkbox", "radio") and text == _OFF else text


def _states(widgets: list[pikepdf.Dictionary]) -> list[str]:
    """A button's export values: its widgets' appearance states other than Off."""
    states: list[str] = []
    for widget in widgets:
        appearances = widget.get("/AP")
        normal = appearances.get("/N") if isinstance(appearances, pikepdf.Dictionary) else None
        if isinstance(normal, pikepdf.Dictionary):
            states += [str(key)[1:] for key in normal if key != f"/{_OFF}" and str(key)[1:] not in states]
    return states


def _choices(options: object) -> tuple[list[str], list[str]]:
    """A choice field's export values and what it shows for each."""
    values: list[str] = []
    labels: list[str] = []
    for option in options if isinstance(options, pikepdf.Array) else []:
        pair = list(option) if isinstance(option, pikepdf.Array) and len(option) == 2 else None
        values.append(_text(pair[0] if pair else option))
        labels.append(_text(pair[1] if pair else option))
    return values, labels
