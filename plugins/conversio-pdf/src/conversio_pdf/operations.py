"""Same-format PDF operations with pikepdf (qpdf): merge, split, encrypt, rotate, ...

Each operation works on a PDF held in memory (:class:`Working`). :func:`run_steps` runs
a sequence of them in one call, opening the inputs once and saving once: the engine
fuses consecutive operations through it (``ConverterSpec.fuse``), and each operation
on its own is a sequence of one. An operation that decides how the PDF is saved
(encrypt, compress, linearize) is saved and opened again before another one follows,
so a sequence gives what its operations would give one at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import PurePosixPath
from typing import Any

import attrs
import pikepdf

from conversio.converters import ConversionRequest, InputFile, Output, StepCall
from conversio.errors import FileTooLarge, InvalidOption
from conversio.pages import parse_pages
from conversio_pdf.compression import recompress_images
from conversio_pdf.documents import engine_errors, open_pdf, save_pdf, write_pdf
from conversio_pdf.page_ranges import chunks, ordered
from conversio_pdf.passwords import saslprep
from conversio_pdf.stamping import stamp_text
from conversio_pdf.xmp import write_metadata

Options = dict[str, Any]


@attrs.define
class Working:
    """The PDF the operations work on, what it is called and how it is to be saved.

    Every PDF opened or made along the way stays open (in ``stack``) until the last
    save: pages copied from one PDF into another read their content from the first.
    """

    request: ConversionRequest
    stack: ExitStack
    pdf: pikepdf.Pdf
    name: str
    #: ``Pdf.save`` keywords the last operation asked for (encryption, linearize, ...)
    save: Options = attrs.field(factory=dict)

    def saved_and_reopened(self, options: Options, number: int) -> None:
        """Save as the last operation asked and open the result again (with ``password``)."""
        path = self.request.output_dir / f".step{number}.pdf"  # no output's name starts with a dot
        self.stack.callback(path.unlink, missing_ok=True)
        write_pdf(self.pdf, path, self.name, **self.save)
        self.pdf = _open(self.request, self.stack, InputFile(path, self.name, "pdf"), options)
        self.save = {}


def _open(request: ConversionRequest, stack: ExitStack, source: InputFile, options: Options) -> pikepdf.Pdf:
    """``source`` opened with the ``password`` option and checked, open until ``stack`` closes
    (a warning says when qpdf had to rebuild it as it read it)."""
    pdf = stack.enter_context(open_pdf(source.path, source.name, options.get("password"), request.limits))
    if pdf.get_warnings():
        request.warn(f"{source.name} is damaged: it was rebuilt as it was read; check the result")
    return pdf


def _opened(request: ConversionRequest, stack: ExitStack, options: Options) -> Working:
    """The single input, opened."""
    return Working(request, stack, _open(request, stack, request.input, options), request.input.name)


def _stem(name: str) -> str:
    return PurePosixPath(name).stem or "document"


def _assemble(name: str, parts: list[tuple[pikepdf.Pdf, list[int]]]) -> pikepdf.Pdf:
    """A new PDF of the pages ``(pdf, 0-based indexes)``, in that order, form fields kept."""
    result = pikepdf.new()
    try:
        with engine_errors(name):
            for pdf, indexes in parts:
                result.add_pages_from(pdf, indexes)
    except BaseException:
        result.close()
        raise
    return result


def _merged(request: ConversionRequest, stack: ExitStack, options: Options) -> Working:
    """The inputs' pages one after the other (natural name order unless ``order=given``)."""
    sources = ordered(request.inputs, [i.name for i in request.inputs], options["order"])
    pdfs = [_open(request, stack, source, options) for source in sources]
    total = sum(len(pdf.pages) for pdf in pdfs)
    if total > request.limits.max_pages:
        raise FileTooLarge(
            f"the merged PDF would have {total} pages, more than the limit of {request.limits.max_pages}",
            pages=total,
            limit=request.limits.max_pages,
        )
    name = f"{_stem(sources[0].name)}-merged.pdf" if len(sources) == 1 else "merged.pdf"
    merged = stack.enter_context(_assemble(name, [(pdf, list(range(len(pdf.pages)))) for pdf in pdfs]))
    return Working(request, stack, merged, name)


