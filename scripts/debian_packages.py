"""Print the Debian packages the distributions of this repository declare, on one line.

A distribution declares them in its ``pyproject.toml``::

    [tool.conversio]
    debian-packages = ["libreoffice-core", "ffmpeg"]

With ``--bench``, also the tools the benchmarks compare conversio with, which the
workspace's own ``pyproject.toml`` declares as ``bench-debian-packages``.

Runs with the system Python (3.11+, standard library only) before any venv exists.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def declared_packages(root: Path = ROOT, *, bench: bool = False) -> list[str]:
    """Every package declared by core/ and plugins/conversio-*/ (and with ``bench`` the
    benchmarks' tools), sorted, without duplicates."""
    projects = [root / "core", *sorted((root / "plugins").glob("conversio-*"))]
    packages: set[str] = set()
    for project in projects:
        packages.update(_declared(project / "pyproject.toml", "debian-packages"))
    if bench:
        packages.update(_declared(root / "pyproject.toml", "bench-debian-packages"))
    return sorted(packages)


def _declared(pyproject: Path, key: str) -> list[str]:
    """``[tool.conversio] <key>`` of ``pyproject`` (none if the file is absent)."""
    if not pyproject.is_file():
        return []
    try:
        config = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        sys.exit(f"{pyproject}: {exc}")
    declared = config.get("tool", {}).get("conversio", {}).get(key, [])
    if not isinstance(declared, list) or not all(isinstance(p, str) for p in declared):
        sys.exit(f"{pyproject}: [tool.conversio] {key} must be a list of strings")
    return declared


if __name__ == "__main__":
    print(" ".join(declared_packages(bench="--bench" in sys.argv[1:])))
