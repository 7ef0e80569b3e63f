"""Fake installed distributions for the plugin tests.

A distribution is real to importlib_metadata: a ``<name>.dist-info`` folder (METADATA with its
requirements, entry_points.txt) beside the plugin's package in a temporary folder put on
``sys.path``. A subprocess finds them with that folder on its ``PYTHONPATH``.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import pytest

_counter = itertools.count()


class Distributions:
    """``distribute(dist, {entry point: package source or None for a broken import})`` installs a
    fake distribution (``files`` go into each package, ``requires`` into its metadata) and returns
    {entry point name: package name}. Packages are unique per call and forgotten afterwards."""

    def __init__(self, site: Path) -> None:
        self.site = site
        self.packages: list[str] = []

    def __call__(
        self,
        distribution: str,
        plugins: Mapping[str, str | None],
        *,
        files: Mapping[str, str] | None = None,
        requires: Iterable[str] = (),
        version: str = "1.2.3",
    ) -> dict[str, str]:
        names = {}
        lines = ["[conversio]"]
        for entry, source in plugins.items():
            package = f"fakeplugin_{entry}_{next(_counter)}"
            folder = self.site / package
            folder.mkdir()
            body = source if source is not None else "import conversio_engine_that_is_not_installed\n"
            (folder / "__init__.py").write_text(body)
            for name, text in (files or {}).items():
                (folder / name).write_text(text)
            lines.append(f"{entry} = {package}")
            names[entry] = package
            self.packages.append(package)
        info = self.site / f"{distribution.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        metadata = ["Metadata-Version: 2.1", f"Name: {distribution}", f"Version: {version}"]
        metadata += [f"Requires-Dist: {requirement}" for requirement in requires]
        (info / "METADATA").write_text("\n".join(metadata) + "\n")
        (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
        return names


@pytest.fixture
def distribute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Distributions]:
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    made = Distributions(site)
    yield made
    for name in list(sys.modules):
        if name.split(".")[0] in made.packages:
            del sys.modules[name]
