"""What the plugin declares, and what a missing LibreOffice gives; runs without LibreOffice."""

from __future__ import annotations

import pytest
from conversio_office.soffice import Office

import conversio
from conversio.errors import ConversioError

TEXT = ["docx", "doc", "odt", "rtf"]
SHEETS = ["xlsx", "xls", "ods", "csv"]
SLIDES = ["pptx", "ppt", "odp"]


def _ids(app: conversio.Conversio) -> set[str]:
    return {c.id for c in app.registry.converters.values() if c.plugin == "conversio_office.plugin"}


def test_every_edge_is_declared(app: conversio.Conversio) -> None:
    to_pdf = {f"office.libreoffice:{f}->pdf" for f in [*TEXT, "txt", "html", *SHEETS, *SLIDES]}
    between = {
        f"office.libreoffice:{a}->{b}"
        for family in (TEXT, SHEETS, SLIDES)
        for a in family
        for b in family
        if a != b
    }
    assert _ids(app) == to_pdf | between
    assert len(between) == 12 + 12 + 6


def test_options_fit_the_family(app: conversio.Conversio) -> None:
    specs = app.registry.converters
    assert set(specs["office.libreoffice:xlsx->pdf"].options.names) == {
        "pages", "pdfa", "tagged", "pdfua", "export_form_fields", "password", "landscape", "sheet"
    }  # fmt: skip
    assert "landscape" not in specs["office.libreoffice:pptx->pdf"].options
    assert "sheet" not in specs["office.libreoffice:docx->pdf"].options
    password = specs["office.libreoffice:docx->odt"].options.get("password")
    assert password.secret and "default" not in password.describe()
    assert "apt-get install" in specs["office.libreoffice:docx->pdf"].install_hint


def test_router_prefers_the_direct_edge(app: conversio.Conversio) -> None:
    assert [s.converter for s in app.route("pptx", "pdf").steps] == ["office.libreoffice:pptx->pdf"]
    assert [s.converter for s in app.route("csv", "xls").steps] == ["office.libreoffice:csv->xls"]


def test_missing_libreoffice_is_missing_dependency(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVERSIO_OFFICE_SOFFICE", "/nonexistent/soffice")
    with pytest.raises(ConversioError) as info:
        Office().start()
    assert info.value.code == "MISSING_DEPENDENCY"
    assert "apt-get install" in info.value.message and "libreoffice-writer-nogui" in info.value.message
