"""Hook implementations of conversio-chromium, and nothing else.

Declares the formats Chromium reads that core does not know (``url``, ``htmlz``) and the
converters by name; neither Chromium nor Playwright is imported until a conversion runs.
"""

from __future__ import annotations

from pathlib import Path

from conversio.converters import ConverterSpec
from conversio.formats import Format, Kind, Magic
from conversio.hookspecs import hookimpl
from conversio.registry import ConverterRegistrar, FormatRegistrar
from conversio_chromium.options import PDF_OPTIONS, SCREENSHOT_OPTIONS

ENGINE = "chromium"
INSTALL_HINT = (
    "pip install conversio-chromium, and Chromium: apt-get install --no-install-recommends chromium "
    "fonts-dejavu-core fonts-liberation2 fonts-noto-core fonts-noto-color-emoji"
)

#: What Chromium renders: a page, a page with its files, a web address, Markdown.
SOURCES = ("html", "htmlz", "url", "md")
SCREENSHOTS = ("png", "jpg", "webp")

URL = Format(
    "url",
    Kind.TEXT,
    "Web address (an http or https URL to load)",
    ("url", "uri"),
    ("text/uri-list", "application/x-url"),
    ("web",),
    (Magic(b"[InternetShortcut]"), Magic(b"\xef\xbb\xbf[InternetShortcut]")),
)
HTMLZ = Format(
    "htmlz",
    Kind.DOCUMENT,
    "HTML page with its files (a zip with index.html at its root)",
    ("htmlz",),
    ("application/x-htmlz",),
)


@hookimpl
def register_formats(formats: FormatRegistrar) -> None:
    formats.add(URL)
    formats.add(HTMLZ)


@hookimpl
def sniff_format(head: bytes, path: Path, name: str) -> str | None:
    from conversio_chromium.inputs import sniff  # a small module: no engine

    return sniff(head, path, name)


def all_specs() -> list[ConverterSpec]:
    """Each source printed to PDF and captured as a screenshot.

    Nothing converts to ``htmlz``: a zip is only ever a page with its files when it says so by
    its name (``site.htmlz``); a converter from zip would make every format reach htmlz through
    some zip, and a zip of documents has no page to print."""
    specs = [
        ConverterSpec(
            id=f"{ENGINE}:{source}->pdf",
            source=source,
            target="pdf",
            run="conversio_chromium.convert:print_pdf",
            options=PDF_OPTIONS,
            cost=2.0,  # below LibreOffice's html -> pdf (3.0): a browser prints web pages best
            lossy=True,
            install_hint=INSTALL_HINT,
            description=f"{source} printed to PDF by headless Chromium",
        )
        for source in SOURCES
    ]
    specs += [
        ConverterSpec(
            id=f"{ENGINE}:{source}->{target}",
            source=source,
            target=target,
            run="conversio_chromium.convert:screenshot",
            options=SCREENSHOT_OPTIONS,
            cost=2.0,
            lossy=True,
            install_hint=INSTALL_HINT,
            description=f"a screenshot of {source} as {target}, by headless Chromium",
        )
        for source in SOURCES
        for target in SCREENSHOTS
    ]
    return specs


@hookimpl
def register_converters(converters: ConverterRegistrar) -> None:
    for spec in all_specs():
        converters.add(spec)