def _split(work: Working, options: Options) -> list[Output]:
    """One PDF per range of ``ranges``, else per ``every`` pages: ``<stem>-part001.pdf``, ..."""
    count = len(work.pdf.pages)
    ranges = options.get("ranges")
    parts = (
        [parse_pages(text, count, "ranges") for text in ranges] if ranges else chunks(count, options["every"])
    )
    width = max(3, len(str(len(parts))))
    outputs = []
    for number, indexes in enumerate(parts, start=1):
        with _assemble(work.name, [(work.pdf, indexes)]) as part:
            outputs.append(save_pdf(part, work.request, f"{_stem(work.name)}-part{number:0{width}d}.pdf"))
        work.request.progress(number / len(parts))
    return outputs


def _extract_pages(work: Working, options: Options) -> None:
    """A PDF of the ``pages`` chosen, in the order written ("3,1-2" puts page 3 first)."""
    indexes = parse_pages(options["pages"], len(work.pdf.pages))
    work.pdf = work.stack.enter_context(_assemble(work.name, [(work.pdf, indexes)]))


#: permission name → the pikepdf.Permissions fields it grants
PERMISSIONS: dict[str, tuple[str, ...]] = {
    "print": ("print_lowres", "print_highres"),
    "copy": ("extract",),
    "modify": ("modify_other",),
    "annotate": ("modify_annotation",),
    "forms": ("modify_form",),
    "assemble": ("modify_assembly",),
}


def _permissions(names: list[str]) -> pikepdf.Permissions:
    unknown = sorted(set(names) - set(PERMISSIONS))
    if unknown:
        raise InvalidOption(
            f"unknown permission {', '.join(unknown)}; valid: {', '.join(PERMISSIONS)}",
            option="permissions",
        )
    granted = {field for name in names for field in PERMISSIONS[name]}
    every = {field for fields in PERMISSIONS.values() for field in fields}
    return pikepdf.Permissions(accessibility=True, **{field: field in granted for field in every})


def _prepared(options: Options, option: str) -> str:
    """The password ``option`` prepared by SASLprep, as PDF 2.0 stores an AES-256 password."""
    try:
        return saslprep(options.get(option) or "", stored=True)
    except ValueError as exc:
        raise InvalidOption(f"'{option}' cannot be a PDF password: {exc}", option=option) from None


def _encrypt(work: Working, options: Options) -> None:
    """AES-256 (R6): ``user_password`` opens, ``owner_password`` (default: the user's) rules.

    Both are stored as SASLprep makes them (PDF 2.0), so any reader that prepares what its
    user types the same way opens the file."""
    user = _prepared(options, "user_password")
    owner = _prepared(options, "owner_password") or user
    if not owner:
        raise InvalidOption("encrypt needs 'user_password' or 'owner_password'", option="user_password")
    allow = _permissions(options["permissions"])
    work.save = {"encryption": pikepdf.Encryption(user=user, owner=owner, R=6, aes=True, allow=allow)}


def _compress(work: Working, options: Options) -> None:
    """Object streams, recompressed streams and (``images``) photos re-encoded as JPEG when smaller.

    The bytes saved are reported in the final progress message (:func:`run_steps`).
    """
    if options["images"]:
        with engine_errors(work.name):
            recompress_images(work.pdf, options["quality"], work.request.limits.max_pixels)
    work.save = {
        "object_stream_mode": pikepdf.ObjectStreamMode.generate,
        "compress_streams": True,
        "recompress_flate": True,
    }


def _linearize(work: Working, options: Options) -> None:
    """The same PDF linearized ("fast web view")."""
    work.save = {"linearize": True}


