"""A new plugin project, written from the template shipped with conversio (``conversio plugin new``).

    create("acme", Path("."))   # writes ./conversio-acme and returns its path

The project is distribution ``conversio-acme``, package ``conversio_acme``, plugin ``acme``
(its entry point), with one converter (``acme.stdlib:csv->json``) and its tests: they pass
after ``pip install -e './conversio-acme[test]'``. Every ``{{name}}`` in the template's file
names and contents becomes the plugin name. Each template file ends in ``.tmpl`` (dropped when
written), so that no tool takes the template for code of conversio's own.
"""

from __future__ import annotations

import re
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from conversio.errors import InvalidRequest

PLACEHOLDER = "{{name}}"
SUFFIX = ".tmpl"
_NAME = re.compile(r"^[a-z][a-z0-9]{0,31}$")
#: Plugin names the core uses itself.
_RESERVED = frozenset({"builtin"})


def create(name: str, dest: Path) -> Path:
    """Write the plugin project ``name`` into ``dest/conversio-NAME`` and return that folder.

    A name that is not 1-32 lowercase letters and digits (first a letter), or a folder that
    already exists, is ``INVALID_REQUEST`` and nothing is written.
    """
    if not _NAME.match(name):
        raise InvalidRequest(
            f"plugin name {name!r} must be 1-32 lowercase letters and digits, first a letter "
            "(it also names the package, conversio_NAME)",
            name=name,
        )
    if name in _RESERVED:
        raise InvalidRequest(f"plugin name {name!r} is the core's own; choose another", name=name)
    target = Path(dest) / f"conversio-{name}"
    if target.exists():
        raise InvalidRequest(
            f"{target} already exists; choose another name or folder", name=name, folder=str(target)
        )
    for relative, text in _template():
        path = target / relative.replace(PLACEHOLDER, name).removesuffix(SUFFIX)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.replace(PLACEHOLDER, name), encoding="utf-8")
    return target


def _template() -> list[tuple[str, str]]:
    """(relative path, text) of every file of the template."""
    found: list[tuple[str, str]] = []

    def walk(folder: Traversable, prefix: str) -> None:
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.is_dir():
                walk(entry, f"{prefix}{entry.name}/")
            elif entry.name.endswith(SUFFIX):
                found.append((prefix + entry.name, entry.read_text(encoding="utf-8")))

    walk(files("conversio") / "scaffold_template", "")
    return found
