"""Fixtures of the conversio-chromium tests: a real Chromium; skipped where it is not installed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pypdfium2
import pytest
from PIL import Image

import conversio
from conversio.errors import ConversioError, MissingDependency
from conversio.limits import Limits
from conversio.testing import make_conversio

PLUGIN = "conversio_chromium.plugin"
#: Test files that need no browser.
BROWSER_FREE = {
    "test_chromium_registration.py",
    "test_chromium_inputs.py",
    "test_chromium_markdown.py",
}


def _chromium_ready() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
        from conversio_chromium.browser import find_chromium

        find_chromium()
    except (ImportError, MissingDependency):
        return False
    return True


CHROMIUM = _chromium_ready()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if CHROMIUM:
        return
    skip = pytest.mark.skip(reason="Chromium (or Playwright) is not installed")
    for item in items:
        if "conversio-chromium" in str(item.path) and item.path.name not in BROWSER_FREE:
            item.add_marker(skip)


@pytest.fixture
def app() -> Iterator[conversio.Conversio]:
    """conversio with only the built-in plugin and this one, inline, in memory, without a cache."""
    instance = make_conversio(PLUGIN, cache=False, limits=Limits(timeout=20))
    yield instance
    instance.close()


Convert = Callable[..., Path]


@pytest.fixture
def convert(app: conversio.Conversio, tmp_path: Path) -> Convert:
    """``convert(html, to, name="page.html", **options)``: the path of the converted file."""

    def run(html: str | bytes, to: str, name: str = "page.html", **options: Any) -> Path:
        source = tmp_path / name
        source.write_bytes(html.encode() if isinstance(html, str) else html)
        [path] = app.convert(source, to=to, options=options or None).save(tmp_path / f"out-{to}/")
        return path

    return run


def refused(convert: Convert, html: str, to: str = "pdf", **options: Any) -> ConversioError:
    """The error converting ``html`` gives (the test fails if it converts)."""
    with pytest.raises(ConversioError) as info:
        convert(html, to, **options)
    return info.value


def pdf_pages(path: Path) -> list[tuple[float, float, str]]:
    """Each page of a PDF: its width and height in points, and its text."""
    document = pypdfium2.PdfDocument(path)
    try:
        pages = []
        for page in document:
            width, height = page.get_size()
            pages.append((round(width, 1), round(height, 1), page.get_textpage().get_text_range()))
        return pages
    finally:
        document.close()


def pdf_pixel(path: Path, x: float, y: float, page: int = 0) -> tuple[int, ...]:
    """The colour of a PDF page at ``x``, ``y`` (fractions of its width and height), rendered."""
    document = pypdfium2.PdfDocument(path)
    try:
        image = document[page].render(scale=0.5).to_pil().convert("RGB")
        pixel = image.getpixel((int(image.width * x), int(image.height * y)))
        assert isinstance(pixel, tuple)
        return pixel
    finally:
        document.close()


def image(path: Path) -> Image.Image:
    """The decoded image at ``path``."""
    opened = Image.open(path)
    opened.load()
    return opened
