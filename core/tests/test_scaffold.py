"""``conversio.scaffold.create``: a new plugin project from the template shipped with core.

Installing the project and running its tests is tests/test_template.py's job (it builds a venv).
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

from conversio.errors import InvalidRequest
from conversio.scaffold import create


def _conversio_imports(path: Path) -> set[str]:
    """The conversio modules ``path`` imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m == "conversio" or m.startswith("conversio.")}


def test_the_project_is_written_with_every_placeholder_filled(tmp_path: Path) -> None:
    project = create("acme", tmp_path)
    assert project == tmp_path / "conversio-acme"
    files = sorted(p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file())
    assert files == [
        "README.md",
        "pyproject.toml",
        "src/conversio_acme/__init__.py",
        "src/conversio_acme/csv_json.py",
        "src/conversio_acme/plugin.py",
        "src/conversio_acme/py.typed",
        "tests/test_csv_json.py",
    ]
    for name in files:
        assert "{{" not in (project / name).read_text(encoding="utf-8"), name


def test_the_distribution_declares_its_entry_point_and_depends_on_conversio(tmp_path: Path) -> None:
    project = tomllib.loads((create("acme", tmp_path) / "pyproject.toml").read_text(encoding="utf-8"))
    meta = project["project"]
    assert meta["name"] == "conversio-acme"
    assert meta["entry-points"]["conversio"] == {"acme": "conversio_acme.plugin"}
    assert any(d.startswith("conversio>=") for d in meta["dependencies"])
    assert "conversio[testing]" in meta["optional-dependencies"]["test"]


def test_the_plugin_imports_conversio_only_through_conversio_plugin(tmp_path: Path) -> None:
    project = create("acme", tmp_path)
    for path in (project / "src").rglob("*.py"):
        assert _conversio_imports(path) <= {"conversio.plugin"}, path.name
    for path in (project / "tests").rglob("*.py"):  # and the public API and test kit in its tests
        assert _conversio_imports(path) <= {"conversio", "conversio.plugin", "conversio.testing"}, path.name


@pytest.mark.parametrize("name", ["Acme", "acme-corp", "acme_corp", "1acme", "", "a" * 33, "builtin"])
def test_a_bad_name_is_invalid_request_and_writes_nothing(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        create(name, tmp_path)
    assert info.value.details == {"name": name}
    reason = "is the core's own" if name == "builtin" else "must be 1-32 lowercase letters and digits"
    assert info.value.message.startswith(f"plugin name {name!r} {reason}")
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_invalid_request_and_left_alone(tmp_path: Path) -> None:
    (tmp_path / "conversio-acme").mkdir()
    (tmp_path / "conversio-acme" / "notes.txt").write_text("mine")
    with pytest.raises(InvalidRequest, match="conversio-acme already exists; choose another name or folder"):
        create("acme", tmp_path)
    assert [p.name for p in (tmp_path / "conversio-acme").iterdir()] == ["notes.txt"]
