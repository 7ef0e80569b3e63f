"""conversio's ConverterContract for each kind of Chromium converter."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import ClassVar

from conversio.testing import ConverterContract

PLUGIN = "conversio_chromium.plugin"
#: Registration must load none of the engine's modules (they start Playwright and Chromium).
HEAVY = (
    "conversio_chromium.convert",
    "conversio_chromium.browser",
    "conversio_chromium.page",
    "conversio_chromium.render",
    "playwright",
    "playwright.sync_api",
)
PAGE = "<!doctype html><title>Sample</title><h1>A sample page</h1><p>Printed by the contract.</p>"


class ChromiumContract(ConverterContract):
    plugin = PLUGIN
    heavy_modules = HEAVY
    source: ClassVar[str] = "html"

    def make_sample(self, tmp_path: Path) -> Path:
        path = tmp_path / "sample.html"
        path.write_text(PAGE)
        return path

    def make_corrupt(self, tmp_path: Path) -> Path | None:
        return None  # any bytes are some page


class TestHtmlToPdf(ChromiumContract):
    converter_id = "chromium:html->pdf"
    options: ClassVar[dict[str, object]] = {"paper": "letter", "print_background": True}


class TestHtmlToPng(ChromiumContract):
    converter_id = "chromium:html->png"
    options: ClassVar[dict[str, object]] = {"width": 640, "height": 480}


class TestHtmlToJpg(ChromiumContract):
    converter_id = "chromium:html->jpg"
    options: ClassVar[dict[str, object]] = {"full_page": False}


class TestHtmlToWebp(ChromiumContract):
    converter_id = "chromium:html->webp"


class TestMarkdownToPdf(ChromiumContract):
    converter_id = "chromium:md->pdf"
    source = "md"

    def make_sample(self, tmp_path: Path) -> Path:
        path = tmp_path / "sample.md"
        path.write_text("# A sample\n\n- [x] done\n- [ ] to do\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
        return path


class TestBundleToPdf(ChromiumContract):
    converter_id = "chromium:htmlz->pdf"
    source = "htmlz"
    corrupt_codes = ("CORRUPT_FILE",)

    def make_sample(self, tmp_path: Path) -> Path:
        path = tmp_path / "sample.htmlz"
        with zipfile.ZipFile(path, "w") as bundle:
            bundle.writestr("index.html", '<link rel=stylesheet href="style.css">' + PAGE)
            bundle.writestr("style.css", "h1 { color: #036 }")
        return path

    def make_corrupt(self, tmp_path: Path) -> Path | None:
        return ConverterContract.make_corrupt(self, tmp_path)
