"""Text of a scan through the engine without an OCR plugin: the refusal names the plugin to install.

With conversio-ocr installed the engine reroutes to it instead (tests/test_ocr_text_reroute.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pdf_samples import blank_pdf, mixed_pdf, scan_pdf

from conversio import Conversio
from conversio.errors import ConversioError
from conversio.plugins import PluginPolicy


@pytest.fixture
def app() -> Iterator[Conversio]:
    """conversio-pdf loaded from its entry point (so its distribution counts as installed), and no
    other plugin even where more are installed."""
    conversio = Conversio(policy=PluginPolicy(allow=frozenset({"pdf"})), executor="inline", store="memory://")
    yield conversio
    conversio.close()


def refusal(app: Conversio, path: Path) -> ConversioError:
    with pytest.raises(ConversioError) as info:
        app.convert(path, to="txt").run()
    return info.value


def test_a_scan_is_no_text_layer_naming_the_ocr_plugin(app: Conversio, tmp_path: Path) -> None:
    error = refusal(app, scan_pdf(tmp_path / "scan.pdf"))
    assert error.code == "NO_TEXT_LAYER"
    assert error.message == (
        "scan.pdf has no text layer: its pages are pictures (a scan?) whose text only OCR can read; "
        "install conversio-ocr to convert it another way"
    )
    assert error.details["suggestions"] == ["conversio-ocr"]
    assert (error.details["file"], error.details["pages"]) == ("scan.pdf", 2)


def test_blank_pages_are_final_and_suggest_nothing(app: Conversio, tmp_path: Path) -> None:
    error = refusal(app, blank_pdf(tmp_path / "blank.pdf"))
    assert error.code == "NO_TEXT_LAYER"
    assert error.message == "blank.pdf has no text to extract: its pages are blank"
    assert "suggestions" not in error.details


def test_a_mixed_document_keeps_its_text_pages_and_names_the_picture_page(
    app: Conversio, tmp_path: Path
) -> None:
    result = app.convert(mixed_pdf(tmp_path / "mixed.pdf"), to="txt").run()
    pages = result.read_bytes().decode().split("\f")
    assert [page.strip() for page in pages] == ["Page 1 one", "", "Page 3 three", ""]
    assert result.warnings == (
        "mixed.pdf: page 2 holds only pictures, no text (OCR would be needed); it is empty in the text",
    )
