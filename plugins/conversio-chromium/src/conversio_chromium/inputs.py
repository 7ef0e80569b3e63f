"""What Chromium is given to load: web addresses (``url``), pages with their files (``htmlz``)."""

from __future__ import annotations

from pathlib import Path


def sniff(head: bytes, path: Path, name: str) -> str | None:
    """``url`` or ``htmlz`` when the file is one, else ``None``."""
    return None
