"""The shared real-world corpus (``../shared/corpus`` beside the repository)."""

from __future__ import annotations

import csv
import os
from pathlib import Path


def corpus_dir() -> Path | None:
    """``CONVERSIO_CORPUS``, else ``shared/corpus`` next to the repository; None if absent."""
    env = os.environ.get("CONVERSIO_CORPUS")
    if env:  # an explicit setting is the answer, even when the folder is absent
        candidates = [Path(env)]
    else:
        here = Path(__file__).resolve()
        candidates = [parent.parent / "shared" / "corpus" for parent in here.parents]
        candidates.append(Path.cwd().parent / "shared" / "corpus")
    for candidate in candidates:
        if (candidate / "MANIFEST.tsv").is_file():
            return candidate
    return None


def corpus_manifest() -> list[dict[str, str]]:
    """The rows of ``MANIFEST.tsv`` (empty when there is no corpus)."""
    root = corpus_dir()
    if root is None:
        return []
    with (root / "MANIFEST.tsv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def corpus_files(kind: str) -> list[tuple[Path, dict[str, str]]]:
    """``(path, manifest row)`` for every corpus file under ``kind/`` (``images``, ...)."""
    root = corpus_dir()
    if root is None:
        return []
    return [(root / row["path"], row) for row in corpus_manifest() if row["path"].startswith(f"{kind}/")]
