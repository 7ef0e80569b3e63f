"""The repository's tooling knows every plugin distribution (a new plugin is not silently untested)
and installs what the benchmarks compare with."""

from __future__ import annotations

import configparser
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = sorted(p for p in (ROOT / "plugins").glob("conversio-*") if (p / "pyproject.toml").is_file())
FAMILIES = [p.name.removeprefix("conversio-") for p in PLUGINS]


def _tox() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "tox.ini", encoding="utf-8")
    return parser


def test_every_plugin_has_its_own_tox_env() -> None:
    tox = _tox()
    env_list = {e.strip() for e in re.split(r"[,\s]+", tox["tox"]["env_list"]) if e.strip()}
    generative = next(s for s in tox.sections() if s.startswith("testenv:{"))
    own_envs = set(generative.removeprefix("testenv:{").removesuffix("}").split(","))
    all_plugin_deps = tox["plugins"]["deps"]
    for family in FAMILIES:
        assert family in env_list, f"add {family} to env_list in tox.ini"
        own_env = family in own_envs or tox.has_section(f"testenv:{family}")
        assert own_env, f"{family} has no testenv in tox.ini"
        assert f"plugins/conversio-{family}" in all_plugin_deps, f"add conversio-{family} to [plugins] deps"


def test_every_plugin_follows_the_naming_contract() -> None:
    for plugin, family in zip(PLUGINS, FAMILIES, strict=True):
        project = tomllib.loads((plugin / "pyproject.toml").read_text(encoding="utf-8"))["project"]
        assert project["name"] == f"conversio-{family}", plugin.name
        entry_points = project.get("entry-points", {}).get("conversio")
        assert entry_points == {family: f"conversio_{family}.plugin"}, f"{plugin.name}: entry point"
        assert (plugin / "src" / f"conversio_{family}" / "plugin.py").is_file(), f"{plugin.name}: plugin.py"
        assert (plugin / "README.md").is_file(), f"{plugin.name} has no README.md"
        assert list((plugin / "tests").glob("test_*.py")), f"{plugin.name} has no tests"


def test_the_set_up_installs_the_tools_the_benchmarks_compare_with() -> None:
    def packages(*options: str) -> set[str]:
        script = ROOT / "scripts" / "debian_packages.py"
        run = subprocess.run([sys.executable, script, *options], capture_output=True, text=True, check=True)
        return set(run.stdout.split())

    plain, bench = packages(), packages("--bench")
    assert {"ffmpeg", "python3-uno"} <= plain and not {"qpdf", "poppler-utils"} & plain
    assert bench == plain | {"qpdf", "poppler-utils"}
    benchmarks = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "bench").glob("bench_*.py"))
    for tool in ("qpdf", "pdftoppm"):  # each from a bench package: qpdf, poppler-utils
        assert f'shutil.which("{tool}")' in benchmarks
