"""Gotenberg's ``/forms/pdfengines/*`` routes as orders of conversio-pdf's operations: the uploaded
PDFs (in the order of their names), then the steps every route shares (:mod:`.steps`). Each route's
own field is required; the others may come along, as in Gotenberg."""

from __future__ import annotations

from conversio_server.gotenberg.answers import GotenbergError
from conversio_server.gotenberg.forms import Form
from conversio_server.gotenberg.sources import Sources, Work
from conversio_server.gotenberg.steps import after, not_yet
from conversio_server.models import StepSpec
from conversio_server.uploads import UploadedFile


def pdf_files(form: Form) -> list[UploadedFile]:
    """The uploaded PDFs, in the order of their names; one that is not a PDF is a problem naming it."""
    files = form.files_with((".pdf",))
    for part in files:
        with part.path.open("rb") as reader:
            if b"%PDF-" not in reader.read(1024):
                form.problems.append(f"form file '{part.filename}' is not a PDF")
    return files


def _operation(form: Form, sources: Sources, *required: str, first: tuple[StepSpec, ...] = ()) -> Work:
    """The PDFs, the steps ``first``, then the shared steps; one of ``required`` must be given."""
    files = pdf_files(form)
    if required and not any(form.has(name) for name in required):
        names = " or ".join(f"'{name}'" for name in required)
        form.problems.append(f"form field {names} is required")
    then = (*first, *after(form))
    form.validate()
    return Work(tuple(sources.upload(f) for f in files), None, then=then)


def merge(form: Form, sources: Sources) -> Work:
    """``/forms/pdfengines/merge``: the PDFs merged into one."""
    return _operation(form, sources, first=(StepSpec(step="merge"),))


def split(form: Form, sources: Sources) -> Work:
    """``/forms/pdfengines/split``: each PDF split as ``splitMode``/``splitSpan`` say."""
    return _operation(form, sources, "splitMode")


def encrypt(form: Form, sources: Sources) -> Work:
    """``/forms/pdfengines/encrypt``: ``userPassword`` to open, ``ownerPassword`` to change (one of
    them at least; the owner's alone lets anyone open the file)."""
    return _operation(form, sources, "userPassword", "ownerPassword")


def rotate(form: Form, sources: Sources) -> Work:
    """``/forms/pdfengines/rotate``: ``rotateAngle`` (90, 180, 270) clockwise, of ``rotatePages``."""
    return _operation(form, sources, "rotateAngle")


def watermark(form: Form, sources: Sources) -> Work:
    """``/forms/pdfengines/watermark``: the text over the pages, translucent (not behind them)."""
    return _operation(form, sources, "watermarkExpression")


def stamp(form: Form, sources: Sources) -> Work:
    """``/forms/pdfengines/stamp``: the text over the pages."""
    return _operation(form, sources, "stampExpression")


def convert(form: Form, sources: Sources) -> Work:
    """``/forms/pdfengines/convert``: each PDF made PDF/A (``pdfa``); ``pdfua`` is refused, since
    no engine here can tag an existing PDF (:data:`~.steps.EXISTING_PDF_UA`)."""
    return _operation(form, sources, "pdfa", "pdfua")


def flatten(form: Form, sources: Sources) -> Work:
    """``/forms/pdfengines/flatten``: each PDF's forms and annotations drawn into its pages."""
    return _operation(form, sources, first=() if form.has("flatten") else (StepSpec(step="flatten"),))


def write_metadata(form: Form, sources: Sources) -> Work:
    """``/forms/pdfengines/metadata/write``: ``metadata`` written to each PDF."""
    return _operation(form, sources, "metadata")


def unsupported(what: str) -> GotenbergError:
    """The 400 of a route conversio has no operation for yet."""
    return GotenbergError(400, f"Not supported by this server: {not_yet(what)}")
