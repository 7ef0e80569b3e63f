"""The public names: ``conversio`` (lazy, one list) and ``conversio.plugin`` (what authors import)."""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import conversio
import conversio.plugin

INIT = Path(conversio.__file__)


def _imported_modules(code: str) -> set[str]:
    probe = f"import sys\n{code}\nimport json; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return {m for m in json.loads(result.stdout) if m.startswith("conversio")}


def test_the_lazy_map_and_the_imports_for_type_checkers_agree() -> None:
    """``conversio/__init__.py`` lists each name once; its TYPE_CHECKING imports must match."""
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    guarded = next(n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING")
    imported: dict[str, str] = {}
    for node in guarded.body:
        assert isinstance(node, ast.ImportFrom) and node.module is not None
        for alias in node.names:
            assert alias.asname == alias.name, f"re-export {alias.name} as itself for type checkers"
            imported[alias.name] = node.module
    assert imported == conversio._MODULE_OF
    assert sorted(conversio.__all__) == sorted(imported)


def test_every_public_name_resolves_to_its_definition() -> None:
    for name, module in conversio._MODULE_OF.items():
        assert getattr(conversio, name) is getattr(importlib.import_module(module), name)
    assert set(conversio.__all__) <= set(dir(conversio))


def test_import_conversio_imports_no_submodule() -> None:
    assert _imported_modules("import conversio") == {"conversio"}


def test_every_name_of_conversio_plugin_resolves() -> None:
    assert len(conversio.plugin.__all__) == len(set(conversio.plugin.__all__))
    for name in conversio.plugin.__all__:
        assert getattr(conversio.plugin, name) is not None, name
    for name in ("hookimpl", "ConverterRegistrar", "FormatRegistrar", "StoreRegistrar", "ConverterSpec"):
        assert name in conversio.plugin.__all__
    # the registrars are re-exported, not moved
    assert conversio.plugin.ConverterRegistrar.__module__ == "conversio.registry"


def test_conversio_plugin_imports_no_engine_router_or_host() -> None:
    """Every plugin's ``plugin.py`` imports it whenever conversio starts: it must stay light."""
    loaded = _imported_modules("import conversio.plugin")
    heavy = {"conversio.api", "conversio.routing", "conversio.plugins", "conversio.sniffing"}
    assert not loaded & heavy
    assert not {m for m in loaded if m.startswith(("conversio.engine", "conversio.testing"))}
