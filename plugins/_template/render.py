"""Render the plugin skeleton into a new distribution folder.

    python plugins/_template/render.py acme plugins/conversio-acme

writes ``conversio-acme`` (package ``conversio_acme``, plugin name ``acme``,
converter ``acme.stdlib:csv->json``). Every ``{{name}}`` in the skeleton's
file names and contents becomes the plugin name.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

SKELETON = Path(__file__).resolve().parent / "skeleton"
PLACEHOLDER = "{{name}}"
_NAME = re.compile(r"^[a-z][a-z0-9]{0,31}$")


def render(name: str, dest: Path | str) -> Path:
    """Write the skeleton with ``name`` filled in to ``dest`` (which must not exist or be empty)."""
    if not _NAME.match(name):
        raise ValueError(f"plugin name {name!r}: use 1-32 lowercase letters and digits, first a letter")
    target = Path(dest)
    if target.exists() and any(target.iterdir()):
        raise FileExistsError(f"{target} exists and is not empty")
    for source in sorted(SKELETON.rglob("*")):
        if source.is_dir() or "__pycache__" in source.parts:
            continue
        relative = source.relative_to(SKELETON).as_posix().replace(PLACEHOLDER, name)
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source.read_text(encoding="utf-8").replace(PLACEHOLDER, name), encoding="utf-8")
    return target


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: render.py NAME DEST_DIR", file=sys.stderr)
        return 2
    try:
        target = render(argv[0], argv[1])
    except (ValueError, FileExistsError) as exc:
        print(f"render.py: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {target} (distribution conversio-{argv[0]}, package conversio_{argv[0]})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
