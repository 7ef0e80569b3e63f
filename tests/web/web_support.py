"""What the browser tests need besides Playwright: where Chromium is, where screenshots go.

Imports nothing of Playwright, so that conftest.py loads where it is missing.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

#: Screenshots of failed tests and of the main screens (git-ignored).
ARTIFACTS = Path(__file__).parent / "artifacts"
#: Debian's Chromium; ``CONVERSIO_CHROMIUM_EXECUTABLE`` names another.
DEBIAN_CHROMIUM = "/usr/lib/chromium/chromium"
#: A folder (such as ``docs/images``) that receives the documentation's screenshots when set.
SCREENSHOTS_ENV = "CONVERSIO_WEB_SCREENSHOTS"
#: The documentation's screenshots stay under this size (PNG, colours quantised).
MAX_DOC_IMAGE_BYTES = 150_000


@dataclass(frozen=True)
class Server:
    """A running `conversio serve`: its base ``url`` and the API ``key`` (``None`` in --dev mode)."""

    url: str
    key: str | None
    data_dir: Path

    def client(self) -> httpx.Client:
        """An HTTP client of the API with the key: checks behind the page's back."""
        headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def chromium_executable() -> str | None:
    """The Chromium to drive, or ``None`` when there is none."""
    named = os.environ.get("CONVERSIO_CHROMIUM_EXECUTABLE") or DEBIAN_CHROMIUM
    found = shutil.which(named)
    return found if found and os.access(found, os.X_OK) else None


def save_screenshot(shot: Any, name: str, **options: Any) -> Path:
    """Save a screenshot of ``shot`` (a Playwright page or locator) as ``artifacts/<name>.png``."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    shot.screenshot(path=str(path), **options)
    return path


def publish_screenshot(shot: Any, name: str, **options: Any) -> Path | None:
    """Save ``shot`` as an artifact and, when ``$CONVERSIO_WEB_SCREENSHOTS`` names a folder, as
    ``<folder>/web-<name>.png`` too, quantised to 256 colours to stay under 150 KB."""
    artifact = save_screenshot(shot, name, **options)
    folder = os.environ.get(SCREENSHOTS_ENV)
    if not folder:
        return None
    target = Path(folder) / f"web-{name}.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(artifact) as image:
        image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(target, optimize=True)
    size = target.stat().st_size
    if size > MAX_DOC_IMAGE_BYTES:
        raise AssertionError(f"{target.name} is {size} bytes, over {MAX_DOC_IMAGE_BYTES}")
    return target
