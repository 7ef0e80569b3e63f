"""The artifact stores: the store contract run against the memory and file stores, then each
backend's own tests."""

from __future__ import annotations

import hashlib
import io
import json
import multiprocessing
import os
import signal
import stat
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, cast

import pytest

from conversio.errors import ConversioError, InsufficientStorage
from conversio.stores import ArtifactStore, open_filesystem_store, open_memory_store
from conversio.stores.base import Digest
from conversio.stores.filesystem import STALE_AFTER, FilesystemStore
from conversio.stores.memory import MemoryStore
from conversio.testing import StoreContract
from conversio.testing.store_contract import StoreFactory, assert_not_found, put_bytes, read_bytes

MiB = 1 << 20


@pytest.fixture
def fs(tmp_path: Path) -> FilesystemStore:
    return FilesystemStore(tmp_path / "store")


def files_under(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())


# -- every backend: the store contract ------------------------------------------------------


class TestMemoryStoreContract(StoreContract):
    @pytest.fixture
    def make_store(self) -> StoreFactory:
        return MemoryStore


class TestFilesystemStoreContract(StoreContract):
    @pytest.fixture
    def make_store(self, tmp_path: Path) -> StoreFactory:
        return lambda default_ttl=None: FilesystemStore(tmp_path / "store", default_ttl=default_ttl)


def test_factories_open_stores_that_follow_the_protocol(tmp_path: Path) -> None:
    memory = open_memory_store("memory://")
    disk = open_filesystem_store((tmp_path / "s").as_uri())
    assert isinstance(memory, ArtifactStore) and memory.url == "memory://"
    assert isinstance(disk, ArtifactStore) and disk.url == (tmp_path / "s").resolve().as_uri()


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
    a, b = put_bytes(fs, b"shared"), put_bytes(fs, b"shared")
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
    assert read_bytes(fs, artifact.id) == read_bytes(fs, again.id) == b"shared content"
    assert not list((fs.root / "tmp").glob("link-*"))


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
    assert read_bytes(fs, checked.id) == b"grew after it was hashed"


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
    assert read_bytes(fs, artifact.id) == b"linked"


def test_fs_sweep_removes_expired_files_from_disk(fs: FilesystemStore) -> None:
    gone = fs.put_stream(io.BytesIO(b"expiring"), name="e", format="bin", ttl=10)
    kept = put_bytes(fs, b"kept")
    fs.cache_put("aa", [gone.id])
    fs.cache_put("bb", [kept])
    assert fs.sweep(now=gone.created + 11) == 1
    assert not (fs.root / "meta" / f"{gone.id}.json").exists()
    assert not (fs.root / "blobs" / gone.sha256[:2] / gone.sha256).exists()
    assert not (fs.root / "refs" / gone.sha256).exists()
    assert not (fs.root / "cache" / "aa.json").exists()
    assert fs.cache_get("bb") == [kept]
    assert read_bytes(fs, kept) == b"kept"


def test_fs_stale_cache_entry_is_removed_on_the_miss(fs: FilesystemStore) -> None:
    artifact_id = put_bytes(fs, b"x")
    fs.cache_put("c0ffee", [artifact_id])
    entry = fs.root / "cache" / "c0ffee.json"
    assert json.loads(entry.read_text()) == {"artifacts": [artifact_id]}
    fs.delete(artifact_id)
    assert fs.cache_get("c0ffee") is None
    assert not entry.exists()


def test_fs_crash_leftovers_never_become_ids_and_are_swept(fs: FilesystemStore) -> None:
    live = put_bytes(fs, b"live")
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
    assert read_bytes(fs, live) == b"live"


def test_fs_sweep_repairs_a_lost_reference(fs: FilesystemStore) -> None:
    artifact = fs.put_stream(io.BytesIO(b"x"), name="x", format="bin")
    ref = fs.root / "refs" / artifact.sha256 / artifact.id
    ref.unlink()
    fs.sweep()
    assert ref.is_file() and read_bytes(fs, artifact.id) == b"x"


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
    artifact_id = put_bytes(fs, b"visible elsewhere")
    other = FilesystemStore.from_url(fs.url)
    assert other.root == fs.root
    assert read_bytes(other, artifact_id) == b"visible elsewhere"


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
        ids.append(put_bytes(store, b"the same content in every process"))
        ids.append(put_bytes(store, f"{tag} {i}".encode()))
    return ids


def _churn(root: str, start: Any, count: int) -> int:
    """Put the same content, read it back and delete it, ``count`` times."""
    store = FilesystemStore(Path(root))
    start.wait()
    for _ in range(count):
        artifact_id = put_bytes(store, b"churned content")
        assert read_bytes(store, artifact_id) == b"churned content"
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
    put_bytes(FilesystemStore(Path(root)), b"never announced")


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
        assert read_bytes(fs, result[0]) == b"the same content in every process"
        assert [read_bytes(fs, i) for i in result[1::2]] == [f"{tag} {i}".encode() for i in range(20)]
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
    artifact_id = put_bytes(store, b"in memory")
    with store.local_path(artifact_id) as path:
        assert path.read_bytes() == b"in memory"
    assert not path.exists()


def test_memory_frees_shared_content_with_the_last_artifact() -> None:
    store = MemoryStore()
    first, second = put_bytes(store, b"shared"), put_bytes(store, b"shared")
    assert len(store._blobs) == 1
    store.delete(first)
    assert read_bytes(store, second) == b"shared"
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
    artifact_id = put_bytes(fs, b"metadata written")
    assert json.loads((fs.root / "meta" / f"{artifact_id}.json").read_text()) == fs.get(artifact_id).to_dict()
