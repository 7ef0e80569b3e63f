"""Shared fixtures for the cross-plugin tests: a real app with every installed plugin."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

import conversio


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[conversio.Conversio]:
    """Every installed plugin, a filesystem store in a temp folder, two worker processes."""
    store = tmp_path_factory.mktemp("store")
    with conversio.Conversio(store=store.as_uri(), workers=2) as instance:
        yield instance


def _photo(path: Path, size: tuple[int, int] = (320, 200), colour: str = "orange") -> Path:
    """A small photo-like image: a gradient with shapes."""
    img = Image.linear_gradient("L").resize(size).convert("RGB")
    draw = ImageDraw.Draw(img)
    draw.ellipse((size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2), fill=colour)
    draw.rectangle((10, 10, 60, 40), fill="navy")
    img.save(path)
    return path


@pytest.fixture
def photo() -> Callable[..., Path]:
    """``photo(path, size=(320, 200), colour="orange")`` writes a photo-like image."""
    return _photo


@pytest.fixture
def run_cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``run_cli(*args, cwd=...)`` runs ``python -m conversio`` with a store in ``cwd``."""
    return _run_cli


def _run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed ``conversio`` command as a user would (store in ``cwd``)."""
    full_env = {**os.environ, "CONVERSIO_STORE": (cwd / ".store").as_uri(), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "conversio", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
