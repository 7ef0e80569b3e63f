"""Same-format PDF operations with pikepdf (qpdf): merge, split, encrypt, rotate, ..."""

from __future__ import annotations

from contextlib import AbstractContextManager, ExitStack
from pathlib import PurePosixPath

import pikepdf

from conversio.converters import ConversionRequest, InputFile, Output
from conversio.errors import FileTooLarge, InvalidOption
from conversio_pdf.compression import recompress_images
from conversio_pdf.documents import engine_errors, open_pdf, save_pdf
from conversio_pdf.page_ranges import chunks, ordered, parse_pages
from conversio_pdf.stamping import stamp_text


def _open(request: ConversionRequest, source: InputFile | None = None) -> AbstractContextManager[pikepdf.Pdf]:
    """Context manager of the (first) input, checked, opened with the ``password`` option."""
    source = source or request.input
    return open_pdf(source.path, source.name, request.options.get("password"), request.limits)


def _stem(source: InputFile) -> str:
    return PurePosixPath(source.name).stem or "document"


def _assemble(parts: list[tuple[pikepdf.Pdf, list[int]]]) -> pikepdf.Pdf:
    """A new PDF of the pages ``(pdf, 0-based indexes)``, in that order, form fields kept."""
    result = pikepdf.new()
    for pdf, indexes in parts:
        result.add_pages_from(pdf, indexes)
    return result


def merge(request: ConversionRequest) -> list[Output]:
    """The inputs' pages one after the other (natural name order unless ``order=given``)."""
    sources = ordered(request.inputs, [i.name for i in request.inputs], request.options["order"])
    with ExitStack() as stack:
        pdfs = [stack.enter_context(_open(request, source)) for source in sources]
        total = sum(len(pdf.pages) for pdf in pdfs)
        if total > request.limits.max_pages:
            raise FileTooLarge(
                f"the merged PDF would have {total} pages, more than the limit of {request.limits.max_pages}",
                pages=total,
                limit=request.limits.max_pages,
            )
        with engine_errors("merged.pdf"):
            result = stack.enter_context(_assemble([(pdf, list(range(len(pdf.pages)))) for pdf in pdfs]))
        name = f"{_stem(sources[0])}-merged.pdf" if len(sources) == 1 else "merged.pdf"
        return [save_pdf(result, request, name)]


def split(request: ConversionRequest) -> list[Output]:
    """One PDF per range of ``ranges``, else per ``every`` pages: ``<stem>-part001.pdf``, ..."""
    source = request.input
    outputs = []
    with _open(request) as pdf:
        count = len(pdf.pages)
        ranges = request.options.get("ranges")
        parts = (
            [parse_pages(text, count, "ranges") for text in ranges]
            if ranges
            else chunks(count, request.options["every"])
        )
        width = max(3, len(str(len(parts))))
        for number, indexes in enumerate(parts, start=1):
            with engine_errors(source.name), _assemble([(pdf, indexes)]) as part:
                outputs.append(save_pdf(part, request, f"{_stem(source)}-part{number:0{width}d}.pdf"))
            request.progress(number / len(parts))
    return outputs


def extract_pages(request: ConversionRequest) -> list[Output]:
    """A PDF of the ``pages`` chosen, in the order written ("3,1-2" puts page 3 first)."""
    if not request.options.get("pages"):
        raise InvalidOption("extract-pages needs the option 'pages' (e.g. \"1-3,5\")", option="pages")
    with _open(request) as pdf:
        indexes = parse_pages(request.options["pages"], len(pdf.pages))
        with engine_errors(request.input.name), _assemble([(pdf, indexes)]) as result:
            return [save_pdf(result, request, request.input.name)]


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


def encrypt(request: ConversionRequest) -> list[Output]:
    """AES-256 (R6): ``user_password`` opens, ``owner_password`` (default: the user's) rules."""
    user = request.options.get("user_password") or ""
    owner = request.options.get("owner_password") or user
    if not owner:
        raise InvalidOption("encrypt needs 'user_password' or 'owner_password'", option="user_password")
    allow = _permissions(request.options["permissions"])
    with _open(request) as pdf:
        encryption = pikepdf.Encryption(user=user, owner=owner, R=6, aes=True, allow=allow)
        return [save_pdf(pdf, request, request.input.name, encryption=encryption)]


def decrypt(request: ConversionRequest) -> list[Output]:
    """The same PDF without encryption (opened with ``password``)."""
    with _open(request) as pdf:
        return [save_pdf(pdf, request, request.input.name)]


def compress(request: ConversionRequest) -> list[Output]:
    """Object streams, recompressed streams and (``images``) photos re-encoded as JPEG when smaller.

    The bytes saved are reported in the final progress message.
    """
    before = request.input.path.stat().st_size
    with _open(request) as pdf:
        if request.options["images"]:
            with engine_errors(request.input.name):
                recompress_images(pdf, request.options["quality"], request.limits.max_pixels)
        out = save_pdf(
            pdf,
            request,
            request.input.name,
            object_stream_mode=pikepdf.ObjectStreamMode.generate,
            compress_streams=True,
            recompress_flate=True,
        )
    after = out.path.stat().st_size
    saved = before - after
    request.progress(1.0, f"saved {saved} bytes ({saved / before:.0%}): {before} -> {after}")
    return [out]


def linearize(request: ConversionRequest) -> list[Output]:
    """The same PDF linearized ("fast web view")."""
    with _open(request) as pdf:
        return [save_pdf(pdf, request, request.input.name, linearize=True)]


def rotate(request: ConversionRequest) -> list[Output]:
    """The chosen ``pages`` (default all) turned clockwise by ``angle`` (their /Rotate)."""
    with _open(request) as pdf:
        for index in parse_pages(request.options.get("pages"), len(pdf.pages)):
            with engine_errors(request.input.name):
                pdf.pages[index].rotate(request.options["angle"], relative=True)
        return [save_pdf(pdf, request, request.input.name)]


def watermark(request: ConversionRequest) -> list[Output]:
    """``text`` stamped on the chosen pages (Helvetica, ``opacity``, ``position``, ``font_size``)."""
    text = request.options.get("text")
    if not text:
        raise InvalidOption("watermark needs the option 'text'", option="text")
    options = request.options
    with _open(request) as pdf:
        for index in parse_pages(options.get("pages"), len(pdf.pages)):
            with engine_errors(request.input.name):
                stamp_text(
                    pdf, pdf.pages[index], text, options["opacity"], options["position"], options["font_size"]
                )
        return [save_pdf(pdf, request, request.input.name)]


#: option → XMP property (the document information dictionary follows the XMP)
_XMP = {"title": "dc:title", "author": "dc:creator", "subject": "dc:description", "keywords": "pdf:Keywords"}


def set_metadata(request: ConversionRequest) -> list[Output]:
    """``title``, ``author``, ``subject`` and ``keywords`` set in XMP and the info dictionary."""
    values = {key: request.options.get(key) for key in _XMP}
    if all(value is None for value in values.values()):
        raise InvalidOption(f"metadata needs at least one of {', '.join(_XMP)}", option="title")
    with _open(request) as pdf:
        with engine_errors(request.input.name), pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
            for key, value in values.items():
                if value is not None:
                    meta[_XMP[key]] = [value] if key == "author" else value
        return [save_pdf(pdf, request, request.input.name)]


def repair(request: ConversionRequest) -> list[Output]:
    """The PDF rewritten by qpdf: cross-reference table rebuilt, damaged objects dropped."""
    with _open(request) as pdf:
        return [save_pdf(pdf, request, request.input.name)]
