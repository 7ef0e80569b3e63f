"""The converter functions: a page (HTML, a bundle, a web address, Markdown) to PDF or an image.

Each loads the input (:func:`~conversio_chromium.inputs.load_source`), hands the browser work to
this process's warm Chromium (:mod:`~conversio_chromium.browser`), and checks what came back
before writing it: a PDF whole and within ``Limits.max_pages``, an image of the format asked.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

from conversio.converters import ConversionRequest, Output, with_extension
from conversio.errors import ConversionFailed, EmptyFile, FileTooLarge
from conversio_chromium.browser import chromium
from conversio_chromium.inputs import Source, load_source
from conversio_chromium.page import check_options, loaded_page, too_slow
from conversio_chromium.paper import pdf_arguments
from conversio_chromium.render import IMAGE_FORMATS, capture, clip_rectangle, render_pdf
from conversio_chromium.watchdog import Watchdog

if TYPE_CHECKING:
    from playwright.sync_api import Browser

T = TypeVar("T")
log = logging.getLogger("conversio.chromium")

#: A page object (``/Type /Page``, not ``/Pages``). Chromium's PDFs (Skia's writer) use no object
#: streams, so every page dictionary is visible in the file: counting them needs no PDF library.
_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")
#: The first bytes of each image format Chromium encodes.
_SIGNATURES = {"png": (b"\x89PNG\r\n\x1a\n",), "jpg": (b"\xff\xd8\xff",), "webp": (b"RIFF",)}


def print_pdf(request: ConversionRequest) -> list[Output]:
    """The page printed to PDF, as the options ask."""
    arguments = pdf_arguments(request.options)
    source = _source(request)

    def work(browser: Browser, dog: Watchdog) -> bytes:
        with loaded_page(browser, source, request.options, dog) as page:
            request.progress(0.6, "printing")
            return render_pdf(page, source, arguments, bool(request.options.get("omit_background")))

    data = _run(request, source, work)
    pages = len(_PAGE.findall(data))
    if not data.startswith(b"%PDF-") or b"%%EOF" not in data[-1024:] or pages == 0:
        raise ConversionFailed(f"printing {source.name} gave no complete PDF")
    if pages > request.limits.max_pages:
        raise FileTooLarge(
            f"{source.name} printed to {pages} pages, more than the limit of {request.limits.max_pages}",
            limit="max_pages",
            maximum=request.limits.max_pages,
        )
    return [_write(request, "pdf", data)]


def screenshot(request: ConversionRequest) -> list[Output]:
    """A screenshot of the page (the viewport, the whole page or a clip) as PNG, JPEG or WebP."""
    options, target = request.options, request.target
    clip = clip_rectangle(options["clip"]) if options.get("clip") else None
    source = _source(request)
    viewport = (int(options["width"]), int(options["height"]))
    scale = float(options["device_scale"])

    def work(browser: Browser, dog: Watchdog) -> bytes:
        with loaded_page(browser, source, options, dog, viewport=viewport, device_scale=scale) as page:
            request.progress(0.6, "capturing")
            return capture(page, source, target, options, request.limits, clip)

    data = _run(request, source, work)
    if not data.startswith(_SIGNATURES[target]) or (target == "webp" and data[8:12] != b"WEBP"):
        raise ConversionFailed(f"capturing {source.name} gave no {IMAGE_FORMATS[target].upper()} image")
    return [_write(request, target, data)]


def _source(request: ConversionRequest) -> Source:
    """The input to load, once the options are known to be usable."""
    check_options(request.options)
    item = request.input
    if item.path.stat().st_size == 0:
        raise EmptyFile(f"{item.name} is empty (0 bytes): there is nothing to render", format=request.source)
    return load_source(request)


def _run(request: ConversionRequest, source: Source, work: Callable[[Browser, Watchdog], T]) -> T:
    """``work`` on the warm browser, its failures in the user's terms."""
    limits = request.limits
    request.progress(0.05, "Chromium")

    def guarded(browser: Browser, dog: Watchdog) -> T:
        with _browser_errors(request, source, dog):
            return work(browser, dog)

    result = chromium().run(
        guarded, timeout=limits.step_timeout("chromium"), memory_cap=limits.max_engine_memory
    )
    request.progress(0.95, "checking")
    return result


@contextmanager
def _browser_errors(request: ConversionRequest, source: Source, dog: Watchdog) -> Iterator[None]:
    """The browser's own errors as conversio's: the watchdog's kill, a timeout, a crash."""
    from playwright.sync_api import Error, TimeoutError

    try:
        yield
    except TimeoutError:
        raise too_slow(source, dog) from None
    except Error as exc:
        if dog.fired == "memory":
            cap = request.limits.max_engine_memory
            raise FileTooLarge(
                f"{source.name} needs more memory than the limit of {cap // (1024 * 1024):,} MiB allows "
                "to render; make the page lighter",
                limit="max_engine_memory",
                maximum=cap,
            ) from None
        if dog.fired == "timeout":
            raise too_slow(source, dog) from None
        log.warning("Chromium failed on %s: %s", source.name, exc.message)
        crashed = "crash" in exc.message.lower()
        raise ConversionFailed(
            f"{source.name} could not be rendered: "
            + ("the browser's page crashed on it" if crashed else "the browser failed on it"),
            crashed=crashed,
        ) from None


def _write(request: ConversionRequest, extension: str, data: bytes) -> Output:
    out = request.output(with_extension(request.input.name, extension))
    out.path.write_bytes(data)
    request.progress(1.0)
    return out
