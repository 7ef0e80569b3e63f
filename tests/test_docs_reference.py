"""The reference pages read completely in the repository: every public name has its entry, and
no page waits for a site build to fill a placeholder. (Whether the entries are current is
``docs/hooks/generated.py --check``, run by the docs env.)"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

import conversio
import conversio.plugin
import conversio.testing

ROOT = Path(__file__).resolve().parents[1]
API = (ROOT / "docs/reference/api.md").read_text(encoding="utf-8")


def _api_reference() -> ModuleType:
    spec = importlib.util.spec_from_file_location("api_reference", ROOT / "docs/hooks/api_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _section(title: str) -> str:
    return API.split(f"## {title}", 1)[1].split("\n## ", 1)[0]


def _entries(markdown: str) -> set[str]:
    return set(re.findall(r"^### `(\w+)`$", markdown, re.M))


def test_every_public_name_has_an_entry() -> None:
    assert _entries(_section("`conversio`")) == set(conversio.__all__)
    assert "Magic" in _entries(_section("`conversio`"))
    plugin = _section("`conversio.plugin`")
    also = re.search(r"^Also here, as described above: (.*)\.$", plugin, re.M)
    assert also is not None
    listed = set(re.findall(r"`(\w+)`", also.group(1)))
    assert listed | _entries(plugin) == set(conversio.plugin.__all__)
    assert listed <= set(conversio.__all__)
    assert _entries(_section("Testing kit")) == set(conversio.testing.__all__)


def test_no_page_holds_a_placeholder_for_the_site_build() -> None:
    for page in (ROOT / "docs").rglob("*.md"):
        assert not re.search(r"^:::", page.read_text(encoding="utf-8"), re.M), page.name


def test_a_public_name_without_a_docstring_stops_the_generator() -> None:
    reference = _api_reference()

    def undocumented(x: int) -> int:
        return x

    with pytest.raises(ValueError, match="undocumented has no docstring"):
        reference.describe("undocumented", undocumented, conversio)


def test_signatures_and_docstrings_read_as_markdown() -> None:
    reference = _api_reference()

    def shown(path: Path, *, tries: int = 3, name: str | None = None) -> list[str]:
        """Reads ``path`` with :class:`~conversio.api.Conversio`.

        More detail.
        """
        return []

    assert reference.signature("shown", shown) == (
        "shown(path: Path, *, tries: int = 3, name: str | None = None) -> list[str]"
    )
    entry = reference.describe("shown", shown, conversio)
    assert "Reads `path` with `Conversio`." in entry and "More detail" not in entry
