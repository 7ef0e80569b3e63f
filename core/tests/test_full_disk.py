"""A full disk is INSUFFICIENT_STORAGE with nothing partial left; leftovers of dead processes go.

The disk is made full by failing writes with ``ENOSPC`` (the server's tests fill a real tmpfs).
"""

from __future__ import annotations

import errno
import io
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from conversio.converters import ConversionRequest, ConverterSpec, Output
from conversio.errors import ConversioError, ConversionFailed, InsufficientStorage
from conversio.stores.base import Artifact, Digest
from conversio.stores.filesystem import FilesystemStore
from conversio.stores.space import is_full, nearly_full
from conversio.testing import make_conversio
from conversio.testing.fakes import FakePlugin, write_fake

HERE = __name__


def disk_full() -> OSError:
    return OSError(errno.ENOSPC, "No space left on device")


def files_under(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())


@pytest.fixture
def fs(tmp_path: Path) -> FilesystemStore:
    return FilesystemStore(tmp_path / "store")


# -- the store -------------------------------------------------------------------------------


def test_an_upload_cut_short_by_a_full_disk_leaves_nothing(
    fs: FilesystemStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def half_then_full(source: BinaryIO, target: BinaryIO | None = None) -> Digest:
        assert target is not None
        target.write(source.read(1000))
        raise disk_full()

    monkeypatch.setattr("conversio.stores.filesystem.copy_hashing", half_then_full)
    with pytest.raises(InsufficientStorage) as caught:
        fs.put_stream(io.BytesIO(b"x" * 5000), name="big.bin", format="bin")
    assert caught.value.code == "INSUFFICIENT_STORAGE"
    assert "'big.bin'" in caught.value.message and "nothing was kept" in caught.value.message
    assert files_under(fs.root / "tmp") == [] and list(fs.list()) == []


@pytest.mark.parametrize("shared", [False, True], ids=["new-content", "content-already-stored"])
def test_metadata_that_does_not_fit_undoes_the_blob_and_its_reference(
    fs: FilesystemStore, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, shared: bool
) -> None:
    earlier = fs.put_stream(io.BytesIO(b"same"), name="a.bin", format="bin") if shared else None
    upload = tmp_path / "upload.bin"
    upload.write_bytes(b"same")

    def full(path: Path, data: dict[str, Any]) -> None:
        raise disk_full()

    monkeypatch.setattr(fs, "_write_json", full)
    with pytest.raises(InsufficientStorage):
        fs.put_file(upload, name="b.bin", format="bin", share=True)
    monkeypatch.undo()

    assert upload.read_bytes() == b"same"  # the caller's file is untouched
    assert files_under(fs.root / "tmp") == []
    if earlier is None:
        assert list(fs.list()) == [] and files_under(fs.root / "blobs") == []
        assert files_under(fs.root / "refs") == []
    else:  # the artifact that already had this content keeps it, and only its reference
        assert [a.id for a in fs.list()] == [earlier.id]
        assert fs.open(earlier.id).read() == b"same"
        assert [p.name for p in files_under(fs.root / "refs")] == [earlier.id]


def test_a_cache_entry_that_does_not_fit_is_not_kept(
    fs: FilesystemStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    artifact = fs.put_stream(io.BytesIO(b"result"), name="r.bin", format="bin")

    def full(path: Path, data: dict[str, Any]) -> None:
        raise disk_full()

    monkeypatch.setattr(fs, "_write_json", full)
    fs.cache_put("ab12", [artifact.id])  # the cache only saves work: no error
    monkeypatch.undo()
    assert fs.cache_get("ab12") is None


def test_other_write_errors_are_not_taken_for_a_full_disk(
    fs: FilesystemStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def denied(path: Path, data: dict[str, Any]) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(fs, "_write_json", denied)
    with pytest.raises(PermissionError):
        fs.put_stream(io.BytesIO(b"x"), name="x.bin", format="bin")


def test_is_full_sees_through_wrappers() -> None:
    try:
        try:
            raise disk_full()
        except OSError as exc:
            raise RuntimeError("the engine failed") from exc
    except RuntimeError as wrapped:
        assert is_full(wrapped)
    assert is_full(OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert not is_full(OSError(errno.EIO, "I/O error")) and not is_full(ValueError("no"))


def test_a_full_database_is_a_full_disk(tmp_path: Path) -> None:
    class DriverError(Exception):  # as SQLAlchemy wraps the driver's error
        def __init__(self, orig: BaseException) -> None:
            self.orig = orig

    database = sqlite3.connect(tmp_path / "jobs.sqlite3")
    database.execute("CREATE TABLE jobs (spec BLOB)")
    database.execute("PRAGMA max_page_count = 8")
    with pytest.raises(sqlite3.Error) as caught:
        for _ in range(100):
            database.execute("INSERT INTO jobs VALUES (?)", (bytes(10_000),))
    database.close()
    assert is_full(caught.value) and is_full(DriverError(caught.value))
    assert not is_full(sqlite3.OperationalError("no such table: jobs"))


def test_nearly_full_on_a_disk_with_room(tmp_path: Path) -> None:
    assert not nearly_full(tmp_path)  # the test machine's disk has more than a MiB free


# -- the engine ------------------------------------------------------------------------------


def fill_disk(request: ConversionRequest) -> list[Output]:
    """Write half an output, then find the disk full (as Pillow or pypdf would)."""
    out = request.output("out.fb")
    with out.path.open("wb") as half:
        half.write(b"FAKE:fb\n")
        raise disk_full()


def fail_quietly(request: ConversionRequest) -> list[Output]:
    """Fail as an external engine does when its write failed: with no reason given."""
    raise ConversionFailed("could not convert the file: the converter failed", converter="fake")


def two_pages(request: ConversionRequest) -> list[Output]:
    """Two outputs, as a PDF's pages are."""
    outputs = [request.output(f"page{n}.fb") for n in (1, 2)]
    for n, out in enumerate(outputs, 1):
        out.path.write_text(f"FAKE:fb\npage {n}\n")
    return outputs


def converting(fn: str) -> FakePlugin:
    return FakePlugin(ConverterSpec(id=f"fake.test:{fn}", source="fa", target="fb", run=f"{HERE}:{fn}"))


@pytest.mark.parametrize("executor", ["inline", "process"])
def test_a_converter_that_finds_the_disk_full_is_insufficient_storage(tmp_path: Path, executor: str) -> None:
    app = make_conversio(converting("fill_disk"), executor=executor, store=(tmp_path / "store").as_uri())
    try:
        with pytest.raises(ConversioError) as caught:
            app.convert(write_fake(tmp_path / "in.fa", "fa"), "fb").run()
    finally:
        app.close()
    assert caught.value.code == "INSUFFICIENT_STORAGE"
    assert "converting in.fa;" in caught.value.message and "No space" not in caught.value.message
    assert files_under(tmp_path / "store" / "tmp") == []  # the half-written output went with its scratch


def test_an_engine_failing_on_a_full_disk_is_insufficient_storage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_conversio(converting("fail_quietly"), store=(tmp_path / "store").as_uri())
    source = write_fake(tmp_path / "in.fa", "fa")
    try:
        with pytest.raises(ConversioError) as room_left:
            app.convert(source, "fb").run()
        monkeypatch.setattr("conversio.engine.execution.nearly_full", lambda path: True)
        with pytest.raises(ConversioError) as no_room:
            app.convert(source, "fb").run()
    finally:
        app.close()
    assert room_left.value.code == "CONVERSION_FAILED"  # with room left, the engine's failure stands
    assert no_room.value.code == "INSUFFICIENT_STORAGE"


def test_a_step_whose_second_output_does_not_fit_keeps_neither(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_conversio(converting("two_pages"), store=(tmp_path / "store").as_uri())
    store = app.store
    put_file = store.put_file
    calls: list[str] = []

    def full_on_the_second_page(path: Path, **kwargs: Any) -> Artifact:
        calls.append(kwargs["name"])
        if kwargs["name"] == "page2.fb":
            raise InsufficientStorage("there is no room left to store 'page2.fb'")
        return put_file(path, **kwargs)

    monkeypatch.setattr(store, "put_file", full_on_the_second_page)
    try:
        with pytest.raises(InsufficientStorage):
            app.convert(write_fake(tmp_path / "in.fa", "fa"), "fb").run()
    finally:
        app.close()
    assert calls[-2:] == ["page1.fb", "page2.fb"]
    assert [a.format for a in store.list()] == ["fa"]  # the input only: page 1 went with page 2


def test_saving_a_result_onto_a_full_disk_leaves_no_part_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_conversio(FakePlugin(), store=(tmp_path / "store").as_uri())
    result = app.convert(write_fake(tmp_path / "in.fa", "fa"), "fa").run()
    out = tmp_path / "out"
    out.mkdir()

    def half_then_full(source: BinaryIO, target: BinaryIO, length: int = 0) -> None:
        target.write(source.read(4))
        raise disk_full()

    monkeypatch.setattr("conversio.api.shutil.copyfileobj", half_then_full)
    try:
        with pytest.raises(InsufficientStorage, match=r"'saved\.fa'"):
            result.save(out / "saved.fa")
    finally:
        app.close()
    assert list(out.iterdir()) == []  # neither the file nor its .part


# -- leftovers of killed processes -----------------------------------------------------------

_WRITER = textwrap.dedent(
    """
    import sys, time
    from conversio.stores.filesystem import FilesystemStore

    class Endless:
        def __init__(self):
            self.sent = False
        def read(self, size=-1):
            if not self.sent:
                self.sent = True
                return b"x" * 4096
            print("writing", flush=True)
            time.sleep(120)
            return b""

    store = FilesystemStore(sys.argv[1])
    with store.scratch_dir() as scratch:
        (scratch / ".out.pdf.part").write_bytes(b"half an output")
        store.put_stream(Endless(), name="upload.bin", format="bin")
    """
)


def test_leftovers_of_a_killed_process_are_swept_at_once_and_live_ones_are_kept(fs: FilesystemStore) -> None:
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(fs.root)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline() == "writing\n"
        entries = sorted(p.name.split("-")[0] for p in (fs.root / "tmp").iterdir())
        assert entries == ["put", "scratch"]
        fs.sweep()  # its owner still runs: kept, whatever their age
        assert len(list((fs.root / "tmp").iterdir())) == 2
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)

    with fs.scratch_dir() as mine:
        (mine / "work").write_text("a live conversion")
        fs.sweep()  # at start-up, or by the sweeper: the dead writer's entries go, without waiting an hour
        assert [p.name for p in (fs.root / "tmp").iterdir()] == [mine.name]
        assert (mine / "work").is_file()
    assert list((fs.root / "tmp").iterdir()) == []


def test_an_unlocked_entry_of_a_live_owner_waits_for_its_age(fs: FilesystemStore) -> None:
    fd, path = fs._new_tmp("put-")  # made, not yet locked: its owner (this process) is alive
    os.close(fd)
    fs.sweep()
    assert path.exists()
    fs.sweep(now=time.time() + 7200)
    assert not path.exists()
