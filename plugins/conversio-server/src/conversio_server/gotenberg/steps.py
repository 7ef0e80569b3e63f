"""The PDF engine fields Gotenberg applies to the PDFs of every route, as conversio-pdf's operations
after the conversion: ``watermark…`` and ``stamp…`` (text drawn over the pages), ``rotate…``,
``flatten`` (forms and annotations drawn into the pages), ``metadata``, ``split…``, ``pdfa``
(conversio-pdf's checked PDF/A, after every step that changes the pages) and, last,
``userPassword``/``ownerPassword``.

What conversio has no operation for yet (embedded files, image watermarks), or cannot do
together (PDF/A forbids encryption), is refused with a problem that says so, never ignored.
``pdfua`` is made where the PDF is made, by LibreOffice (see :mod:`.libreoffice`); every other
route refuses it, for the reason it passes to :func:`after`."""

from __future__ import annotations

from typing import Any

from conversio_server.gotenberg.forms import Form, Invalid, go_bool, go_int, json_value
from conversio_server.models import StepSpec

#: Gotenberg's metadata keys that conversio's ``metadata`` operation writes, and its option names.
METADATA_KEYS = {"Title": "title", "Author": "author", "Subject": "subject", "Keywords": "keywords"}
#: Gotenberg's PDF/A flavours → the ``level`` of conversio-pdf's ``pdfa`` operation.
PDFA_LEVELS = {"PDF/A-1b": "1b", "PDF/A-2b": "2b", "PDF/A-3b": "3b"}
#: Gotenberg's ``…Options`` of a watermark or stamp that conversio's ``watermark`` takes.
_MARK_OPTIONS = {"opacity": "opacity", "points": "font_size"}


#: Why ``pdfua`` is refused for PDFs that exist already (the PDF engine routes).
EXISTING_PDF_UA = (
    "an existing PDF cannot be made PDF/UA: no engine here can add the structure (tags) it needs; "
    "ask for PDF/UA where the PDF is made, with the LibreOffice route's pdfua"
)


def not_yet(what: str) -> str:
    return f"conversio cannot {what} yet"


def metadata_options(value: str) -> dict[str, str]:
    """The ``metadata`` JSON object as the ``metadata`` operation's options."""
    data = json_value(value)
    if not isinstance(data, dict):
        raise Invalid("not a JSON object")
    unknown = sorted(set(data) - set(METADATA_KEYS))
    if unknown:
        raise Invalid(
            f"keys {', '.join(unknown)} are not supported; this server writes {', '.join(METADATA_KEYS)}"
        )
    options = {}
    for key, name in METADATA_KEYS.items():
        if key in data:
            given = data[key]
            options[name] = ", ".join(map(str, given)) if isinstance(given, list) else str(given)
    return options


def _pdfa(form: Form) -> StepSpec | None:
    """The ``pdfa`` field as conversio-pdf's ``pdfa`` operation."""
    flavour = form.text("pdfa")
    if not flavour:
        return None
    if flavour not in PDFA_LEVELS:
        form.problems.append(f"form field 'pdfa' is invalid (got '{flavour}', want {', '.join(PDFA_LEVELS)})")
        return None
    return StepSpec(step="pdfa", options={"level": PDFA_LEVELS[flavour]})


def after(form: Form, pdfua_refusal: str | None = EXISTING_PDF_UA) -> list[StepSpec]:
    """The steps after the PDFs are made, in Gotenberg's order (encryption last); ``pdfua`` is
    refused for ``pdfua_refusal``, or left to the route when that is None."""
    if pdfua_refusal is not None and form.parse("pdfua", go_bool, False):
        form.refuse("pdfua", pdfua_refusal)
    if form.attached.get("embeds"):
        form.refuse("embeds", not_yet("embed files in a PDF"))
    if form.has("bookmarks"):
        form.refuse("bookmarks", not_yet("write bookmarks"))
    if form.parse("autoIndexBookmarks", go_bool, False):
        form.refuse("autoIndexBookmarks", not_yet("write bookmarks"))
    flatten = StepSpec(step="flatten") if form.parse("flatten", go_bool, False) else None
    found = [
        _mark(form, "watermark"),
        _mark(form, "stamp"),
        _rotate(form),
        flatten,
        _metadata(form),
        _split(form),
    ]
    pdfa, encrypt = _pdfa(form), _encrypt(form)
    if pdfa and encrypt:
        form.refuse("pdfa", "a PDF/A file cannot be encrypted; ask for PDF/A or for a password, not both")
    found += [pdfa, encrypt]
    return [step for step in found if step is not None]


def _metadata(form: Form) -> StepSpec | None:
    metadata: dict[str, str] = form.parse("metadata", metadata_options, {})
    return StepSpec(step="metadata", options=metadata) if metadata else None


def _encrypt(form: Form) -> StepSpec | None:
    options = {
        option: form.text(field)
        for field, option in (("userPassword", "user_password"), ("ownerPassword", "owner_password"))
        if form.has(field)
    }
    return StepSpec(step="encrypt", options=options) if options else None


def _rotate(form: Form) -> StepSpec | None:
    if not form.has("rotateAngle"):
        return None
    angle = form.parse("rotateAngle", go_int, 90)
    if angle not in (90, 180, 270):
        form.problems.append(f"form field 'rotateAngle' is invalid (got '{angle}', want 90, 180 or 270)")
    options: dict[str, Any] = {"angle": angle}
    if form.has("rotatePages"):
        options["pages"] = form.text("rotatePages")
    return StepSpec(step="rotate", options=options)


def _mark(form: Form, prefix: str) -> StepSpec | None:
    """A text drawn over the pages (the ``watermark…`` or ``stamp…`` fields): conversio's watermark."""
    if not (form.has(f"{prefix}Expression") or form.has(f"{prefix}Source")):
        return None
    source = form.text(f"{prefix}Source", "text")
    if source != "text":
        form.refuse(f"{prefix}Source", f"{source}: only text is drawn")
    options: dict[str, Any] = {"text": form.required(f"{prefix}Expression")}
    if form.has(f"{prefix}Pages"):
        options["pages"] = form.text(f"{prefix}Pages")
    marks: dict[str, Any] = form.parse(f"{prefix}Options", _mark_options, {})
    return StepSpec(step="watermark", options={**options, **marks})


def _mark_options(value: str) -> dict[str, Any]:
    data = json_value(value)
    if not isinstance(data, dict):
        raise Invalid("not a JSON object")
    unknown = sorted(set(data) - set(_MARK_OPTIONS))
    if unknown:
        raise Invalid(f"keys {', '.join(unknown)} are not supported; this server takes opacity and points")
    return {_MARK_OPTIONS[key]: value for key, value in data.items()}


def _split(form: Form) -> StepSpec | None:
    """``splitMode`` ``intervals`` (every ``splitSpan`` pages) or ``pages`` (one file per range of
    ``splitSpan``, or one file of them all with ``splitUnify``)."""
    mode = form.text("splitMode")
    if not mode:
        return None
    span = form.required("splitSpan")
    if mode == "intervals":
        every = form.parse("splitSpan", go_int, 1)
        if every < 1:
            form.problems.append(f"form field 'splitSpan' is invalid (got '{span}', want 1 or more)")
        return StepSpec(step="split", options={"every": every})
    if mode == "pages":
        if form.parse("splitUnify", go_bool, False):
            return StepSpec(step="extract-pages", options={"pages": span})
        return StepSpec(step="split", options={"ranges": [r.strip() for r in span.split(",") if r.strip()]})
    form.problems.append(f"form field 'splitMode' is invalid (got '{mode}', want intervals or pages)")
    return None
