"""core's store suite (every backend's tests in core/tests/test_stores.py) against the S3 store.

The suite's tests take a ``store`` or a ``make_store`` fixture: they are taken over here as they
are, with those fixtures opening S3 stores, so the S3 store passes exactly what the others pass.
"""

from __future__ import annotations

import importlib.util
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conversio_s3.store import S3Store

from conversio.stores import ArtifactStore

_SUITE = Path(__file__).resolve().parents[3] / "core" / "tests" / "test_stores.py"
_spec = importlib.util.spec_from_file_location("conversio_core_store_suite", _SUITE)
assert _spec is not None and _spec.loader is not None
suite = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(suite)

#: Tests of the suite whose artifacts live 20 ms: less than the three round trips to an S3 server
#: that storing and reading one back take. ``test_s3_store.py`` runs them with a longer life.
TOO_BRIEF = {
    "test_expired_is_not_found_before_any_sweep",
    "test_cache_entry_with_an_expired_artifact_is_a_miss",
}
#: The suite's tests for every backend: those that ask for a store of the parametrised backend.
SHARED = {
    name: test
    for name, test in vars(suite).items()
    if name.startswith("test_")
    and name not in TOO_BRIEF
    and callable(test)
    and {"store", "make_store"} & set(inspect.signature(test).parameters)
}
globals().update(SHARED)


@pytest.fixture
def make_store(make_s3_store: Callable[..., S3Store]) -> Callable[..., ArtifactStore]:
    def make(default_ttl: float | None = None) -> ArtifactStore:
        return make_s3_store(default_ttl=default_ttl)

    return make


@pytest.fixture
def store(make_store: Callable[..., ArtifactStore]) -> ArtifactStore:
    return make_store()


def test_the_whole_shared_suite_is_taken_over() -> None:
    assert len(SHARED) >= 17, sorted(SHARED)
    assert set(vars(suite)) >= TOO_BRIEF
    assert {"test_put_stream_round_trip", "test_ttl_sets_expiry_and_sweep_deletes_only_expired"} <= set(
        SHARED
    )
    assert not [name for name in SHARED if name.startswith(("test_fs_", "test_memory_"))]


def test_the_s3_store_follows_the_protocol(store: Any) -> None:
    assert isinstance(store, ArtifactStore)
