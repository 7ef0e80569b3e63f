"""The converter functions: office documents to PDF, and between editable formats."""

from __future__ import annotations

import re
from typing import Any

from conversio.converters import ConversionRequest, Output, with_extension
from conversio.errors import (
    ConversioError,
    ConversionFailed,
    CorruptFile,
    FileTooLarge,
    InvalidOption,
    InvalidPassword,
    UnsupportedFormat,
)
from conversio_office.catalogue import FORMATS
from conversio_office.pdfcheck import count_pages
from conversio_office.protection import is_protected
from conversio_office.soffice import office

#: A print-dialog page range: ``1-3,5,8-``.
_PAGES = re.compile(r"^\s*\d+\s*(-\s*\d*\s*)?(,\s*\d+\s*(-\s*\d*\s*)?)*$")
_ERRORS: dict[str, type[ConversioError]] = {
    "CORRUPT_FILE": CorruptFile,
    "INVALID_PASSWORD": InvalidPassword,
    "INVALID_OPTION": InvalidOption,
    "UNSUPPORTED_FORMAT": UnsupportedFormat,
}


def convert_to_pdf(request: ConversionRequest) -> list[Output]:
    """Print the document to PDF; the PDF is checked (header, end, at least one page)."""
    options = request.options
    pages = options.get("pages")
    if pages and not _PAGES.match(pages):
        raise InvalidOption(f"pages={pages!r} is not a page range like 1-3,5,8-", option="pages")
    out = _run(
        request,
        "pdf",
        {
            "export_filter": "pdf",
            "pages": pages.replace(" ", "") if pages else "",
            "pdfa": bool(options.get("pdfa")),
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
        raise CorruptFile(f"{item.name} is empty")
    out = request.output(with_extension(item.name, extension))
    job = {
        "input": item.path.resolve().as_uri(),
        "output": out.path.resolve().as_uri(),
        "import_filter": source.import_filter,
        "import_options": source.import_options,
        "password": request.options.get("password") or "",
        **export,
    }
    request.progress(0.05, "LibreOffice")
    answer = office().run(job, request.limits.timeout)
    error = answer.get("error")
    if error is not None:
        message = str(answer.get("message", ""))
        if error == "CORRUPT_FILE" and is_protected(item.path):
            given = bool(request.options.get("password"))
            raise InvalidPassword(
                f"{item.name} is password-protected" + (" and the password is wrong" if given else ""),
                password_given=given,
            )
        if error == "CORRUPT_FILE":
            message = f"LibreOffice cannot read {item.name} as {source.name}"
        raise _ERRORS.get(str(error), ConversionFailed)(message, format=source.name)
    request.progress(1.0)
    return out
