"""Gotenberg's Chromium routes on conversio-chromium's converters: the form fields as the options of
``options.py`` (the contract: PDF_OPTIONS, SCREENSHOT_OPTIONS), Gotenberg's defaults where they differ
from conversio's (Letter paper, 0.39 in margins, an 800×600 screenshot), and the inputs as a page
bundle or a web address."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from conversio_server.gotenberg import steps
from conversio_server.gotenberg.forms import Form, Invalid, go_bool, go_duration, go_float, go_int, json_value
from conversio_server.gotenberg.sources import Sources, Work
from conversio_server.uploads import UploadedFile

#: A Gotenberg length: a number, in inches unless a unit follows.
_LENGTH = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(pt|px|in|mm|cm|pc)?")
#: Files of the PDF route that are not part of the page.
_HEADER, _FOOTER = "header.html", "footer.html"
#: Screenshot formats and conversio's names for them.
SCREENSHOT_FORMATS = {"png": "png", "jpeg": "jpg", "webp": "webp"}


def length(value: str) -> str:
    """A Gotenberg length as conversio-chromium's (picas, ``pc``, become points)."""
    match = _LENGTH.fullmatch(value.strip())
    if match is None:
        raise Invalid("not a length (a number, optionally followed by pt, px, in, mm, cm or pc)")
    number, unit = match.group(1), match.group(2) or "in"
    if unit == "pc":
        return f"{float(number) * 12:g}pt"
    return f"{number}{unit}"


def statuses(value: str) -> list[str]:
    """``failOn…HttpStatusCodes``: a JSON list of codes, where ``X99`` means all of ``X00-X99``."""
    codes = json_value(value)
    if not isinstance(codes, list) or not all(isinstance(c, int) and 100 <= c <= 599 for c in codes):
        raise Invalid("not a JSON list of HTTP status codes")
    return [f"{c - 99}-{c}" if c % 100 == 99 else str(c) for c in codes]


def _headers(value: str) -> list[str]:
    data = json_value(value)
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise Invalid("not a JSON object of header names and values")
    return [f"{name}: {text}" for name, text in data.items()]


def _cookies(value: str) -> list[str]:
    data = json_value(value)
    if not isinstance(data, list) or not all(
        isinstance(c, dict) and "name" in c and "value" in c for c in data
    ):
        raise Invalid("not a JSON list of cookies with a name and a value")
    return [f"{c['name']}={c['value']}" for c in data]


def _media(value: str) -> str:
    if value not in ("screen", "print"):
        raise Invalid("wrong value, expected either 'screen', 'print' or empty")
    return value


#: A form field, the option it sets, and how its value is read.
Field = tuple[str, str, Callable[[str], Any]]

#: How the page is loaded and checked (the PDF and screenshot routes).
PAGE_FIELDS: tuple[Field, ...] = (
    ("emulatedMediaType", "media", _media),
    ("waitDelay", "wait_delay", go_duration),
    ("waitForExpression", "wait_for_expression", str),
    ("waitForSelector", "wait_for_selector", str),
    ("userAgent", "user_agent", str),
    ("extraHttpHeaders", "headers", _headers),
    ("cookies", "cookies", _cookies),
    ("failOnHttpStatusCodes", "fail_on_status", statuses),
    ("failOnResourceHttpStatusCodes", "fail_on_resource_status", statuses),
    ("failOnResourceLoadingFailed", "fail_on_resource_loading_failed", go_bool),
    ("failOnConsoleExceptions", "fail_on_console_exceptions", go_bool),
    ("omitBackground", "omit_background", go_bool),
)
#: How the page is printed.
PDF_FIELDS: tuple[Field, ...] = (
    ("paperWidth", "paper_width", length),
    ("paperHeight", "paper_height", length),
    ("marginTop", "margin_top", length),
    ("marginBottom", "margin_bottom", length),
    ("marginLeft", "margin_left", length),
    ("marginRight", "margin_right", length),
    ("landscape", "landscape", go_bool),
    ("scale", "scale", go_float),
    ("nativePageRanges", "pages", str),
    ("printBackground", "print_background", go_bool),
    ("preferCssPageSize", "prefer_css_page_size", go_bool),
    ("generateDocumentOutline", "outline", go_bool),
    ("generateTaggedPdf", "tagged", go_bool),
)
#: Why ``pdfua`` is refused: Chromium tags the PDF, but does not make or check PDF/UA.
CHROMIUM_PDF_UA = (
    "Chromium tags its PDF (generateTaggedPdf) but does not make it PDF/UA; ask for "
    "generateTaggedPdf, or convert the document with the LibreOffice route's pdfua"
)
#: Gotenberg's defaults where conversio-chromium's differ: Letter paper, 0.39 in margins, untagged,
#: failing on a page that answers 4xx or 5xx (``[499, 599]``).
PDF_DEFAULTS: dict[str, Any] = {
    "paper_width": "8.5in",
    "paper_height": "11in",
    **{f"margin_{side}": "0.39in" for side in ("top", "bottom", "left", "right")},
    "tagged": False,
}
PAGE_DEFAULTS: dict[str, Any] = {"fail_on_status": ["400-499", "500-599"]}


