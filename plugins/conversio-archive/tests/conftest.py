"""Fixtures of the conversio-archive tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import conversio
from conversio.testing import make_conversio

PLUGIN = "conversio_archive.plugin"


@pytest.fixture
def app() -> Iterator[conversio.Conversio]:
    """conversio with only the built-in plugin and this one, inline, in memory, without a cache."""
    instance = make_conversio(PLUGIN, cache=False)
    yield instance
    instance.close()
