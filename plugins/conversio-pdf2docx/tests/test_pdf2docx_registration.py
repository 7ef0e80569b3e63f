"""conversio-pdf2docx is found through its entry point."""

from __future__ import annotations

from conversio.testing import make_conversio


def test_the_plugin_loads() -> None:
    app = make_conversio("conversio_pdf2docx.plugin", cache=False)
    try:
        assert "conversio_pdf2docx.plugin" in {p.name for p in app.plugins if p.status == "loaded"}
    finally:
        app.close()
