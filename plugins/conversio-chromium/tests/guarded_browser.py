"""A real Chromium launched as the engine launches it (the guard's switches and proxy), and pages
loaded in fresh guarded contexts, for tests that look at the guard's :class:`Watch` itself."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pypdfium2
from conversio_chromium import network
from conversio_chromium.browser import find_chromium, launch_flags
from conversio_chromium.inputs import Site, Source
from playwright.sync_api import Browser, Page, sync_playwright


@contextmanager
def guarded_browser() -> Iterator[Browser]:
    """Chromium with the engine's flags and the network guard's proxy, closed after the block."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=find_chromium(), args=launch_flags(), proxy=network.launch_proxy()
        )
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def guarded_page(
    browser: Browser,
    source: Source,
    *,
    headers: Sequence[str] = (),
    cookies: Sequence[str] = (),
    settle_ms: int = 1500,
    ignore_https_errors: bool = False,
) -> Iterator[tuple[Page, network.Watch]]:
    """``source`` loaded in a fresh context the guard is attached to (as the engine makes one),
    then given ``settle_ms`` for its scripts; the page and what its requests came to."""
    context = browser.new_context(
        service_workers="block", accept_downloads=False, ignore_https_errors=ignore_https_errors
    )
    try:
        watch = network.attach(context, source, headers=headers, cookies=cookies)
        page = context.new_page()
        page.goto(source.address, timeout=15_000)
        page.wait_for_timeout(settle_ms)
        yield page, watch
    finally:
        context.close()


def site(html: str, **files: bytes) -> Source:
    """A page served from memory with its other files by path (``**{"css/a.css": b"..."}``)."""
    return Source("page.html", site=Site({"index.html": html.encode(), **files}))


def pdf_text(page: Page) -> str:
    """The page printed to PDF, as the text pdfium reads back."""
    document = pypdfium2.PdfDocument(page.pdf())
    try:
        return "\n".join(p.get_textpage().get_text_range() for p in document)
    finally:
        document.close()
