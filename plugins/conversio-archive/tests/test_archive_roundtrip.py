"""Pack, then unpack, every format: names, order and bytes survive; archives are standard."""

from __future__ import annotations

import os
import random
import shutil
import string
import subprocess
import tarfile
import zipfile
from pathlib import Path

import py7zr
import pytest
from archive_samples import files_under, run_direct, write_zip

import conversio
from conversio.errors import ConversioError
from conversio.events import Event, EventKind

FORMATS = ["zip", "tar", "tar.gz", "tar.bz2", "tar.xz", "7z"]
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


@pytest.fixture
def inputs(tmp_path: Path) -> list[Path]:
    """Three files, given in an order that is not alphabetical."""
    folder = tmp_path / "in"
    folder.mkdir()
    notes = folder / "notes.txt"
    notes.write_text("line\n" * 2000, encoding="utf-8")
    image = folder / "b.png"
    image.write_bytes(PNG)
    data = folder / "a.pdf"  # sniffed by its head; the rest does not compress
    data.write_bytes(b"%PDF-1.4\n" + os.urandom(300_000))
    return [notes, image, data]


def listing(archive: Path, fmt: str) -> list[tuple[str, bytes]]:
    """Members and their bytes, read with the format's own library."""
    if fmt == "zip":
        with zipfile.ZipFile(archive) as zf:
            assert zf.testzip() is None
            return [(i.filename, zf.read(i)) for i in zf.infolist()]
    if fmt == "7z":
        with py7zr.SevenZipFile(archive) as sz:
            names = sz.getnames()
        with py7zr.SevenZipFile(archive) as sz:
            target = archive.parent / f"{archive.name}-check"
            sz.extractall(target)
        return [(n, (target / n).read_bytes()) for n in names]
    with tarfile.open(archive) as tf:
        out = []
        for member in tf.getmembers():
            src = tf.extractfile(member)
            assert src is not None and member.isreg()
            assert (member.mode, member.uid, member.gid, member.uname) == (0o644, 0, 0, "")
            out.append((member.name, src.read()))
        return out


@pytest.mark.parametrize("fmt", FORMATS)
def test_pack_then_unpack(app: conversio.Conversio, inputs: list[Path], tmp_path: Path, fmt: str) -> None:
    packed = app.convert(inputs, to=fmt).run()
    assert [a.format for a in packed.artifacts] == [fmt]
    assert packed.artifact.name == f"archive.{fmt}"
    archive = packed.save(tmp_path / f"out.{fmt}")[0]
    expected = [(p.name, p.read_bytes()) for p in inputs]
    assert listing(archive, fmt) == expected  # input order, names and bytes, read by the library itself

    unpacked = app.convert(archive, to="*").run()
    assert [(a.name, a.format) for a in unpacked.artifacts] == [
        ("notes.txt", "txt"),
        ("b.png", "png"),
        ("a.pdf", "pdf"),
    ]
    contents = [app.store.open(a.id).read() for a in unpacked.artifacts]
    assert contents == [data for _, data in expected]


def test_a_single_file_names_the_archive(app: conversio.Conversio, inputs: list[Path]) -> None:
    result = app.convert(inputs[0], to="tar.gz").run()
    assert result.artifact.name == "notes.tar.gz"


def test_duplicate_names_get_numbered(app: conversio.Conversio, tmp_path: Path) -> None:
    paths = []
    for i, content in enumerate([b"first", b"second", b"third"]):
        folder = tmp_path / f"d{i}"
        folder.mkdir()
        path = folder / "a.txt"
        path.write_bytes(content)
        paths.append(path)
    archive = app.convert(paths, to="zip").run().save(tmp_path / "dups.zip")[0]
    assert listing(archive, "zip") == [("a.txt", b"first"), ("a (2).txt", b"second"), ("a (3).txt", b"third")]


@pytest.mark.parametrize("fmt", ["tar.gz", "7z", "zip"])
def test_folders_of_members_survive_a_repack(app: conversio.Conversio, tmp_path: Path, fmt: str) -> None:
    source = write_zip(tmp_path / "tree.zip", {"docs/a.txt": b"alpha", "img/b.png": PNG, "top.txt": b"top"})
    repacked = app.convert(source, to=fmt).run()  # zip -> members -> fmt
    assert repacked.artifact.format == fmt
    archive = repacked.save(tmp_path / f"tree.{fmt}")[0]
    assert listing(archive, fmt) == [("docs/a.txt", b"alpha"), ("img/b.png", PNG), ("top.txt", b"top")]


