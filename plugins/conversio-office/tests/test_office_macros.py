"""Macros never run: a spreadsheet whose own Basic function writes a file when it is evaluated.

The control loads it the way a converter that leaves macros on does, and the file
appears. conversio's conversion leaves no file: with all of its hardening, with the
load-time ``MacroExecutionMode`` as the only layer left, and with the profile's
settings as the only layer left.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pikepdf
import pytest
from conversio_office import soffice
from office_samples import write_ods_with_macro

import conversio
from conversio.testing import make_conversio

UNO_LOAD_WITH_MACROS = Path(__file__).with_name("uno_load_with_macros.py")


@pytest.fixture
def macro_document(tmp_path: Path) -> tuple[Path, Path]:
    marker = tmp_path / "macro-ran.txt"
    return write_ods_with_macro(tmp_path / "macro.ods", marker), marker


def office_with(monkeypatch: pytest.MonkeyPatch, settings: dict[tuple[str, str], str]) -> soffice.Office:
    """A separate warm soffice whose fresh profile gets only ``settings``; conversio uses it."""
    office = soffice.Office()
    monkeypatch.setattr(soffice, "PROFILE_SETTINGS", settings)
    monkeypatch.setattr(soffice, "_OFFICE", office)
    return office


@pytest.fixture
def bare_office(monkeypatch: pytest.MonkeyPatch) -> Iterator[soffice.Office]:
    office = office_with(monkeypatch, {})
    yield office
    office.stop()


def load_letting_macros_run(office: soffice.Office, document: Path) -> None:
    """Load ``document`` in ``office`` from a pyuno client that allows macros.

    The pyuno client process has been seen to die of SIGSEGV on a loaded CI machine; a
    client that dies of a signal before it reports the load is run again (three tries).
    """
    office.ensure()
    for _ in range(3):
        done = subprocess.run(
            ["/usr/bin/python3", str(UNO_LOAD_WITH_MACROS), office.pipe, document.as_uri()],
            check=False,
            timeout=120,
            capture_output=True,
            text=True,
        )
        if done.returncode >= 0:
            break
    assert done.returncode == 0 and "loaded" in done.stdout, f"the pyuno client failed: {done!r}"


def convert(document: Path) -> None:
    app = make_conversio("conversio_office.plugin", cache=False)
    try:
        result = app.convert(document, to="pdf").run()
        with pikepdf.open(result.open()) as pdf:
            assert len(pdf.pages) == 1
    finally:
        app.close()


def test_control_the_macro_runs_where_macros_are_allowed(
    bare_office: soffice.Office, macro_document: tuple[Path, Path]
) -> None:
    document, marker = macro_document
    load_letting_macros_run(bare_office, document)
    assert marker.read_text().strip() == "macro ran"


def test_conversio_never_runs_it(app: conversio.Conversio, macro_document: tuple[Path, Path]) -> None:
    document, marker = macro_document
    [artifact] = app.convert(document, to="pdf").run().artifacts
    with pikepdf.open(app.store.open(artifact.id)) as pdf:
        assert len(pdf.pages) == 1
    assert not marker.exists()


def test_the_load_settings_alone_keep_it_from_running(
    bare_office: soffice.Office, macro_document: tuple[Path, Path]
) -> None:
    """The same bare profile as the control: only the bridge's load settings differ."""
    document, marker = macro_document
    convert(document)
    assert not marker.exists()


def test_the_profile_alone_keeps_it_from_running(
    monkeypatch: pytest.MonkeyPatch, macro_document: tuple[Path, Path]
) -> None:
    """conversio's macro settings in the profile hold even against a load that asks for macros to run
    (and with recalculation on load left on, so the function is evaluated)."""
    document, marker = macro_document
    scripting = "org.openoffice.Office.Common/Security/Scripting"
    macro_settings = {key: value for key, value in soffice.PROFILE_SETTINGS.items() if key[0] == scripting}
    assert len(macro_settings) >= 2
    office = office_with(monkeypatch, macro_settings)
    try:
        load_letting_macros_run(office, document)
    finally:
        office.stop()
    assert not marker.exists()
