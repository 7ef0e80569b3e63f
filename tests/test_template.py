"""The plugin template works as a third party would use it.

Renders ``plugins/_template`` as ``acme``, installs it as a real (non-editable)
distribution next to core in a fresh venv, and uses it through the CLI.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_render() -> ModuleType:
    spec = importlib.util.spec_from_file_location("template_render", ROOT / "plugins/_template/render.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


render: Callable[[str, Path], Path] = _load_render().render


def _tool(name: str) -> str:
    """A tool from this interpreter's venv, else from PATH."""
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is needed for this test (it is in the integration env's deps)")
    return found


def _env(tmp: Path) -> dict[str, str]:
    """A clean environment: no active venv, no plugin policy, a private store."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONVERSIO_", "VIRTUAL_ENV", "PYTHON"))}
    env["CONVERSIO_STORE"] = (tmp / "store").as_uri()
    return env


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 120) -> str:
    result = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    shown = " ".join(cmd)
    assert result.returncode == 0, f"{shown} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def acme(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    """(rendered plugin folder, bin folder of a venv with core + conversio-acme installed, env)."""
    tmp = tmp_path_factory.mktemp("template")
    plugin = render("acme", tmp / "conversio-acme")
    env = _env(tmp)
    uv = _tool("uv")
    venv = tmp / "venv"
    _run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], tmp, env)
    install = [uv, "pip", "install", "--quiet", "--python", str(venv / "bin/python")]
    install += [f"{ROOT / 'core'}[testing]", str(plugin), "pytest-timeout"]
    # The uv cache usually holds every dependency: try without the network first.
    offline = subprocess.run([*install, "--offline"], env=env, capture_output=True, timeout=300, check=False)
    if offline.returncode != 0:
        _run(install, tmp, env, timeout=300)
    return plugin, venv / "bin", env


def test_render_rejects_bad_names_and_used_folders(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="lowercase"):
        render("Acme-Corp", tmp_path / "a")
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "file").write_text("x")
    with pytest.raises(FileExistsError):
        render("acme", tmp_path / "used")


def test_render_fills_every_placeholder(tmp_path: Path) -> None:
    plugin = render("acme", tmp_path / "conversio-acme")
    files = [p for p in plugin.rglob("*") if p.is_file()]
    assert plugin / "src/conversio_acme/plugin.py" in files
    assert plugin / "tests/test_csv_json.py" in files
    for path in files:
        assert "{{" not in path.as_posix()
        assert "{{" not in path.read_text(encoding="utf-8"), path
    assert 'acme = "conversio_acme.plugin"' in (plugin / "pyproject.toml").read_text()


@pytest.mark.slow
def test_rendered_code_is_lint_clean(acme: tuple[Path, Path, dict[str, str]]) -> None:
    plugin, _, env = acme
    ruff = _tool("ruff")
    config = str(ROOT / "pyproject.toml")
    _run([ruff, "check", "--no-cache", "--config", config, "."], plugin, env)
    _run([ruff, "format", "--no-cache", "--check", "--config", config, "."], plugin, env)


@pytest.mark.slow
def test_installed_as_a_real_distribution(acme: tuple[Path, Path, dict[str, str]]) -> None:
    plugin, bin_dir, env = acme
    probe = (
        "import conversio_acme as p, importlib.metadata as m; print(p.__file__, m.version('conversio-acme'))"
    )
    location, version = _run([str(bin_dir / "python"), "-c", probe], plugin.parent, env).split()
    assert "site-packages" in location and not location.startswith(str(plugin))
    assert version == "0.1.0"


@pytest.mark.slow
def test_cli_lists_and_uses_the_plugin(acme: tuple[Path, Path, dict[str, str]], tmp_path: Path) -> None:
    _, bin_dir, env = acme
    listing = _run([str(bin_dir / "conversio"), "plugins"], tmp_path, env)
    acme_lines = [line for line in listing.splitlines() if "acme" in line.split()]
    assert acme_lines and "loaded" in acme_lines[0], listing

    (tmp_path / "sample.csv").write_text("name,qty\nbolt,12\nnut,30\n", encoding="utf-8")
    cli = str(bin_dir / "conversio")
    _run([cli, "convert", "sample.csv", "--to", "json", "-o", "out.json"], tmp_path, env)
    assert json.loads((tmp_path / "out.json").read_text(encoding="utf-8")) == [
        {"name": "bolt", "qty": "12"},
        {"name": "nut", "qty": "30"},
    ]


@pytest.mark.slow
def test_rendered_plugin_tests_pass(acme: tuple[Path, Path, dict[str, str]]) -> None:
    plugin, bin_dir, env = acme
    output = _run([str(bin_dir / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"], plugin, env, 300)
    assert " passed" in output and "failed" not in output
