"""``StoreContract``: the behaviour every artifact store passes, built-in or third-party."""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest

from conversio.errors import ConversioError
from conversio.stores.base import Artifact, ArtifactStore

MiB = 1 << 20
#: ``make_store(default_ttl=None)``: a store; the fixture a :class:`StoreContract` subclass provides.
StoreFactory = Callable[..., ArtifactStore]

#: Ids no store may resolve: empty, path traversals, separators, a NUL byte, a very long one.
NOT_IDS = (
    "",
    ".",
    "..",
    "../../../../etc/passwd",
    "/etc/passwd",
    "a/b",
    "meta/../../outside",
    "..%2f..%2foutside",
    "0123456789abcdef/../x",
    "0123456789abcdefghijk\x00",
    "x" * 500,
)


def put_bytes(store: ArtifactStore, data: bytes, name: str = "a.bin", **kwargs: Any) -> str:
    """Store ``data`` as a ``bin`` artifact named ``name``; its id."""
    return store.put_stream(io.BytesIO(data), name=name, format="bin", **kwargs).id


def read_bytes(store: ArtifactStore, artifact_id: str) -> bytes:
    """The whole content of an artifact, read through ``open``."""
    with store.open(artifact_id) as stream:
        return stream.read()


def assert_not_found(call: Callable[[], object]) -> None:
    """``call()`` raises the ``FILE_NOT_FOUND`` error."""
    with pytest.raises(ConversioError) as caught:
        call()
    assert caught.value.code == "FILE_NOT_FOUND"


