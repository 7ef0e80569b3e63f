"""The converter functions: office documents to PDF, and between editable formats."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

from conversio.converters import ConversionRequest, Output, with_extension
from conversio.errors import (
    ConversioError,
    ConversionFailed,
    CorruptFile,
    EmptyFile,
    FileTooLarge,
    InvalidOption,
    InvalidPassword,
    UnsupportedEncryption,
    UnsupportedFormat,
)
from conversio_office.catalogue import FORMATS, LABELS
from conversio_office.csvsniff import sniff
from conversio_office.pdfcheck import count_pages
from conversio_office.protection import is_protected, unsupported_encryption
from conversio_office.soffice import PREFIX, office
from conversio_office.staging import stage
from conversio_office.tagging import check_tagging

#: A print-dialog page range: ``1-3,5,8-``.
_PAGES = re.compile(r"^\s*\d+\s*(-\s*\d*\s*)?(,\s*\d+\s*(-\s*\d*\s*)?)*$")


def convert_to_pdf(request: ConversionRequest) -> list[Output]:
    """Print the document to PDF; the PDF is checked (header, end, at least one page, and with
    ``tagged`` or ``pdfua`` its tags: :mod:`~conversio_office.tagging`)."""
    options = request.options
    pages, pdfua = options.get("pages"), bool(options.get("pdfua"))
    if pages and not _PAGES.match(pages):
        raise InvalidOption(f"pages={pages!r} is not a page range like 1-3,5,8-", option="pages")
    out = _run(
        request,
        "pdf",
        {
            "export_filter": "pdf",
            "pages": pages.replace(" ", "") if pages else "",
            "pdfa": bool(options.get("pdfa")),
            "tagged": pdfua or bool(options.get("tagged")),
            "pdfua": pdfua,
            "title": Path(request.input.name).stem if pdfua else "",
            "export_form_fields": bool(options.get("export_form_fields")),
            "landscape": bool(options.get("landscape")),
            "sheets": list(options.get("sheet") or []),
        },
    )
    found = count_pages(out.path)
    if found > request.limits.max_pages:
        raise FileTooLarge(
            f"the PDF has {found} pages, more than the limit of {request.limits.max_pages}",
            limit="max_pages",
            maximum=request.limits.max_pages,
        )
    if pdfua or options.get("tagged"):
        check_tagging(out.path.read_bytes(), request.input.name, pdfua)
    return [out]


def convert_document(request: ConversionRequest) -> list[Output]:
    """Save the document in another editable format of its family."""
    target = FORMATS[request.target]
    out = _run(
        request,
        target.name,
        {"export_filter": target.export_filter, "export_options": target.export_options},
    )
    if not out.path.is_file() or out.path.stat().st_size == 0:
        raise ConversionFailed(f"LibreOffice wrote no {target.name} file")
    return [out]


def _run(request: ConversionRequest, extension: str, export: dict[str, Any]) -> Output:
    source = FORMATS.get(request.source)
    if source is None:
        raise UnsupportedFormat(f"conversio-office does not read {request.source}")
    item = request.input
    if item.path.stat().st_size == 0:
        raise EmptyFile(f"{item.name} is empty (0 bytes): there is nothing to convert", format=source.name)
    out = request.output(with_extension(item.name, extension))
    request.progress(0.05, "LibreOffice")
    with tempfile.TemporaryDirectory(prefix=f"{PREFIX}{os.getpid()}-in-") as folder:
        staged = stage(item.path, item.name, source.name, Path(folder))
        options = sniff(staged).filter_options() if source.name == "csv" else source.import_options
        job = {
            "input": staged.resolve().as_uri(),
            "output": out.path.resolve().as_uri(),
            "import_filter": source.import_filter,
            "import_options": options,
            "legacy_filters": list(source.legacy_filters),
            "password": request.options.get("password") or "",
            **export,
        }
        limits = request.limits
        answer = office().run(job, limits.step_timeout("office"), limits.max_engine_memory)
    if "error" in answer:
        raise _error(request, answer)
    request.progress(1.0)
    return out


def _error(request: ConversionRequest, answer: dict[str, Any]) -> ConversioError:
    """The bridge's failure in the user's terms: their file's name, what is wrong, what to do.

    The bridge's own message (UNO exception text, file URLs) is never passed on, except for
    the INVALID_OPTION messages the bridge words for users (the sheets there are)."""
    item, error = request.input, str(answer["error"])
    kind = LABELS.get(request.source, request.source)
    if error == "CRASHED":
        return ConversionFailed(
            f"converting {item.name} stopped unexpectedly: the office engine crashed on it", crashed=True
        )
    if error == "TOO_LARGE":
        cap = request.limits.max_engine_memory
        return FileTooLarge(
            f"{item.name} needs more memory than the limit of {cap // (1024 * 1024):,} MiB allows "
            "to convert; split it into smaller documents",
            limit="max_engine_memory",
            maximum=cap,
        )
    if error == "CORRUPT_FILE" and unsupported_encryption(item.path):
        return UnsupportedEncryption(
            f"{item.name} is encrypted in a way conversio cannot open, whatever the password; "
            "save it without a password (or as .pptx) and convert that",
            format=request.source,
        )
    if error == "CORRUPT_FILE" and is_protected(item.path):
        given = bool(request.options.get("password"))
        return InvalidPassword(
            f"{item.name} is password-protected"
            + (": the password is wrong" if given else ": give its password with the password option"),
            password_given=given,
        )
    if error == "CORRUPT_FILE":
        return CorruptFile(
            f"{item.name} cannot be opened: it is damaged, or it is not really {kind}", format=request.source
        )
    if error == "INVALID_OPTION":
        return InvalidOption(str(answer.get("message", "")), format=request.source)
    if error == "UNSUPPORTED_FORMAT":
        return UnsupportedFormat(f"{item.name} opened as a kind of document that cannot be printed")
    return ConversionFailed(
        f"{item.name} could not be converted to {request.target}; "
        "check that it opens in an office application",
        format=request.source,
    )
