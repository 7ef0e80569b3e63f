"""Gotenberg's PDF engines on conversio-pdf's operations: the form fields every PDF-producing route
shares (``metadata``, ``split*``, ``pdfa``, ``pdfua``, ``flatten``) as steps after the conversion,
and the ``/forms/pdfengines/*`` routes as orders of those operations.

What conversio has no operation for yet (PDF/A or PDF/UA of an existing PDF, flattening, reading
metadata) is refused with Gotenberg's 400 and a message that says so, never ignored."""

from __future__ import annotations

from typing import Any

from conversio_server.gotenberg.answers import GotenbergError
from conversio_server.gotenberg.forms import Form, Invalid, go_bool, go_int, json_value
from conversio_server.gotenberg.sources import Sources, Work
from conversio_server.models import StepSpec
from conversio_server.uploads import UploadedFile

#: Gotenberg's metadata keys that conversio's ``metadata`` operation writes, and its option names.
METADATA_KEYS = {"Title": "title", "Author": "author", "Subject": "subject", "Keywords": "keywords"}
#: The one PDF/A flavour conversio writes (LibreOffice's export).
PDFA_2B = "PDF/A-2b"
PDFA_FLAVOURS = ("PDF/A-1b", "PDF/A-2b", "PDF/A-3b")
_NOT_YET = "conversio cannot {} yet"


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


def pdfa(form: Form, *, native: bool) -> bool:
    """Whether ``pdfa`` asks for PDF/A-2b; ``native``: the producer writes it (LibreOffice)."""
    flavour = form.text("pdfa")
    if not flavour:
        return False
    if flavour not in PDFA_FLAVOURS:
        form.problems.append(
            f"form field 'pdfa' is invalid (got '{flavour}', want {', '.join(PDFA_FLAVOURS)})"
        )
    elif not native:
        form.refuse("pdfa", _NOT_YET.format("convert an existing PDF to PDF/A"))
    elif flavour != PDFA_2B:
        form.refuse("pdfa", f"{flavour}: only {PDFA_2B} is written")
    return flavour == PDFA_2B


def steps(form: Form) -> list[StepSpec]:
    """The steps after a PDF is made: ``metadata`` and ``split*``; ``pdfua`` and ``flatten`` refused."""
    if form.parse("pdfua", go_bool, False):
        form.refuse("pdfua", _NOT_YET.format("write PDF/UA"))
    if form.parse("flatten", go_bool, False):
        form.refuse("flatten", _NOT_YET.format("flatten a PDF"))
    found = []
    metadata: dict[str, str] = form.parse("metadata", metadata_options, {})
    if metadata:
        found.append(StepSpec(step="metadata", options=metadata))
    split = _split(form)
    if split is not None:
        found.append(split)
    return found


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


def pdf_files(form: Form) -> list[UploadedFile]:
    """The uploaded PDFs, in the order of their names; one that is not a PDF is a problem naming it."""
    files = form.files_with((".pdf",))
    for part in files:
        with part.path.open("rb") as reader:
            if b"%PDF-" not in reader.read(1024):
                form.problems.append(f"form file '{part.filename}' is not a PDF")
    return files


def merge(form: Form, sources: Sources) -> Work:
    """``/forms/pdfengines/merge``: the PDFs in the order of their names, merged."""
    files = pdf_files(form)
    pdfa(form, native=False)
    after = steps(form)
    form.validate()
    return Work(tuple(sources.upload(f) for f in files), None, then=(StepSpec(step="merge"), *after))


def split(form: Form, sources: Sources) -> Work:
    """``/forms/pdfengines/split``: each PDF split as ``splitMode``/``splitSpan`` say."""
    files = pdf_files(form)
    form.required("splitMode")
    pdfa(form, native=False)
    after = steps(form)
    form.validate()
    return Work(tuple(sources.upload(f) for f in files), None, then=tuple(after))


def encrypt(form: Form, sources: Sources) -> Work:
    """``/forms/pdfengines/encrypt``: ``userPassword`` to open, ``ownerPassword`` to change (one of
    them at least; the owner's alone lets anyone open the file)."""
    files = pdf_files(form)
    options = {
        option: form.text(field)
        for field, option in (("userPassword", "user_password"), ("ownerPassword", "owner_password"))
        if form.has(field)
    }
    if not options:
        form.problems.append("form field 'userPassword' or 'ownerPassword' is required")
    form.validate()
    return Work(
        tuple(sources.upload(f) for f in files), None, then=(StepSpec(step="encrypt", options=options),)
    )


def rotate(form: Form, sources: Sources) -> Work:
    """``/forms/pdfengines/rotate``: ``rotateAngle`` (90, 180, 270) clockwise, of ``rotatePages``."""
    files = pdf_files(form)
    angle = form.parse("rotateAngle", go_int, 0)
    if form.required("rotateAngle") and angle not in (90, 180, 270):
        form.problems.append(f"form field 'rotateAngle' is invalid (got '{angle}', want 90, 180 or 270)")
    options: dict[str, Any] = {"angle": angle}
    if form.has("rotatePages"):
        options["pages"] = form.text("rotatePages")
    form.validate()
    return Work(
        tuple(sources.upload(f) for f in files), None, then=(StepSpec(step="rotate", options=options),)
    )


def _text_mark(form: Form, sources: Sources, prefix: str) -> Work:
    """A text drawn over the pages (``watermark…`` or ``stamp…`` fields): conversio-pdf's watermark."""
    files = pdf_files(form)
    source = form.text(f"{prefix}Source", "text")
    if source != "text":
        form.refuse(f"{prefix}Source", f"{source}: only text is drawn")
    options: dict[str, Any] = {"text": form.required(f"{prefix}Expression")}
    if form.has(f"{prefix}Pages"):
        options["pages"] = form.text(f"{prefix}Pages")
    marks: dict[str, Any] = form.parse(f"{prefix}Options", _mark_options, {})
    options.update(marks)
    form.validate()
    return Work(
        tuple(sources.upload(f) for f in files), None, then=(StepSpec(step="watermark", options=options),)
    )


def _mark_options(value: str) -> dict[str, Any]:
    data = json_value(value)
    if not isinstance(data, dict):
        raise Invalid("not a JSON object")
    unknown = sorted(set(data) - {"opacity", "points"})
    if unknown:
        raise Invalid(f"keys {', '.join(unknown)} are not supported; this server takes opacity and points")
    named = {"opacity": "opacity", "points": "font_size"}
    return {named[key]: value for key, value in data.items()}


def watermark(form: Form, sources: Sources) -> Work:
    """``/forms/pdfengines/watermark``: the text over the pages, translucent (not behind them)."""
    return _text_mark(form, sources, "watermark")


def stamp(form: Form, sources: Sources) -> Work:
    """``/forms/pdfengines/stamp``: the text over the pages."""
    return _text_mark(form, sources, "stamp")


def write_metadata(form: Form, sources: Sources) -> Work:
    """``/forms/pdfengines/metadata/write``: ``metadata`` (required) written to each PDF."""
    files = pdf_files(form)
    form.required("metadata")
    metadata: dict[str, str] = form.parse("metadata", metadata_options, {})
    form.validate()
    step = StepSpec(step="metadata", options=metadata)
    return Work(tuple(sources.upload(f) for f in files), None, then=(step,))


def unsupported(what: str) -> GotenbergError:
    """The 400 of a route conversio has no operation for yet."""
    return GotenbergError(400, f"Not supported by this server: {_NOT_YET.format(what)}")