@pytest.mark.parametrize("fmt", ["zip", "tar.gz", "tar.bz2", "tar.xz", "7z"])
def test_level_changes_the_size(app: conversio.Conversio, tmp_path: Path, fmt: str) -> None:
    rng = random.Random(7)
    words = ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(2, 9))) for _ in range(2000)]
    text = tmp_path / "words.txt"
    text.write_text(" ".join(rng.choices(words, k=60_000)), encoding="utf-8")
    lowest = 1 if fmt == "tar.bz2" else 0
    fast = app.convert(text, to=fmt, options={"level": lowest}).run().artifact
    small = app.convert(text, to=fmt, options={"level": 9}).run().artifact
    assert small.size < fast.size


def test_out_of_range_level_is_an_invalid_option(app: conversio.Conversio, inputs: list[Path]) -> None:
    with pytest.raises(ConversioError) as info:
        app.convert(inputs, to="zip", options={"level": 10}).run()
    assert info.value.code == "INVALID_OPTION"


def test_empty_files_pack_and_unpack(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    for fmt, pack, unpack in [
        ("zip", "archive.zipfile:*->zip", "archive.zipfile:zip->*"),
        ("tar.xz", "archive.tarfile:*->tar.xz", "archive.tarfile:tar.xz->*"),
        ("7z", "archive.py7zr:*->7z", "archive.py7zr:7z->*"),
    ]:
        [packed] = run_direct(pack, empty, tmp_path / f"packed-{fmt}")
        assert listing(packed.path, fmt) == [("empty.txt", b"")]
        outputs = run_direct(unpack, packed.path, tmp_path / f"unpacked-{fmt}")
        assert [(o.name, o.path.read_bytes()) for o in outputs] == [("empty.txt", b"")]


@pytest.mark.skipif(shutil.which("unzip") is None, reason="needs the unzip tool")
def test_zip_is_readable_by_unzip(app: conversio.Conversio, inputs: list[Path], tmp_path: Path) -> None:
    archive = app.convert(inputs, to="zip").run().save(tmp_path / "x.zip")[0]
    run = subprocess.run(["unzip", "-t", str(archive)], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "No errors detected" in run.stdout


@pytest.mark.skipif(shutil.which("tar") is None, reason="needs the tar tool")
@pytest.mark.parametrize("fmt", ["tar", "tar.gz", "tar.bz2", "tar.xz"])
def test_tar_is_readable_by_tar(
    app: conversio.Conversio, inputs: list[Path], tmp_path: Path, fmt: str
) -> None:
    archive = app.convert(inputs, to=fmt).run().save(tmp_path / f"x.{fmt}")[0]
    run = subprocess.run(["tar", "-tvaf", str(archive)], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert [line.split()[-1] for line in run.stdout.splitlines()] == ["notes.txt", "b.png", "a.pdf"]
    assert all(line.startswith("-rw-r--r-- 0/0") for line in run.stdout.splitlines())


def test_7z_is_whole_by_its_own_checks(app: conversio.Conversio, inputs: list[Path], tmp_path: Path) -> None:
    archive = app.convert(inputs, to="7z").run().save(tmp_path / "x.7z")[0]
    with py7zr.SevenZipFile(archive) as sz:
        assert sz.testzip() is None
        assert not sz.needs_password()
        assert [f.filename for f in sz.list()] == ["notes.txt", "b.png", "a.pdf"]


def test_unpacked_members_keep_their_folders(tmp_path: Path) -> None:
    archive = write_zip(
        tmp_path / "tree.zip", {"docs/": b"", "docs/a.txt": b"alpha", "docs/sub/b.txt": b"beta"}
    )
    outputs = run_direct("archive.zipfile:zip->*", archive, tmp_path / "out")
    assert [o.name for o in outputs] == ["docs/a.txt", "docs/sub/b.txt"]
    assert files_under(tmp_path / "out") == {"docs/a.txt": b"alpha", "docs/sub/b.txt": b"beta"}


@pytest.mark.parametrize(("fmt", "unpack"), [("tar.gz", False), ("zip", True), ("7z", True)])
def test_progress_is_reported(app: conversio.Conversio, inputs: list[Path], fmt: str, unpack: bool) -> None:
    seen: list[float] = []

    def record(event: Event) -> None:
        if event.kind is EventKind.PROGRESS:
            seen.append(round(event.fraction, 3))

    packed = app.convert(inputs, to=fmt).run(on_event=None if unpack else record)
    if unpack:
        app.convert(packed.artifact, to="*").run(on_event=record)
    assert seen[:3] == [0.333, 0.667, 1.0]  # one step per member, then the engine's own 1.0
