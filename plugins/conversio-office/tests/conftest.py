"""Fixtures of the conversio-office tests; everything is skipped when LibreOffice is absent."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import conversio
from conversio.testing import make_conversio

PLUGIN = "conversio_office.plugin"


def _libreoffice_ready() -> bool:
    if shutil.which("soffice") is None or not Path("/usr/bin/python3").exists():
        return False
    probe = subprocess.run(["/usr/bin/python3", "-c", "import uno"], capture_output=True, check=False)
    return probe.returncode == 0


LIBREOFFICE = _libreoffice_ready()
#: Test files that run without LibreOffice.
OFFICE_FREE = {"test_office_registration.py", "test_office_sweep.py", "test_office_bridge.py"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if LIBREOFFICE:
        return
    skip = pytest.mark.skip(reason="LibreOffice (soffice and python3-uno) is not installed")
    for item in items:
        if "conversio-office" in str(item.path) and item.path.name not in OFFICE_FREE:
            item.add_marker(skip)


@pytest.fixture
def app() -> Iterator[conversio.Conversio]:
    """conversio with only the built-in plugin and this one, inline, in memory, without a cache."""
    instance = make_conversio(PLUGIN, cache=False)
    yield instance
    instance.close()
