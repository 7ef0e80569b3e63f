"""Print the Debian packages the distributions of this repository declare, on one line.

A distribution declares them in its ``pyproject.toml``::

    [tool.conversio]
    debian-packages = ["libreoffice-core", "ffmpeg"]

Runs with the system Python (3.11+, standard library only) before any venv exists.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def declared_packages(root: Path = ROOT) -> list[str]:
    """Every package declared by core/ and plugins/conversio-*/, sorted, without duplicates."""
    projects = [root / "core", *sorted((root / "plugins").glob("conversio-*"))]
    packages: set[str] = set()
    for project in projects:
        pyproject = project / "pyproject.toml"
        if not pyproject.is_file():
            continue
        try:
            config = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            sys.exit(f"{pyproject}: {exc}")
        declared = config.get("tool", {}).get("conversio", {}).get("debian-packages", [])
        if not isinstance(declared, list) or not all(isinstance(p, str) for p in declared):
            sys.exit(f"{pyproject}: [tool.conversio] debian-packages must be a list of strings")
        packages.update(declared)
    return sorted(packages)


if __name__ == "__main__":
    print(" ".join(declared_packages()))