def _given(form: Form, fields: tuple[Field, ...]) -> dict[str, Any]:
    """The options the form gives values for."""
    return {option: form.parse(name, parse, None) for name, option, parse in fields if form.has(name)}


def page_options(form: Form) -> dict[str, Any]:
    """How the page is loaded and checked: the fields the PDF and screenshot routes share."""
    options = {**PAGE_DEFAULTS, **_given(form, PAGE_FIELDS)}
    status = form.text("waitWindowStatus")
    if status and "wait_for_expression" not in options:
        options["wait_for_expression"] = f"window.status === {json.dumps(status)}"
    for name in ("ignoreResourceHttpStatusDomains", "emulatedMediaFeatures"):
        if form.has(name):
            form.refuse(name, "conversio-chromium has no such option")
    return options


def pdf_options(form: Form) -> dict[str, Any]:
    """The options of ``chromium:*->pdf``: page loading, then paper, margins and printing."""
    options = {**page_options(form), **PDF_DEFAULTS, **_given(form, PDF_FIELDS)}
    if options.get("omit_background") and not options.get("print_background"):
        form.problems.append("omitBackground requires printBackground set to true")
    if form.parse("singlePage", go_bool, False):
        form.refuse("singlePage", "conversio-chromium prints pages of the paper size")
    for name in ("resetFormFieldsOnPdfStart", "resetFormFieldsOnPdfEnd"):
        if form.parse(name, go_bool, False):
            form.refuse(name, "conversio-chromium prints form fields as the page shows them")
    for name, option in ((_HEADER, "header_html"), (_FOOTER, "footer_html")):
        part = form.file(name)
        if part is not None:
            options[option] = part.path.read_text("utf-8", errors="replace")
    return options


def screenshot_options(form: Form) -> tuple[str, dict[str, Any]]:
    """The target format and the options of ``chromium:*->png|jpg|webp``."""
    options = page_options(form)
    fmt = form.text("format", "png")
    if fmt not in SCREENSHOT_FORMATS:
        form.problems.append(
            f"form field 'format' is invalid (got '{fmt}', resulting to wrong value, "
            "expected either 'png', 'jpeg' or 'webp')"
        )
    options["width"] = form.parse("width", go_int, 800)
    options["height"] = form.parse("height", go_int, 600)
    options["full_page"] = not form.parse("clip", go_bool, False)
    options.update(_given(form, (("optimizeForSpeed", "optimize_for_speed", go_bool),)))
    quality = form.parse("quality", go_int, 100)
    if fmt != "png":
        options["quality"] = quality
    return SCREENSHOT_FORMATS.get(fmt, "png"), options


def _page_files(form: Form, markdown: bool) -> list[UploadedFile]:
    """The page's files (``index.html`` first; with ``markdown`` at least one ``.md``), without the
    header and footer templates."""
    form.required_file("index.html")
    if markdown:
        form.files_with((".md",))
    return [part for name, part in form.files.items() if name not in (_HEADER, _FOOTER)]


def _web_address(url: str) -> bool:
    try:
        parts = urlsplit(url)
        return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return False


def _source(form: Form, sources: Sources, kind: str) -> tuple[Any, ...]:
    """The one input of a route: the ``url`` field, or the uploaded page (``html``, ``markdown``)."""
    if kind == "url":
        url = form.required("url")
        if url and not _web_address(url):
            form.problems.append(f"form field 'url' is invalid (got '{url}', want an http or https URL)")
        return (sources.address(url),)
    return (sources.page(_page_files(form, markdown=kind == "markdown")),)


def convert(form: Form, sources: Sources, kind: str) -> Work:
    """``/forms/chromium/convert/{kind}``: the page printed to PDF, then the PDF steps."""
    options = pdf_options(form)
    inputs = _source(form, sources, kind)
    after = steps.after(form, CHROMIUM_PDF_UA)
    form.validate()
    return Work(inputs, "pdf", options, tuple(after))


def screenshot(form: Form, sources: Sources, kind: str) -> Work:
    """``/forms/chromium/screenshot/{kind}``: the page captured as PNG, JPEG or WebP."""
    target, options = screenshot_options(form)
    inputs = _source(form, sources, kind)
    form.validate()
    return Work(inputs, target, options)
