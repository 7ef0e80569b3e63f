"""pytest fixtures shipped with conversio (registered through the ``pytest11`` entry point)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conversio.api import Conversio
from conversio.stores.base import ArtifactStore
from conversio.testing.corpus import corpus_dir
from conversio.testing.factory import make_conversio


def pytest_configure(config: pytest.Config) -> None:
    """The markers conversio's tests (and plugins' tests) use."""
    config.addinivalue_line("markers", "slow: takes more than a few seconds")
    config.addinivalue_line("markers", "corpus: uses the shared real-world corpus (skipped when absent)")


@pytest.fixture
def conversio_factory() -> Iterator[Callable[..., Conversio]]:
    """``conversio_factory(*plugins, **kwargs)``: a Conversio without entry points, closed after the test."""
    made: list[Conversio] = []

    def factory(*plugins: str | object, **kwargs: Any) -> Conversio:
        app = make_conversio(*plugins, **kwargs)
        made.append(app)
        return app

    yield factory
    for app in made:
        app.close()


@pytest.fixture
def memory_store() -> ArtifactStore:
    """A fresh in-memory artifact store."""
    from conversio.stores import open_memory_store

    return open_memory_store("memory://")


@pytest.fixture
def corpus() -> Path:
    """The shared real-world corpus folder; the test is skipped when it is absent."""
    root = corpus_dir()
    if root is None:
        pytest.skip("the shared corpus is not available")
    return root
