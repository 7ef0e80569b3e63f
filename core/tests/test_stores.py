"""The artifact stores: one behaviour suite run against every backend, then each backend's own."""

from __future__ import annotations

import hashlib
import io
import json
import multiprocessing
import os
import re
import signal
import stat
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, cast

import pytest

from conversio.errors import ConversioError, InsufficientStorage
from conversio.stores import ArtifactStore, open_filesystem_store, open_memory_store
from conversio.stores.base import Digest
from conversio.stores.filesystem import STALE_AFTER, FilesystemStore
from conversio.stores.memory import MemoryStore

MiB = 1 << 20
StoreFactory = Callable[..., ArtifactStore]


@pytest.fixture(params=["memory", "file"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    """Opens a store of the parametrised backend: ``make_store(default_ttl=...)``."""
    if request.param == "memory":
        return MemoryStore
    return lambda default_ttl=None: FilesystemStore(tmp_path / "store", default_ttl=default_ttl)


@pytest.fixture
def store(make_store: StoreFactory) -> ArtifactStore:
    return make_store()


@pytest.fixture
def fs(tmp_path: Path) -> FilesystemStore:
    return FilesystemStore(tmp_path / "store")


def put(store: ArtifactStore, data: bytes, name: str = "a.bin", **kwargs: Any) -> str:
    return store.put_stream(io.BytesIO(data), name=name, format="bin", **kwargs).id


def read(store: ArtifactStore, artifact_id: str) -> bytes:
    with store.open(artifact_id) as stream:
        return stream.read()


def assert_not_found(call: Callable[[], object]) -> None:
    with pytest.raises(ConversioError) as caught:
        call()
    assert caught.value.code == "FILE_NOT_FOUND"


def files_under(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())


# -- every backend ---------------------------------------------------------------------------


def test_factories_open_stores_that_follow_the_protocol(tmp_path: Path) -> None:
    memory = open_memory_store("memory://")
    disk = open_filesystem_store((tmp_path / "s").as_uri())
    assert isinstance(memory, ArtifactStore) and memory.url == "memory://"
    assert isinstance(disk, ArtifactStore) and disk.url == (tmp_path / "s").resolve().as_uri()


def test_put_stream_round_trip(store: ArtifactStore) -> None:
    data = os.urandom(3 * MiB + 17)  # several chunks and a partial one
    before = time.time()
    artifact = store.put_stream(io.BytesIO(data), name="photo.png", format="png")
    assert (artifact.name, artifact.format, artifact.size) == ("photo.png", "png", len(data))
    assert artifact.sha256 == hashlib.sha256(data).hexdigest()
    assert before <= artifact.created <= time.time()
    assert artifact.expires is None
    assert store.get(artifact.id) == artifact
    assert read(store, artifact.id) == data
    with store.local_path(artifact.id) as path:
        assert path.read_bytes() == data
        assert stat.S_IMODE(path.stat().st_mode) & 0o222 == 0


def test_empty_content_is_an_artifact_too(store: ArtifactStore) -> None:
    artifact = store.put_stream(io.BytesIO(b""), name="empty", format="txt")
    assert artifact.size == 0 and artifact.sha256 == hashlib.sha256(b"").hexdigest()
    assert read(store, artifact.id) == b""


def test_ids_are_fresh_url_safe_tokens(store: ArtifactStore) -> None:
    ids = [put(store, b"same") for _ in range(50)]
    assert len(set(ids)) == 50
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22,}", i) for i in ids)


def test_put_file_copies_and_leaves_the_source(store: ArtifactStore, tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_bytes(b"hello")
    artifact = store.put_file(source, name="in.txt", format="txt")
    assert read(store, artifact.id) == b"hello"
    assert source.read_bytes() == b"hello"
    source.write_bytes(b"changed afterwards")
    assert read(store, artifact.id) == b"hello"


def test_put_file_move_takes_the_file(store: ArtifactStore) -> None:
    with store.scratch_dir() as scratch:
        produced = scratch / "out.txt"
        produced.write_bytes(b"converted")
        artifact = store.put_file(produced, name="out.txt", format="txt", move=True)
        assert not produced.exists()
    assert read(store, artifact.id) == b"converted"


def test_same_content_is_shared_and_survives_deleting_one(store: ArtifactStore) -> None:
    first = store.put_stream(io.BytesIO(b"twice"), name="one.txt", format="txt")
    second = store.put_stream(io.BytesIO(b"twice"), name="two.txt", format="txt")
    assert first.id != second.id and first.sha256 == second.sha256
    store.delete(first.id)
    assert_not_found(lambda: store.get(first.id))
    assert read(store, second.id) == b"twice"
    assert store.get(second.id).name == "two.txt"
    store.delete(second.id)
    assert_not_found(lambda: store.open(second.id))


def test_delete_unknown_or_twice_is_not_found(store: ArtifactStore) -> None:
    artifact_id = put(store, b"x")
    store.delete(artifact_id)
    assert_not_found(lambda: store.delete(artifact_id))
    assert_not_found(lambda: store.delete("A" * 22))


TRAVERSALS = [
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
]


@pytest.mark.parametrize("bad_id", TRAVERSALS)
def test_ids_that_are_not_ids_are_not_found(store: ArtifactStore, bad_id: str) -> None:
    put(store, b"something stored")
    assert_not_found(lambda: store.get(bad_id))
    assert_not_found(lambda: store.open(bad_id))
    assert_not_found(lambda: store.local_path(bad_id).__enter__())
    assert_not_found(lambda: store.delete(bad_id))


def test_ttl_sets_expiry_and_sweep_deletes_only_expired(store: ArtifactStore) -> None:
    short = store.put_stream(io.BytesIO(b"short"), name="s", format="bin", ttl=60)
    kept = store.put_stream(io.BytesIO(b"kept"), name="k", format="bin")
    assert short.expires == pytest.approx(short.created + 60)
    assert store.sweep(now=short.created + 59) == 0
    assert store.get(short.id) == short
    assert store.sweep(now=short.created + 61) == 1
    assert_not_found(lambda: store.get(short.id))
    assert_not_found(lambda: store.delete(short.id))
    assert read(store, kept.id) == b"kept"
    assert [a.id for a in store.list()] == [kept.id]


def test_expired_is_not_found_before_any_sweep(store: ArtifactStore) -> None:
    artifact_id = put(store, b"brief", ttl=0.02)
    assert read(store, artifact_id) == b"brief"
    time.sleep(0.05)
    assert_not_found(lambda: store.get(artifact_id))
    assert_not_found(lambda: store.open(artifact_id))
    assert_not_found(lambda: store.local_path(artifact_id).__enter__())
    assert list(store.list()) == []
    assert_not_found(lambda: store.delete(artifact_id))  # freed, yet reported as not there
    assert store.sweep() == 0  # delete already removed it


def test_default_ttl_applies_unless_a_ttl_is_given(make_store: StoreFactory) -> None:
    store = make_store(default_ttl=100)
    by_default = store.put_stream(io.BytesIO(b"a"), name="a", format="bin")
    explicit = store.put_stream(io.BytesIO(b"b"), name="b", format="bin", ttl=5)
    assert by_default.expires == pytest.approx(by_default.created + 100)
    assert explicit.expires == pytest.approx(explicit.created + 5)


@pytest.mark.parametrize("ttl", [0, -1, float("nan"), float("inf")])
def test_bad_ttl_is_an_invalid_option(make_store: StoreFactory, ttl: float) -> None:
    with pytest.raises(ConversioError) as caught:
        put(make_store(), b"x", ttl=ttl)
    assert caught.value.code == "INVALID_OPTION"
    with pytest.raises(ConversioError) as caught:
        make_store(default_ttl=ttl)
    assert caught.value.code == "INVALID_OPTION"


def test_list_gives_live_artifacts_oldest_first(store: ArtifactStore) -> None:
    ids = [put(store, f"item {i}".encode(), name=f"{i}.txt") for i in range(5)]
    assert [a.id for a in store.list()] == ids
    store.delete(ids[2])
    assert [a.name for a in store.list()] == ["0.txt", "1.txt", "3.txt", "4.txt"]


def test_cache_maps_a_key_to_artifacts_while_they_all_live(store: ArtifactStore) -> None:
    ids = [put(store, b"page 1"), put(store, b"page 2")]
    assert store.cache_get("ab12") is None
    store.cache_put("ab12", ids)
    assert store.cache_get("ab12") == ids
    store.delete(ids[1])
    assert store.cache_get("ab12") is None
    store.cache_put("ab12", [ids[0]])  # a stale entry was removed; a new one works
    assert store.cache_get("ab12") == [ids[0]]


def test_cache_entry_with_an_expired_artifact_is_a_miss(store: ArtifactStore) -> None:
    artifact_id = put(store, b"x", ttl=0.02)
    store.cache_put("ff00", [artifact_id])
    time.sleep(0.05)
    assert store.cache_get("ff00") is None


@pytest.mark.parametrize("key", ["", "../x", "not-hex", "a/b", "0" * 129])
def test_cache_keys_must_be_hex(store: ArtifactStore, key: str) -> None:
    with pytest.raises(ValueError):
        store.cache_get(key)
    with pytest.raises(ValueError):
        store.cache_put(key, [])


def test_scratch_dir_is_removed_afterwards(store: ArtifactStore) -> None:
    with store.scratch_dir() as scratch:
        (scratch / "nested" / "deep").mkdir(parents=True)
        (scratch / "nested" / "deep" / "f.txt").write_text("x")
        assert scratch.is_dir()
    assert not scratch.exists()


def test_scratch_dir_is_removed_after_an_error(store: ArtifactStore) -> None:
    with pytest.raises(RuntimeError), store.scratch_dir() as scratch:
        (scratch / "f").write_text("x")
        raise RuntimeError("converter failed")
    assert not scratch.exists()


# -- the filesystem store ------------------------------------------------------------------


def test_fs_layout_blob_is_content_addressed_and_read_only(fs: FilesystemStore) -> None:
    artifact = fs.put_stream(io.BytesIO(b"content"), name="c.txt", format="txt")
    blob = fs.root / "blobs" / artifact.sha256[:2] / artifact.sha256
    assert blob.read_bytes() == b"content"
    assert stat.S_IMODE(blob.stat().st_mode) == 0o444
    meta = json.loads((fs.root / "meta" / f"{artifact.id}.json").read_text())
    assert meta == artifact.to_dict()
    assert (fs.root / "refs" / artifact.sha256 / artifact.id).is_file()
    assert list((fs.root / "tmp").iterdir()) == []


def test_fs_shares_one_blob_and_frees_it_with_the_last_artifact(fs: FilesystemStore) -> None:
    a, b = put(fs, b"shared"), put(fs, b"shared")
    sha = fs.get(a).sha256
    assert files_under(fs.root / "blobs") == [fs.root / "blobs" / sha[:2] / sha]
    fs.delete(a)
    assert (fs.root / "blobs" / sha[:2] / sha).is_file()
    fs.delete(b)
    assert files_under(fs.root / "blobs") == []
    assert list((fs.root / "refs").iterdir()) == []
    assert list((fs.root / "meta").iterdir()) == []


def test_fs_local_path_is_the_blob_itself(fs: FilesystemStore) -> None:
    artifact = fs.put_stream(io.BytesIO(b"no copy"), name="n", format="bin")
    with fs.local_path(artifact.id) as path:
        assert path.is_relative_to(fs.root)
        assert path == fs.root / "blobs" / artifact.sha256[:2] / artifact.sha256
    assert path.exists()  # nothing to clean up: it was never a copy


def test_fs_move_renames_without_copying(fs: FilesystemStore) -> None:
    with fs.scratch_dir() as scratch:
        produced = scratch / "out.bin"
        produced.write_bytes(os.urandom(2 * MiB))
        inode = produced.stat().st_ino
        artifact = fs.put_file(produced, name="out.bin", format="bin", move=True)
    with fs.local_path(artifact.id) as path:
        assert path.stat().st_ino == inode
        assert stat.S_IMODE(path.stat().st_mode) == 0o444


def test_fs_share_takes_the_file_as_its_copy_and_leaves_the_path(fs: FilesystemStore) -> None:
    with fs.scratch_dir() as scratch:
        upload = scratch / "upload"
        upload.write_bytes(b"shared content")
        artifact = fs.put_file(upload, name="u.bin", format="bin", share=True)
        assert upload.read_bytes() == b"shared content"  # still there for whoever reads it meanwhile
        with fs.local_path(artifact.id) as path:
            assert path.stat().st_ino == upload.stat().st_ino  # no copy
        again = fs.put_file(upload, name="v.bin", format="bin", share=True)  # known content: no new blob
        upload.unlink()
    assert again.sha256 == artifact.sha256
    assert read(fs, artifact.id) == read(fs, again.id) == b"shared content"
    assert not list((fs.root / "tmp").glob("link-*"))


def test_share_is_a_copy_where_a_link_cannot_be(store: ArtifactStore, tmp_path: Path) -> None:
    source = tmp_path / "elsewhere"  # another filesystem for the memory store; two links for neither
    source.write_bytes(b"mine")
    os.link(source, tmp_path / "second-name")
    artifact = store.put_file(source, name="m.bin", format="bin", share=True)
    source.write_bytes(b"edited")
    assert read(store, artifact.id) == b"mine"


def test_fs_move_takes_the_callers_digest_when_the_size_agrees(fs: FilesystemStore) -> None:
    with fs.scratch_dir() as scratch:
        (scratch / "a").write_bytes(b"hashed while written")
        vouched = Digest("ab" * 32, len(b"hashed while written"))
        taken = fs.put_file(scratch / "a", name="a", format="bin", move=True, digest=vouched)
        (scratch / "b").write_bytes(b"grew after it was hashed")
        stale = Digest("cd" * 32, 3)
        checked = fs.put_file(scratch / "b", name="b", format="bin", move=True, digest=stale)
    assert taken.sha256 == "ab" * 32  # not read again: the engine vouches for what it hashed
    assert checked.sha256 == hashlib.sha256(b"grew after it was hashed").hexdigest()
    assert read(fs, checked.id) == b"grew after it was hashed"


def test_fs_move_of_known_content_drops_the_new_file(fs: FilesystemStore) -> None:
    first = fs.put_stream(io.BytesIO(b"known"), name="1", format="bin")
    blob = fs.root / "blobs" / first.sha256[:2] / first.sha256
    inode = blob.stat().st_ino
    with fs.scratch_dir() as scratch:
        (scratch / "again").write_bytes(b"known")
        second = fs.put_file(scratch / "again", name="2", format="bin", move=True)
        assert not (scratch / "again").exists()
    assert second.sha256 == first.sha256 and blob.stat().st_ino == inode


def test_fs_move_copies_a_file_with_other_hard_links(fs: FilesystemStore, tmp_path: Path) -> None:
    original = tmp_path / "original"
    original.write_bytes(b"linked")
    os.link(original, tmp_path / "link")
    artifact = fs.put_file(tmp_path / "link", name="l", format="bin", move=True)
    assert not (tmp_path / "link").exists()
    assert stat.S_IMODE(original.stat().st_mode) != 0o444  # its inode did not become a blob
    original.write_bytes(b"edited")
    assert read(fs, artifact.id) == b"linked"


def test_fs_sweep_removes_expired_files_from_disk(fs: FilesystemStore) -> None:
    gone = fs.put_stream(io.BytesIO(b"expiring"), name="e", format="bin", ttl=10)
    kept = put(fs, b"kept")
    fs.cache_put("aa", [gone.id])
    fs.cache_put("bb", [kept])
    assert fs.sweep(now=gone.created + 11) == 1
    assert not (fs.root / "meta" / f"{gone.id}.json").exists()
    assert not (fs.root / "blobs" / gone.sha256[:2] / gone.sha256).exists()
    assert not (fs.root / "refs" / gone.sha256).exists()
    assert not (fs.root / "cache" / "aa.json").exists()
    assert fs.cache_get("bb") == [kept]
    assert read(fs, kept) == b"kept"


def test_fs_stale_cache_entry_is_removed_on_the_miss(fs: FilesystemStore) -> None:
    artifact_id = put(fs, b"x")
    fs.cache_put("c0ffee", [artifact_id])
    entry = fs.root / "cache" / "c0ffee.json"
    assert json.loads(entry.read_text()) == {"artifacts": [artifact_id]}
    fs.delete(artifact_id)
    assert fs.cache_get("c0ffee") is None
    assert not entry.exists()


def test_fs_crash_leftovers_never_become_ids_and_are_swept(fs: FilesystemStore) -> None:
    live = put(fs, b"live")
    orphan_sha = hashlib.sha256(b"orphan").hexdigest()
    orphan_blob = fs.root / "blobs" / orphan_sha[:2] / orphan_sha
    orphan_blob.parent.mkdir(exist_ok=True)
    orphan_blob.write_bytes(b"orphan")  # blob placed, then the crash: no reference, no metadata
    dangling = fs.root / "refs" / orphan_sha / "Zz_dangling_ref_000000"
    dangling.parent.mkdir()
    dangling.touch()  # reference written, then the crash: no metadata
    half_upload = fs.root / "tmp" / "put-halfway"
    half_upload.write_bytes(b"half")
    hour_ago = time.time() - 2 * STALE_AFTER
    os.utime(half_upload, (hour_ago, hour_ago))
    fresh_upload = fs.root / "tmp" / "put-just-started"
    fresh_upload.write_bytes(b"new")
    (fs.root / "meta" / "garbage.json").write_text("{not json")

    assert [a.id for a in fs.list()] == [live]
    assert_not_found(lambda: fs.get("Zz_dangling_ref_000000"))
    assert fs.sweep() == 0
    assert not orphan_blob.exists() and not dangling.parent.exists()
    assert not half_upload.exists() and fresh_upload.exists()
    assert not (fs.root / "meta" / "garbage.json").exists()
    assert read(fs, live) == b"live"


def test_fs_sweep_repairs_a_lost_reference(fs: FilesystemStore) -> None:
    artifact = fs.put_stream(io.BytesIO(b"x"), name="x", format="bin")
    ref = fs.root / "refs" / artifact.sha256 / artifact.id
    ref.unlink()
    fs.sweep()
    assert ref.is_file() and read(fs, artifact.id) == b"x"


def test_fs_sweep_leaves_a_scratch_dir_in_use_alone(fs: FilesystemStore) -> None:
    with fs.scratch_dir() as scratch:
        (scratch / "work").write_text("long conversion")
        fs.sweep(now=time.time() + 10 * STALE_AFTER)
        assert (scratch / "work").is_file()


def test_fs_metadata_outside_the_store_is_unreachable(fs: FilesystemStore, tmp_path: Path) -> None:
    artifact = fs.put_stream(io.BytesIO(b"real"), name="r", format="bin")
    decoy = dict(artifact.to_dict(), id="../../decoy")
    (tmp_path / "decoy.json").write_text(json.dumps(decoy))
    assert_not_found(lambda: fs.get("../../decoy"))
    assert_not_found(lambda: fs.get("../../../decoy"))


def test_fs_tampered_metadata_is_not_found(fs: FilesystemStore) -> None:
    artifact = fs.put_stream(io.BytesIO(b"x"), name="x", format="bin")
    meta = fs.root / "meta" / f"{artifact.id}.json"
    meta.write_text(json.dumps(dict(artifact.to_dict(), sha256="../../../etc/passwd")))
    assert_not_found(lambda: fs.open(artifact.id))
    meta.write_text(json.dumps(dict(artifact.to_dict(), id="other_id_0000000000000")))
    assert_not_found(lambda: fs.get(artifact.id))


def test_fs_missing_blob_is_not_found(fs: FilesystemStore) -> None:
    artifact = fs.put_stream(io.BytesIO(b"x"), name="x", format="bin")
    (fs.root / "blobs" / artifact.sha256[:2] / artifact.sha256).unlink()
    assert_not_found(lambda: fs.open(artifact.id))
    assert_not_found(lambda: fs.local_path(artifact.id).__enter__())


def test_fs_stores_are_shared_between_instances(fs: FilesystemStore) -> None:
    artifact_id = put(fs, b"visible elsewhere")
    other = FilesystemStore.from_url(fs.url)
    assert other.root == fs.root
    assert read(other, artifact_id) == b"visible elsewhere"


def test_fs_from_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert FilesystemStore.from_url((tmp_path / "abs").as_uri()).root == tmp_path / "abs"
    assert FilesystemStore.from_url(f"file://localhost{tmp_path}/h").root == tmp_path / "h"
    assert FilesystemStore.from_url((tmp_path / "with space").as_uri()).root == tmp_path / "with space"
    monkeypatch.chdir(tmp_path)
    relative = FilesystemStore.from_url("file://data/store")
    assert relative.root == tmp_path.resolve() / "data" / "store" and relative.root.is_dir()
    assert relative.url == (tmp_path / "data" / "store").resolve().as_uri()
    timed = FilesystemStore.from_url("file://timed?ttl=3600")
    assert timed.default_ttl == 3600 and timed.url.endswith("?ttl=3600")
    assert FilesystemStore.from_url(timed.url).default_ttl == 3600


@pytest.mark.parametrize(
    "url",
    ["memory://", "s3://bucket/x", "file://", "file:///x?ttl=soon", "file:///x?ttl=-5", "file:///x?mode=1"],
)
def test_fs_bad_urls_are_invalid_options(url: str) -> None:
    with pytest.raises(ConversioError) as caught:
        FilesystemStore.from_url(url)
    assert caught.value.code == "INVALID_OPTION"


def _write_big_file(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for i in range(size // MiB):
            block = hashlib.sha256(str(i).encode()).digest() * (MiB // 32)
            digest.update(block)
            out.write(block)
    return digest.hexdigest()


@pytest.mark.parametrize("how", ["put_stream", "put_file", "put_file_move"])
def test_fs_memory_stays_bounded_for_big_content(fs: FilesystemStore, tmp_path: Path, how: str) -> None:
    big = tmp_path / "big.bin"
    sha = _write_big_file(big, 20 * MiB)
    tracemalloc.start()
    try:
        if how == "put_stream":
            with big.open("rb") as stream:
                artifact = fs.put_stream(stream, name="big.bin", format="bin")
        else:
            artifact = fs.put_file(big, name="big.bin", format="bin", move=how == "put_file_move")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * MiB, f"{how} peaked at {peak / MiB:.1f} MiB"
    assert (artifact.size, artifact.sha256) == (20 * MiB, sha)
    with fs.local_path(artifact.id) as path:
        assert path.stat().st_size == 20 * MiB


# The functions below run in other processes (spawned, so they must live at module level).


def _put_concurrently(root: str, start: Any, count: int, tag: str) -> list[str]:
    store = FilesystemStore(Path(root))
    start.wait()
    ids = []
    for i in range(count):
        ids.append(put(store, b"the same content in every process"))
        ids.append(put(store, f"{tag} {i}".encode()))
    return ids


def _churn(root: str, start: Any, count: int) -> int:
    """Put the same content, read it back and delete it, ``count`` times."""
    store = FilesystemStore(Path(root))
    start.wait()
    for _ in range(count):
        artifact_id = put(store, b"churned content")
        assert read(store, artifact_id) == b"churned content"
        store.delete(artifact_id)
    return count


def _sweep_until(root: str, start: Any, stop: Any) -> int:
    store = FilesystemStore(Path(root))
    start.wait()
    rounds = 0
    while not stop.is_set():
        store.sweep()
        rounds += 1
    return rounds


class _DiesMidway:
    """A stream that kills its own process after handing out two chunks."""

    def __init__(self) -> None:
        self.calls = 0

    def read(self, size: int = -1) -> bytes:
        self.calls += 1
        if self.calls > 2:
            os.kill(os.getpid(), signal.SIGKILL)
        return b"x" * 1000


def _crash_while_uploading(root: str) -> None:
    FilesystemStore(Path(root)).put_stream(cast(BinaryIO, _DiesMidway()), name="n", format="bin")


def _crash_before_metadata(root: str) -> None:
    def die(*args: object) -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    FilesystemStore._write_json = die  # type: ignore[method-assign,assignment]
    put(FilesystemStore(Path(root)), b"never announced")


@pytest.fixture
def spawn() -> Iterator[multiprocessing.context.SpawnContext]:
    yield multiprocessing.get_context("spawn")


def test_fs_concurrent_puts_from_processes_with_a_sweep_running(
    fs: FilesystemStore, spawn: multiprocessing.context.SpawnContext
) -> None:
    manager = spawn.Manager()
    with manager, spawn.Pool(3) as pool:
        start, stop = manager.Barrier(3), manager.Event()
        sweeper = pool.apply_async(_sweep_until, (str(fs.root), start, stop))
        writers = [pool.apply_async(_put_concurrently, (str(fs.root), start, 20, tag)) for tag in "ab"]
        results = [w.get(timeout=120) for w in writers]
        stop.set()
        assert sweeper.get(timeout=60) > 0
    ids = [i for result in results for i in result]
    assert len(set(ids)) == 80
    for result, tag in zip(results, "ab", strict=True):
        assert read(fs, result[0]) == b"the same content in every process"
        assert [read(fs, i) for i in result[1::2]] == [f"{tag} {i}".encode() for i in range(20)]
    shared = fs.get(ids[0]).sha256
    assert len(list((fs.root / "refs" / shared).iterdir())) == 40
    assert len(files_under(fs.root / "blobs")) == 41
    assert list((fs.root / "tmp").iterdir()) == []


def test_fs_concurrent_put_and_delete_of_the_same_content(
    fs: FilesystemStore, spawn: multiprocessing.context.SpawnContext
) -> None:
    # Each process frees the shared blob when its artifact was the last one, while the other
    # is storing the same content again: the blob must never vanish under a new artifact.
    manager = spawn.Manager()
    with manager, spawn.Pool(2) as pool:
        start = manager.Barrier(2)
        jobs = [pool.apply_async(_churn, (str(fs.root), start, 500)) for _ in range(2)]
        assert [job.get(timeout=120) for job in jobs] == [500, 500]
    assert list(fs.list()) == []
    assert files_under(fs.root / "blobs") == []
    assert list((fs.root / "refs").iterdir()) == []


def test_fs_a_process_killed_mid_upload_leaves_nothing_visible(
    fs: FilesystemStore, spawn: multiprocessing.context.SpawnContext
) -> None:
    process = spawn.Process(target=_crash_while_uploading, args=(str(fs.root),))
    process.start()
    process.join(60)
    assert process.exitcode == -signal.SIGKILL
    assert list(fs.list()) == []
    [leftover] = list((fs.root / "tmp").iterdir())
    assert leftover.name.startswith("put-")
    assert fs.sweep() == 0  # its owner is dead: a left-over at once, however fresh
    assert list((fs.root / "tmp").iterdir()) == []


def test_fs_a_process_killed_before_the_metadata_leaves_nothing_visible(
    fs: FilesystemStore, spawn: multiprocessing.context.SpawnContext
) -> None:
    process = spawn.Process(target=_crash_before_metadata, args=(str(fs.root),))
    process.start()
    process.join(60)
    assert process.exitcode == -signal.SIGKILL
    sha = hashlib.sha256(b"never announced").hexdigest()
    assert (fs.root / "blobs" / sha[:2] / sha).is_file()  # the crash came after the blob
    assert list(fs.list()) == []
    assert list((fs.root / "meta").iterdir()) == []
    assert fs.sweep() == 0  # the dead process's locks are gone with it
    assert files_under(fs.root / "blobs") == []
    assert list((fs.root / "refs").iterdir()) == []


# -- the memory store ----------------------------------------------------------------------


def test_memory_local_path_is_a_temporary_copy() -> None:
    store = MemoryStore()
    artifact_id = put(store, b"in memory")
    with store.local_path(artifact_id) as path:
        assert path.read_bytes() == b"in memory"
    assert not path.exists()


def test_memory_frees_shared_content_with_the_last_artifact() -> None:
    store = MemoryStore()
    first, second = put(store, b"shared"), put(store, b"shared")
    assert len(store._blobs) == 1
    store.delete(first)
    assert read(store, second) == b"shared"
    store.delete(second)
    assert store._blobs == {} and store._refs == {}


def test_non_durable_store_never_serves_a_blob_cut_short(tmp_path: Path) -> None:
    store = FilesystemStore.from_url(tmp_path.as_uri() + "?durable=0&ttl=60")
    assert store.durable is False and "durable=0" in store.url
    artifact = store.put_stream(io.BytesIO(b"x" * 4096), name="a.bin", format="bin")
    blob = next((tmp_path / "blobs").glob("*/*"))
    blob.chmod(0o644)
    blob.write_bytes(b"x" * 100)  # what a power loss before the data reached the disk leaves
    with pytest.raises(ConversioError) as info:
        store.open(artifact.id)
    assert info.value.code == "FILE_NOT_FOUND"
    with pytest.raises(ConversioError), store.local_path(artifact.id):
        pass


def test_fs_a_metadata_write_that_fails_leaves_no_id_and_no_temporary_file(
    fs: FilesystemStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(fd: int, data: object) -> int:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(os, "write", disk_full)
        with pytest.raises(InsufficientStorage, match=r"no room left to store 'a\.bin'"):
            fs.put_stream(io.BytesIO(b"metadata never written"), name="a.bin", format="bin")
    assert list(fs.list()) == []
    assert files_under(fs.root / "blobs") == [] and list((fs.root / "refs").iterdir()) == []
    assert list((fs.root / "meta").iterdir()) == []
    assert list((fs.root / "tmp").iterdir()) == []
    artifact_id = put(fs, b"metadata written")
    assert json.loads((fs.root / "meta" / f"{artifact_id}.json").read_text()) == fs.get(artifact_id).to_dict()
