"""Outputs written append-only (``ConversionRequest.write``) and hashed by the engine as they grow."""

from __future__ import annotations

import hashlib
import io
import os
import threading
import time
from pathlib import Path
from typing import BinaryIO

import pytest

from conversio.converters import ConversionRequest
from conversio.engine.hashing import MAX_FOLLOWED, OutputHasher
from conversio.stores.base import Digest


def digest_of(content: bytes) -> Digest:
    return Digest(hashlib.sha256(content).hexdigest(), len(content))


def write_announced(hasher: OutputHasher, name: str, pieces: list[bytes], pause: float = 0.01) -> None:
    """Create ``name``, announce it, then append ``pieces`` with pauses (as a worker's engine)."""
    fd = os.open(hasher.folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND)
    try:
        hasher.follow(name)
        for piece in pieces:
            os.write(fd, piece)
            time.sleep(pause)
    finally:
        os.close(fd)


def test_files_written_one_after_another_are_hashed_as_they_grow(tmp_path: Path) -> None:
    hasher = OutputHasher(tmp_path)
    (tmp_path / "sub").mkdir()
    first = [os.urandom(300_000) for _ in range(5)]
    second = [os.urandom(2_500_000), b"", os.urandom(10)]
    write_announced(hasher, "a.bin", first)
    write_announced(hasher, "sub/b.bin", second)
    assert hasher.digests() == {"a.bin": digest_of(b"".join(first)), "sub/b.bin": digest_of(b"".join(second))}


def test_a_file_written_by_another_thread_is_complete_when_the_task_ends(tmp_path: Path) -> None:
    hasher = OutputHasher(tmp_path)
    pieces = [os.urandom(100_000) for _ in range(10)]
    writer = threading.Thread(target=write_announced, args=(hasher, "out.bin", pieces))
    writer.start()
    writer.join(timeout=30)
    assert hasher.digests() == {"out.bin": digest_of(b"".join(pieces))}


def test_nothing_announced_is_nothing_hashed(tmp_path: Path) -> None:
    (tmp_path / "written-another-way.bin").write_bytes(b"x")
    hasher = OutputHasher(tmp_path)
    assert hasher.digests() == {}


def test_a_file_that_is_not_there_ends_the_hashing_without_a_digest(tmp_path: Path) -> None:
    hasher = OutputHasher(tmp_path)
    hasher.follow("missing.bin")
    write_announced(hasher, "later.bin", [b"late"])
    assert hasher.digests() == {}


def test_closing_while_a_file_is_written_stops_at_once(tmp_path: Path) -> None:
    hasher = OutputHasher(tmp_path)
    fd = os.open(tmp_path / "never-done.bin", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        hasher.follow("never-done.bin")
        os.write(fd, b"half")
        started = time.monotonic()
        hasher.close()
        assert time.monotonic() - started < 5  # a hasher that waited for the file would never return
    finally:
        os.close(fd)
    hasher.follow("after-the-end.bin")  # ignored: the task is over
    assert hasher.digests() == {}


def test_at_most_max_followed_files_are_hashed(tmp_path: Path) -> None:
    hasher = OutputHasher(tmp_path)
    for number in range(MAX_FOLLOWED + 3):
        write_announced(hasher, f"{number}.bin", [str(number).encode()], pause=0)
    digests = hasher.digests()
    assert sorted(digests, key=lambda name: int(name.split(".")[0])) == [
        f"{n}.bin" for n in range(MAX_FOLLOWED)
    ]
    assert digests["7.bin"] == digest_of(b"7")


def test_request_write_announces_a_safe_name_and_only_appends(tmp_path: Path) -> None:
    announced: list[str] = []
    request = ConversionRequest((), tmp_path, "fa", "fb", on_write=announced.append)

    def writer(stream: BinaryIO) -> None:
        stream.write(b"head")
        assert stream.seek(0, os.SEEK_END) == 4  # where pikepdf seeks: the end
        with pytest.raises(io.UnsupportedOperation):
            stream.seek(0)  # a writer patching a header fails loudly
        stream.write(b"tail")

    out = request.write("../docs/out.bin", writer)
    assert (out.path, out.name) == (tmp_path / "docs" / "out.bin", "docs/out.bin")
    assert announced == ["docs/out.bin"]
    assert out.path.read_bytes() == b"headtail"
    with pytest.raises(FileExistsError):  # an output is written once
        request.write("docs/out.bin", writer)