def _rotate(work: Working, options: Options) -> None:
    """The chosen ``pages`` (default all) turned clockwise by ``angle`` (their /Rotate)."""
    for index in parse_pages(options.get("pages"), len(work.pdf.pages)):
        with engine_errors(work.name):
            work.pdf.pages[index].rotate(options["angle"], relative=True)


def _watermark(work: Working, options: Options) -> None:
    """``text`` stamped on the chosen pages (Helvetica, ``opacity``, ``position``, ``font_size``)."""
    text = options["text"]
    pdf = work.pdf
    for index in parse_pages(options.get("pages"), len(pdf.pages)):
        with engine_errors(work.name):
            stamp_text(
                pdf, pdf.pages[index], text, options["opacity"], options["position"], options["font_size"]
            )


def _set_metadata(work: Working, options: Options) -> None:
    """Title, author, subject, keywords, creator and further XMP properties, in XMP and the
    information dictionary alike (:func:`conversio_pdf.xmp.write_metadata`)."""
    write_metadata(work.pdf, work.name, options, work.request.warn)


def _unchanged(work: Working, options: Options) -> None:
    """decrypt (the PDF was opened with ``password`` and is saved plainly) and repair (qpdf
    rebuilds the cross-reference table and drops damaged objects as it saves)."""


#: operation → what it does to the working PDF (merge and split: see :func:`_apply`)
EDITS: dict[str, Callable[[Working, Options], None]] = {
    "extract-pages": _extract_pages,
    "encrypt": _encrypt,
    "decrypt": _unchanged,
    "compress": _compress,
    "linearize": _linearize,
    "rotate": _rotate,
    "watermark": _watermark,
    "metadata": _set_metadata,
    "repair": _unchanged,
}


def run_steps(request: ConversionRequest) -> list[Output]:
    """The fused operations of ``request.steps``, in one call (``ConverterSpec.fuse``)."""
    return _apply(request, request.steps)


def _apply(request: ConversionRequest, steps: Sequence[StepCall]) -> list[Output]:
    """Apply ``steps`` in order, opening the inputs once and saving once.

    ``merge`` may only come first and ``split`` only last; the first operation's
    ``password`` opens the inputs, a later one's the PDF saved before it.
    """
    first, *_ = steps
    with ExitStack() as stack:
        work = (_merged if first.operation == "merge" else _opened)(request, stack, first.options)
        for number, step in enumerate(steps):
            if step.operation == "merge":
                assert number == 0, "merge only ever comes first"
                continue  # the inputs were merged as they were opened
            if work.save:
                work.saved_and_reopened(step.options, number)
            if step.operation == "split":
                assert number == len(steps) - 1, "split only ever comes last"
                return _split(work, step.options)
            EDITS[step.operation](work, step.options)
        out = save_pdf(work.pdf, request, work.name, **work.save)
    if any(step.operation == "compress" for step in steps):
        before = sum(source.path.stat().st_size for source in request.inputs)
        after = out.path.stat().st_size
        saved = before - after
        request.progress(1.0, f"saved {saved} bytes ({saved / before:.0%}): {before} -> {after}")
    return [out]


def _single(operation: str) -> Callable[[ConversionRequest], list[Output]]:
    """The converter function of ``operation`` alone."""

    def run(request: ConversionRequest) -> list[Output]:
        return _apply(request, [StepCall(operation, request.options)])

    run.__name__ = run.__qualname__ = operation.replace("-", "_")
    run.__doc__ = (EDITS[operation].__doc__ if operation in EDITS else None) or f"The {operation} operation."
    return run


merge = _single("merge")
split = _single("split")
extract_pages = _single("extract-pages")
encrypt = _single("encrypt")
decrypt = _single("decrypt")
compress = _single("compress")
linearize = _single("linearize")
rotate = _single("rotate")
watermark = _single("watermark")
set_metadata = _single("metadata")
repair = _single("repair")
