"""A new plugin project works as its author would use it, outside this repository.

In a fresh venv, core is installed from this repository (as a wheel, so the template comes
from the package data), writes ``conversio-acme`` with :func:`conversio.scaffold.create`, and
the project is installed editable (``pip install -e '.[test]'``); then the project's own tests
run and the plugin is used through the CLI. Offline: uv takes every dependency from its cache,
filled when the tox envs were built.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
Installed = tuple[Path, Path, dict[str, str]]


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
def acme(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """(project folder, bin folder of a venv with core installed from a wheel and the project
    installed editable, env). The project is written by that installed core, as an author
    outside this repository would write it."""
    tmp = tmp_path_factory.mktemp("template")
    env = _env(tmp)
    uv = _tool("uv")
    venv = tmp / "venv"
    python = str(venv / "bin/python")
    _run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], tmp, env)
    install = [uv, "pip", "install", "--quiet", "--offline", "--python", python]
    _run([*install, str(ROOT / "core")], tmp, env, timeout=300)
    write = "import pathlib; from conversio.scaffold import create; print(create('acme', pathlib.Path()))"
    project = tmp / _run([python, "-c", write], tmp, env).strip()
    _run([*install, "-e", f"{project}[test]"], tmp, env, timeout=300)
    return project, venv / "bin", env


@pytest.mark.slow
def test_the_project_is_lint_clean(acme: Installed) -> None:
    project, _, env = acme
    ruff = _tool("ruff")
    config = str(ROOT / "pyproject.toml")
    _run([ruff, "check", "--no-cache", "--config", config, "."], project, env)
    _run([ruff, "format", "--no-cache", "--check", "--config", config, "."], project, env)


@pytest.mark.slow
def test_the_projects_own_tests_pass(acme: Installed) -> None:
    project, bin_dir, env = acme
    pytest_cmd = [str(bin_dir / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    output = _run(pytest_cmd, project, env, timeout=300)
    assert " passed" in output and "failed" not in output and "error" not in output


@pytest.mark.slow
def test_the_plugin_is_the_projects_source_and_core_a_distribution(acme: Installed) -> None:
    project, bin_dir, env = acme
    probe = (
        "import conversio, conversio_acme as p, importlib.metadata as m; "
        "print(conversio.__file__, p.__file__, m.version('conversio-acme'))"
    )
    core, plugin, version = _run([str(bin_dir / "python"), "-c", probe], project.parent, env).split()
    assert "site-packages" in core and not core.startswith(str(ROOT))
    assert Path(plugin) == project / "src/conversio_acme/__init__.py"  # editable: edits apply at once
    assert version == "0.1.0"


@pytest.mark.slow
def test_the_cli_lists_and_uses_the_plugin(acme: Installed, tmp_path: Path) -> None:
    _, bin_dir, env = acme
    listing = _run([str(bin_dir / "conversio"), "plugins"], tmp_path, env)
    acme_lines = [line for line in listing.splitlines() if "acme" in line.split()]
    assert acme_lines and "loaded" in acme_lines[0], listing
    described = _run([str(bin_dir / "conversio"), "converters", "--from", "csv", "--json"], tmp_path, env)
    [spec] = [c for c in json.loads(described) if c["id"] == "acme.stdlib:csv->json"]
    assert spec["install_hint"] == "pip install conversio-acme"  # from the distribution, not the code

    (tmp_path / "sample.csv").write_text("name,qty\nbolt,12\nnut,30\n", encoding="utf-8")
    cli = str(bin_dir / "conversio")
    _run([cli, "convert", "sample.csv", "--to", "json", "-o", "out.json"], tmp_path, env)
    assert json.loads((tmp_path / "out.json").read_text(encoding="utf-8")) == [
        {"name": "bolt", "qty": "12"},
        {"name": "nut", "qty": "30"},
    ]
