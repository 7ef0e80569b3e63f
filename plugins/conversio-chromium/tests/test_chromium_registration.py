"""The plugin declares its formats and converters without importing an engine."""

from __future__ import annotations

import conversio


def test_html_prefers_chromium_and_docx_keeps_libreoffice() -> None:
    plan = conversio.route("html", "pdf")
    assert [step.converter for step in plan.steps] == ["chromium:html->pdf"]
    assert conversio.route("md", "pdf").steps[0].converter == "chromium:md->pdf"