class StoreContract:
    """Subclass per store and provide a ``make_store`` fixture; pytest collects the tests.

    ``make_store(default_ttl=None)`` opens the store under test with that default retention (a
    bad one is ``INVALID_OPTION``). The store is empty when a test starts; the stores one test
    opens may share their artifacts. The tests that need no ``default_ttl`` take ``store``,
    ``make_store()``.
    """

    #: Seconds the artifacts of the expiry tests live: longer than storing one and reading it back
    #: take on a busy machine (a networked store's round trips included). The tests wait that long.
    brief_ttl: ClassVar[float] = 0.5

    @pytest.fixture
    def store(self, make_store: StoreFactory) -> ArtifactStore:
        return make_store()

    def _wait_until_expired(self, artifact: Artifact) -> None:
        assert artifact.expires is not None
        time.sleep(max(0.0, artifact.expires - time.time()) + 0.05)

    def test_store_follows_the_protocol(self, store: ArtifactStore) -> None:
        assert isinstance(store, ArtifactStore) and isinstance(store.url, str)

    def test_put_stream_round_trip(self, store: ArtifactStore) -> None:
        data = os.urandom(3 * MiB + 17)  # several chunks and a partial one
        before = time.time()
        artifact = store.put_stream(io.BytesIO(data), name="photo.png", format="png")
        assert (artifact.name, artifact.format, artifact.size) == ("photo.png", "png", len(data))
        assert artifact.sha256 == hashlib.sha256(data).hexdigest()
        assert before <= artifact.created <= time.time()
        assert artifact.expires is None
        assert store.get(artifact.id) == artifact
        assert read_bytes(store, artifact.id) == data
        with store.local_path(artifact.id) as path:
            assert path.read_bytes() == data
            assert stat.S_IMODE(path.stat().st_mode) & 0o222 == 0

    def test_empty_content_is_an_artifact_too(self, store: ArtifactStore) -> None:
        artifact = store.put_stream(io.BytesIO(b""), name="empty", format="txt")
        assert artifact.size == 0 and artifact.sha256 == hashlib.sha256(b"").hexdigest()
        assert read_bytes(store, artifact.id) == b""

    def test_ids_are_fresh_url_safe_tokens(self, store: ArtifactStore) -> None:
        ids = [put_bytes(store, b"same") for _ in range(50)]
        assert len(set(ids)) == 50
        assert all(re.fullmatch(r"[A-Za-z0-9_-]{22,}", i) for i in ids)

    def test_put_file_copies_and_leaves_the_source(self, store: ArtifactStore, tmp_path: Path) -> None:
        source = tmp_path / "in.txt"
        source.write_bytes(b"hello")
        artifact = store.put_file(source, name="in.txt", format="txt")
        assert read_bytes(store, artifact.id) == b"hello"
        assert source.read_bytes() == b"hello"
        source.write_bytes(b"changed afterwards")
        assert read_bytes(store, artifact.id) == b"hello"

    def test_put_file_move_takes_the_file(self, store: ArtifactStore) -> None:
        with store.scratch_dir() as scratch:
            produced = scratch / "out.txt"
            produced.write_bytes(b"converted")
            artifact = store.put_file(produced, name="out.txt", format="txt", move=True)
            assert not produced.exists()
        assert read_bytes(store, artifact.id) == b"converted"

    def test_share_is_a_copy_where_a_link_cannot_be(self, store: ArtifactStore, tmp_path: Path) -> None:
        source = tmp_path / "elsewhere"  # another filesystem for some stores; two links for none
        source.write_bytes(b"mine")
        os.link(source, tmp_path / "second-name")
        artifact = store.put_file(source, name="m.bin", format="bin", share=True)
        source.write_bytes(b"edited")
        assert read_bytes(store, artifact.id) == b"mine"

    def test_same_content_is_shared_and_survives_deleting_one(self, store: ArtifactStore) -> None:
        first = store.put_stream(io.BytesIO(b"twice"), name="one.txt", format="txt")
        second = store.put_stream(io.BytesIO(b"twice"), name="two.txt", format="txt")
        assert first.id != second.id and first.sha256 == second.sha256
        store.delete(first.id)
        assert_not_found(lambda: store.get(first.id))
        assert read_bytes(store, second.id) == b"twice"
        assert store.get(second.id).name == "two.txt"
        store.delete(second.id)
        assert_not_found(lambda: store.open(second.id))

    def test_delete_unknown_or_twice_is_not_found(self, store: ArtifactStore) -> None:
        artifact_id = put_bytes(store, b"x")
        store.delete(artifact_id)
        assert_not_found(lambda: store.delete(artifact_id))
        assert_not_found(lambda: store.delete("A" * 22))

    @pytest.mark.parametrize("bad_id", NOT_IDS)
    def test_ids_that_are_not_ids_are_not_found(self, store: ArtifactStore, bad_id: str) -> None:
        put_bytes(store, b"something stored")
        assert_not_found(lambda: store.get(bad_id))
        assert_not_found(lambda: store.open(bad_id))
        assert_not_found(lambda: store.local_path(bad_id).__enter__())
        assert_not_found(lambda: store.delete(bad_id))

    def test_ttl_sets_expiry_and_sweep_deletes_only_expired(self, store: ArtifactStore) -> None:
        short = store.put_stream(io.BytesIO(b"short"), name="s", format="bin", ttl=60)
        kept = store.put_stream(io.BytesIO(b"kept"), name="k", format="bin")
        assert short.expires == pytest.approx(short.created + 60)
        assert store.sweep(now=short.created + 59) == 0
        assert store.get(short.id) == short
        assert store.sweep(now=short.created + 61) == 1
        assert_not_found(lambda: store.get(short.id))
        assert_not_found(lambda: store.delete(short.id))
        assert read_bytes(store, kept.id) == b"kept"
        assert [a.id for a in store.list()] == [kept.id]

    def test_expired_is_not_found_before_any_sweep(self, store: ArtifactStore) -> None:
        artifact = store.put_stream(io.BytesIO(b"brief"), name="a.bin", format="bin", ttl=self.brief_ttl)
        assert read_bytes(store, artifact.id) == b"brief"
        self._wait_until_expired(artifact)
        assert_not_found(lambda: store.get(artifact.id))
        assert_not_found(lambda: store.open(artifact.id))
        assert_not_found(lambda: store.local_path(artifact.id).__enter__())
        assert list(store.list()) == []
        assert_not_found(lambda: store.delete(artifact.id))  # freed, yet reported as not there
        assert store.sweep() == 0  # delete already removed it

    def test_default_ttl_applies_unless_a_ttl_is_given(self, make_store: StoreFactory) -> None:
        store = make_store(default_ttl=100)
        by_default = store.put_stream(io.BytesIO(b"a"), name="a", format="bin")
        explicit = store.put_stream(io.BytesIO(b"b"), name="b", format="bin", ttl=5)
        assert by_default.expires == pytest.approx(by_default.created + 100)
        assert explicit.expires == pytest.approx(explicit.created + 5)

    @pytest.mark.parametrize("ttl", [0, -1, float("nan"), float("inf")])
    def test_bad_ttl_is_an_invalid_option(self, make_store: StoreFactory, ttl: float) -> None:
        with pytest.raises(ConversioError) as caught:
            put_bytes(make_store(), b"x", ttl=ttl)
        assert caught.value.code == "INVALID_OPTION"
        with pytest.raises(ConversioError) as caught:
            make_store(default_ttl=ttl)
        assert caught.value.code == "INVALID_OPTION"

    def test_list_gives_live_artifacts_oldest_first(self, store: ArtifactStore) -> None:
        ids = [put_bytes(store, f"item {i}".encode(), name=f"{i}.txt") for i in range(5)]
        assert [a.id for a in store.list()] == ids
        store.delete(ids[2])
        assert [a.name for a in store.list()] == ["0.txt", "1.txt", "3.txt", "4.txt"]

    def test_cache_maps_a_key_to_artifacts_while_they_all_live(self, store: ArtifactStore) -> None:
        ids = [put_bytes(store, b"page 1"), put_bytes(store, b"page 2")]
        assert store.cache_get("ab12") is None
        store.cache_put("ab12", ids)
        assert store.cache_get("ab12") == ids
        store.delete(ids[1])
        assert store.cache_get("ab12") is None
        store.cache_put("ab12", [ids[0]])  # a stale entry was removed; a new one works
        assert store.cache_get("ab12") == [ids[0]]

    def test_cache_entry_with_an_expired_artifact_is_a_miss(self, store: ArtifactStore) -> None:
        artifact = store.put_stream(io.BytesIO(b"x"), name="a.bin", format="bin", ttl=self.brief_ttl)
        store.cache_put("ff00", [artifact.id])
        self._wait_until_expired(artifact)
        assert store.cache_get("ff00") is None

    @pytest.mark.parametrize("key", ["", "../x", "not-hex", "a/b", "0" * 129])
    def test_cache_keys_must_be_hex(self, store: ArtifactStore, key: str) -> None:
        with pytest.raises(ValueError):
            store.cache_get(key)
        with pytest.raises(ValueError):
            store.cache_put(key, [])

    def test_scratch_dir_is_removed_afterwards(self, store: ArtifactStore) -> None:
        with store.scratch_dir() as scratch:
            (scratch / "nested" / "deep").mkdir(parents=True)
            (scratch / "nested" / "deep" / "f.txt").write_text("x")
            assert scratch.is_dir()
        assert not scratch.exists()

    def test_scratch_dir_is_removed_after_an_error(self, store: ArtifactStore) -> None:
        with pytest.raises(RuntimeError), store.scratch_dir() as scratch:
            (scratch / "f").write_text("x")
            raise RuntimeError("converter failed")
        assert not scratch.exists()
