"""Hostile archives: traversal, links, bombs, too many members, damage, passwords."""

from __future__ import annotations

import collections
import io
import os
import random
import stat
import tarfile
import time
import tracemalloc
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import py7zr
import pytest
from archive_samples import (
    MIB,
    bytes_under,
    files_under,
    mark_as_aes,
    run_direct,
    tar_gz_bomb,
    tar_with_huge_pax_header,
    write_7z,
    write_7z_with_names,
    write_tar,
    write_zip,
    write_zipcrypto,
    zip_bomb,
)
from conversio_archive.budget import RATIO_FLOOR
from conversio_archive.extraction import MemberFile

import conversio
from conversio.errors import ConversioError
from conversio.limits import Limits

UNZIP = "archive.zipfile:zip->*"
UNTAR = "archive.tarfile:tar.gz->*"
UN7Z = "archive.py7zr:7z->*"
HOSTILE_NAMES = ["../evil", "/etc/x", "a/../../b"]
SAFE_NAMES = {"../evil": "evil", "/etc/x": "etc/x", "a/../../b": "a/b"}


def fails_with(code: str, call: Callable[[], object]) -> ConversioError:
    with pytest.raises(ConversioError) as info:
        call()
    assert info.value.code == code, info.value
    return info.value


@pytest.fixture
def written(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every chunk the unpackers actually wrote to disk."""
    chunks: list[int] = []
    original = MemberFile.write

    def spy(self: MemberFile, data: bytes | bytearray | memoryview) -> None:
        original(self, data)  # raises, writing nothing, when a limit would be crossed
        chunks.append(len(data))

    monkeypatch.setattr(MemberFile, "write", spy)
    return chunks


@pytest.fixture
def peak_memory() -> Iterator[Callable[[], int]]:
    tracemalloc.start()
    yield lambda: tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()


# -- path traversal -------------------------------------------------------------------
def _hostile(kind: str, path: Path) -> Path:
    members = {name: name.encode() for name in HOSTILE_NAMES}
    if kind == "zip":
        return write_zip(path, members)
    if kind == "tar.gz":
        return write_tar(path, members)
    return write_7z_with_names(path, list(members.items()))


def _raw_names(kind: str, path: Path) -> list[str]:
    if kind == "zip":
        with zipfile.ZipFile(path) as zf:
            return zf.namelist()
    if kind == "tar.gz":
        with tarfile.open(path) as tf:
            return tf.getnames()
    with py7zr.SevenZipFile(path) as sz:
        return [f.filename for f in sz.files]


@pytest.mark.parametrize(("kind", "converter"), [("zip", UNZIP), ("tar.gz", UNTAR), ("7z", UN7Z)])
def test_traversal_members_land_inside(tmp_path: Path, kind: str, converter: str) -> None:
    archive = _hostile(kind, tmp_path / f"hostile.{kind}")
    assert _raw_names(kind, archive) == HOSTILE_NAMES  # the archive really carries the hostile names
    box = tmp_path / "box"
    outputs = run_direct(converter, archive, box / "out")
    assert [o.name for o in outputs] == [SAFE_NAMES[n] for n in HOSTILE_NAMES]
    assert files_under(box) == {f"out/{SAFE_NAMES[n]}": n.encode() for n in HOSTILE_NAMES}
    assert not Path("/etc/x").exists() or Path("/etc/x").read_bytes() != b"/etc/x"


def test_backslashes_and_drive_letters_in_zip_names(tmp_path: Path) -> None:
    archive = write_zip(
        tmp_path / "win.zip", {"..\\..\\up.txt": b"1", "C:\\temp\\drive.txt": b"2", "d\\e.txt": b"3"}
    )
    outputs = run_direct(UNZIP, archive, tmp_path / "box" / "out")
    assert [o.name for o in outputs] == ["up.txt", "temp/drive.txt", "d/e.txt"]
    assert set(files_under(tmp_path / "box")) == {"out/up.txt", "out/temp/drive.txt", "out/d/e.txt"}


def test_names_colliding_after_cleaning_are_numbered(tmp_path: Path) -> None:
    archive = tmp_path / "dups.zip"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns about the duplicate on purpose
        write_zip(archive, {"a.txt": b"1", "../a.txt": b"2", "A.TXT": b"3", "docs": b"4", "docs/x": b"5"})
        with zipfile.ZipFile(archive, "a") as zf:
            zf.writestr("a.txt", b"6")
    outputs = run_direct(UNZIP, archive, tmp_path / "out")
    assert [(o.name, o.path.read_bytes()) for o in outputs] == [
        ("a.txt", b"1"),
        ("a (2).txt", b"2"),
        ("A (3).TXT", b"3"),
        ("docs", b"4"),
        ("docs (2)/x", b"5"),
        ("a (4).txt", b"6"),
    ]


# -- links and special files ------------------------------------------------------------
def _no_links(folder: Path) -> None:
    for path in folder.rglob("*"):
        assert not path.is_symlink(), path
        assert path.is_dir() or stat.S_ISREG(path.lstat().st_mode), path


def test_zip_links_and_devices_are_skipped(tmp_path: Path) -> None:
    archive = tmp_path / "links.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name, mode, data in [
            ("link", stat.S_IFLNK | 0o777, b"/etc/passwd"),
            ("fifo", stat.S_IFIFO | 0o644, b""),
            ("ok.txt", stat.S_IFREG | 0o644, b"fine"),
        ]:
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = mode << 16
            zf.writestr(info, data)
    outputs = run_direct(UNZIP, archive, tmp_path / "out")
    assert [o.name for o in outputs] == ["ok.txt"]
    assert files_under(tmp_path / "out") == {"ok.txt": b"fine"}
    _no_links(tmp_path / "out")


def test_tar_links_devices_and_link_then_write_are_harmless(tmp_path: Path) -> None:
    archive = tmp_path / "links.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        for name, kind, target in [
            ("dir", tarfile.DIRTYPE, ""),
            ("escape", tarfile.SYMTYPE, "../../"),  # the classic: a link, then a file "through" it
            ("passwd", tarfile.SYMTYPE, "/etc/passwd"),
            ("hard", tarfile.LNKTYPE, "/etc/passwd"),
            ("dev", tarfile.CHRTYPE, ""),
            ("fifo", tarfile.FIFOTYPE, ""),
        ]:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = target
            tf.addfile(info)
        for name, data in [("escape/pwned.txt", b"owned"), ("dir/ok.txt", b"fine")]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    box = tmp_path / "box"
    outputs = run_direct(UNTAR, archive, box / "out")
    assert [o.name for o in outputs] == ["escape/pwned.txt", "dir/ok.txt"]
    assert files_under(box) == {"out/escape/pwned.txt": b"owned", "out/dir/ok.txt": b"fine"}
    _no_links(box)


def test_7z_symlinks_are_not_created(tmp_path: Path) -> None:
    (tmp_path / "real.txt").write_bytes(b"real")
    os.symlink("/etc/passwd", tmp_path / "link")
    archive = tmp_path / "links.7z"
    with py7zr.SevenZipFile(archive, "w") as sz:
        sz.write(tmp_path / "link", "link")
        sz.write(tmp_path / "real.txt", "real.txt")
    with py7zr.SevenZipFile(archive) as sz:
        assert [(f.filename, f.is_symlink) for f in sz.files] == [("link", True), ("real.txt", False)]
    outputs = run_direct(UN7Z, archive, tmp_path / "out")
    assert [o.name for o in outputs] == ["real.txt"]
    assert files_under(tmp_path / "out") == {"real.txt": b"real"}
    _no_links(tmp_path / "out")


# -- bombs ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 200 MB zip bomb and tar.gz bomb (about 200 KB each), and a 100 MB 7z one (15 KB)."""
    folder = tmp_path_factory.mktemp("bombs")
    zeros = folder / "zeros.bin"
    with zeros.open("wb") as fh:
        fh.truncate(100 * MIB)  # sparse: reads as zeros, takes no disk
    sevenz = folder / "bomb.7z"
    with py7zr.SevenZipFile(sevenz, "w", filters=[{"id": py7zr.FILTER_LZMA2, "preset": 1}]) as sz:
        sz.write(zeros, "zeros.bin")
    return {"zip": zip_bomb(folder / "bomb.zip"), "tar.gz": tar_gz_bomb(folder / "bomb.tar.gz"), "7z": sevenz}


@pytest.mark.parametrize(("kind", "converter"), [("zip", UNZIP), ("7z", UN7Z)])
def test_bomb_is_refused_from_its_headers(
    bombs: dict[str, Path], tmp_path: Path, written: list[int], kind: str, converter: str
) -> None:
    started = time.monotonic()
    error = fails_with("FILE_TOO_LARGE", lambda: run_direct(converter, bombs[kind], tmp_path / "out"))
    assert time.monotonic() - started < 2
    assert error.details["limit"] == "max_compression_ratio"
    assert "decompression bomb" in error.message
    assert written == []  # refused before a single byte was written
    assert bytes_under(tmp_path / "out") == 0


def test_bomb_over_the_size_limit_is_refused_from_its_headers(
    bombs: dict[str, Path], tmp_path: Path, written: list[int]
) -> None:
    limits = Limits(max_unpacked_size=50 * MIB, max_compression_ratio=1e9)
    error = fails_with(
        "FILE_TOO_LARGE", lambda: run_direct(UNZIP, bombs["zip"], tmp_path / "out", limits=limits)
    )
    assert (error.details["limit"], error.details["maximum"]) == ("max_unpacked_size", 50 * MIB)
    assert written == []


def test_tar_gz_bomb_is_stopped_while_extracting(
    bombs: dict[str, Path], tmp_path: Path, written: list[int], peak_memory: Callable[[], int]
) -> None:
    archive = bombs["tar.gz"]
    allowed = 200 * archive.stat().st_size  # the default max_compression_ratio
    started = time.monotonic()
    error = fails_with("FILE_TOO_LARGE", lambda: run_direct(UNTAR, archive, tmp_path / "out"))
    assert time.monotonic() - started < 10
    assert (error.details["limit"], error.details["member"]) == ("max_compression_ratio", "zeros.bin")
    assert allowed - MIB < sum(written) <= allowed  # it wrote up to the limit, never past it
    assert peak_memory() < 16 * MIB  # chunks, not the member
    assert bytes_under(tmp_path / "out") == 0  # the partial member is removed


def test_tar_gz_bomb_stops_at_max_unpacked_size(
    bombs: dict[str, Path], tmp_path: Path, written: list[int]
) -> None:
    limits = Limits(max_unpacked_size=5 * MIB, max_compression_ratio=1e9)
    error = fails_with(
        "FILE_TOO_LARGE", lambda: run_direct(UNTAR, bombs["tar.gz"], tmp_path / "out", limits=limits)
    )
    assert error.details["limit"] == "max_unpacked_size"
    assert 4 * MIB < sum(written) <= 5 * MIB


@pytest.mark.parametrize(
    ("kind", "converter", "size"), [("zip", UNZIP, 200), ("tar.gz", UNTAR, 200), ("7z", UN7Z, 100)]
)
def test_huge_members_unpack_in_bounded_memory(
    bombs: dict[str, Path],
    tmp_path: Path,
    peak_memory: Callable[[], int],
    kind: str,
    converter: str,
    size: int,
) -> None:
    """With the ratio limit lifted, the bombs unpack whole, a chunk at a time."""
    limits = Limits(max_compression_ratio=1e9)
    [output] = run_direct(converter, bombs[kind], tmp_path / "out", limits=limits)
    assert output.path.stat().st_size == size * MIB
    assert peak_memory() < 32 * MIB
    output.path.unlink()


def test_one_bomb_member_among_honest_ones_is_refused(tmp_path: Path, written: list[int]) -> None:
    archive = tmp_path / "mixed.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("noise.bin", os.urandom(3 * MIB))  # incompressible: keeps the total ratio low
        zf.writestr("zeros.bin", bytes(5 * MIB))
    assert os.path.getsize(archive) * 200 > 8 * MIB  # the archive as a whole is within the ratio
    error = fails_with("FILE_TOO_LARGE", lambda: run_direct(UNZIP, archive, tmp_path / "out"))
    assert (error.details["limit"], error.details["member"]) == ("max_compression_ratio", "zeros.bin")
    assert written == []


def test_small_but_very_compressible_archives_are_fine(tmp_path: Path) -> None:
    archive = write_zip(tmp_path / "log.zip", {"log.txt": b"same line again\n" * 60_000})  # ~1000:1
    assert os.path.getsize(archive) * 200 < RATIO_FLOOR
    outputs = run_direct(UNZIP, archive, tmp_path / "out")
    assert outputs[0].path.stat().st_size == 960_000


def test_huge_tar_metadata_block_is_refused_without_reading_it(
    tmp_path: Path, peak_memory: Callable[[], int]
) -> None:
    archive = tar_with_huge_pax_header(tmp_path / "pax.tar.gz")
    error = fails_with("FILE_TOO_LARGE", lambda: run_direct(UNTAR, archive, tmp_path / "out"))
    assert error.details["limit"] == "tar_metadata"
    assert peak_memory() < 8 * MIB


def test_nested_archives_are_just_members(app: conversio.Conversio, tmp_path: Path) -> None:
    inner = write_zip(tmp_path / "inner.zip", {"deep.txt": b"deep"})
    outer = write_zip(tmp_path / "outer.zip", {"inner.zip": inner.read_bytes(), "top.txt": b"top"})
    result = app.convert(outer, to="*").run()
    assert [(a.name, a.format) for a in result.artifacts] == [("inner.zip", "zip"), ("top.txt", "txt")]


# -- member count -------------------------------------------------------------------------
@pytest.mark.parametrize(("kind", "converter"), [("zip", UNZIP), ("tar.gz", UNTAR), ("7z", UN7Z)])
def test_too_many_members(tmp_path: Path, written: list[int], kind: str, converter: str) -> None:
    members = {f"m{i:02}.txt": b"x" for i in range(30)}
    writer = {"zip": write_zip, "tar.gz": write_tar, "7z": write_7z}[kind]
    archive = writer(tmp_path / f"many.{kind}", members)
    limits = Limits(max_members=10)
    error = fails_with(
        "FILE_TOO_LARGE", lambda: run_direct(converter, archive, tmp_path / "out", limits=limits)
    )
    assert (error.details["limit"], error.details["maximum"]) == ("max_members", 10)
    assert len(written) <= 10  # zip and 7z list their members first: nothing at all is written
    assert written == [] or kind == "tar.gz"
    assert len(run_direct(converter, archive, tmp_path / "ok", limits=Limits(max_members=30))) == 30


# -- damage ----------------------------------------------------------------------------
def _varied(size: int) -> bytes:
    return b"".join(
        b"%d lines of text, some random: %s\n" % (i, os.urandom(8).hex().encode()) for i in range(size // 50)
    )


DAMAGEABLE = [
    ("zip", UNZIP),
    ("tar", "archive.tarfile:tar->*"),
    ("tar.gz", UNTAR),
    ("tar.bz2", "archive.tarfile:tar.bz2->*"),
    ("tar.xz", "archive.tarfile:tar.xz->*"),
    ("7z", UN7Z),
]


def _good_archive(kind: str, path: Path) -> Path:
    members = {"a.txt": _varied(200_000), "b.txt": _varied(100_000)}
    if kind == "zip":
        return write_zip(path, members)
    if kind == "7z":
        return write_7z(path, members)
    return write_tar(
        path, members, mode={"tar": "w", "tar.gz": "w:gz", "tar.bz2": "w:bz2", "tar.xz": "w:xz"}[kind]
    )


@pytest.mark.parametrize(("kind", "converter"), DAMAGEABLE)
@pytest.mark.parametrize("damage", ["truncated", "cut-tail", "flipped"])
def test_damaged_archives_are_corrupt(tmp_path: Path, kind: str, converter: str, damage: str) -> None:
    if kind == "tar" and damage != "truncated":
        pytest.skip("plain tar has no checksum over file data, nor anything after its end marker")
    data = bytearray(_good_archive(kind, tmp_path / f"good.{kind}").read_bytes())
    if damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "cut-tail":  # the checksums and end records of the compressed stream
        data = data[:-30]
    else:
        middle = len(data) // 3
        data[middle : middle + 8] = bytes(b ^ 0xFF for b in data[middle : middle + 8])
    bad = tmp_path / f"bad.{kind}"
    bad.write_bytes(bytes(data))
    error = fails_with("CORRUPT_FILE", lambda: run_direct(converter, bad, tmp_path / "out"))
    assert error.details["file"] == bad.name


@pytest.mark.parametrize(("kind", "converter"), DAMAGEABLE)
def test_random_damage_ends_in_an_error_code_or_a_result(tmp_path: Path, kind: str, converter: str) -> None:
    """Seeded byte flips and cuts: every outcome is a conversio error or a proper result."""
    rng = random.Random(kind)
    good = _good_archive(kind, tmp_path / f"good.{kind}").read_bytes()
    codes = collections.Counter()
    for attempt in range(40):
        data = bytearray(good)
        for _ in range(rng.choice([1, 2, 4, 16])):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.2:
            data = data[: rng.randrange(len(data))]
        bad = tmp_path / f"bad-{attempt}.{kind}"
        bad.write_bytes(bytes(data))
        started = time.monotonic()
        try:
            outputs = run_direct(converter, bad, tmp_path / f"out-{attempt}")
        except ConversioError as exc:
            codes[exc.code] += 1
        else:
            codes["ok"] += 1
            assert all(o.path.is_file() and o.path.is_relative_to(tmp_path) for o in outputs)
        assert time.monotonic() - started < 5
    assert set(codes) <= {
        "ok",
        "CORRUPT_FILE",
        "EMPTY_FILE",
        "UNSUPPORTED_FORMAT",
        "UNSUPPORTED_ENCRYPTION",
        "INVALID_PASSWORD",
        "FILE_TOO_LARGE",
    }
    assert codes["CORRUPT_FILE"] > (5 if kind == "tar" else 25), codes


@pytest.mark.parametrize(("kind", "converter"), [("zip", UNZIP), ("tar.gz", UNTAR), ("7z", UN7Z)])
@pytest.mark.parametrize("content", [b"", b"not an archive at all" * 10, b"\x00\x01" * 2048])
def test_not_an_archive_is_corrupt(tmp_path: Path, kind: str, converter: str, content: bytes) -> None:
    bad = tmp_path / f"bad.{kind}"
    bad.write_bytes(content)
    fails_with("CORRUPT_FILE", lambda: run_direct(converter, bad, tmp_path / "out"))


@pytest.mark.parametrize(
    ("converter", "archive"),
    [
        ("archive.tarfile:tar->*", lambda p: p.write_bytes(bytes(10240))),  # an empty tar: its end marker
        (UNZIP, lambda p: write_zip(p, {"only/": b""})),
        (UN7Z, lambda p: write_7z(p, {})),
    ],
)
def test_archives_without_files_say_so(
    tmp_path: Path, converter: str, archive: Callable[[Path], object]
) -> None:
    path = tmp_path / "empty"
    archive(path)
    error = fails_with("EMPTY_FILE", lambda: run_direct(converter, path, tmp_path / "out"))
    assert "no files" in error.message and error.message.startswith("empty ")


# -- passwords ---------------------------------------------------------------------------
def test_zipcrypto_needs_the_right_password(tmp_path: Path) -> None:
    members = {"secret.txt": b"the launch codes", "docs/b.txt": b"more"}
    archive = write_zipcrypto(tmp_path / "locked.zip", members, "hunter2")
    with zipfile.ZipFile(archive) as zf:  # the archive is real ZipCrypto: zipfile itself agrees
        assert zf.read("secret.txt", pwd=b"hunter2") == b"the launch codes"
    missing = fails_with("INVALID_PASSWORD", lambda: run_direct(UNZIP, archive, tmp_path / "a"))
    assert missing.details["password_given"] is False
    wrong = fails_with(
        "INVALID_PASSWORD", lambda: run_direct(UNZIP, archive, tmp_path / "b", password="nope")
    )
    assert wrong.details["password_given"] is True
    outputs = run_direct(UNZIP, archive, tmp_path / "c", password="hunter2")
    assert {o.name: o.path.read_bytes() for o in outputs} == members


@pytest.mark.parametrize("password", [None, "pw"])
def test_aes_zip_is_a_clear_unsupported_encryption(tmp_path: Path, password: str | None) -> None:
    """No password can help: UNSUPPORTED_ENCRYPTION (not INVALID_PASSWORD), naming archive and member."""
    archive = mark_as_aes(write_zip(tmp_path / "aes.zip", {"a.txt": b"abc"}, compression=zipfile.ZIP_STORED))
    options: dict[str, Any] = {"password": password} if password else {}
    error = fails_with(
        "UNSUPPORTED_ENCRYPTION", lambda: run_direct(UNZIP, archive, tmp_path / "out", **options)
    )
    assert error.message.startswith("aes.zip: 'a.txt'") and "AES" in error.message
    assert "ZipCrypto" in error.message and error.details["member"] == "a.txt"


def test_7z_with_encrypted_header(tmp_path: Path) -> None:
    archive = write_7z(
        tmp_path / "hidden.7z", {"a/b.txt": b"hidden names"}, password="pw", header_encryption=True
    )
    fails_with("INVALID_PASSWORD", lambda: run_direct(UN7Z, archive, tmp_path / "a"))
    fails_with("INVALID_PASSWORD", lambda: run_direct(UN7Z, archive, tmp_path / "b", password="wrong"))
    outputs = run_direct(UN7Z, archive, tmp_path / "c", password="pw")
    assert [(o.name, o.path.read_bytes()) for o in outputs] == [("a/b.txt", b"hidden names")]


def test_password_never_shows_in_errors(tmp_path: Path) -> None:
    archive = write_7z(tmp_path / "x.7z", {"a.txt": b"a"}, password="pw")
    error = fails_with(
        "INVALID_PASSWORD", lambda: run_direct(UN7Z, archive, tmp_path / "o", password="s3cr3t-value")
    )
    assert "s3cr3t-value" not in repr(error.to_dict())


@pytest.mark.corpus
def test_encrypted_7z_from_the_corpus(corpus: Path, app: conversio.Conversio, tmp_path: Path) -> None:
    archive = corpus / "archives" / "encrypted_1.7z"
    fails_with("INVALID_PASSWORD", lambda: app.convert(archive, to="*").run())
    fails_with("INVALID_PASSWORD", lambda: app.convert(archive, to="*", options={"password": "Secret"}).run())
    result = app.convert(archive, to="*", options={"password": "secret"}).run()
    got = {a.name: app.store.open(a.id).read() for a in result.artifacts}
    with py7zr.SevenZipFile(archive, password="secret") as sz:
        sz.extractall(tmp_path / "reference")
    assert got == files_under(tmp_path / "reference")
    assert sorted(got) == ["test/test2.txt", "test1.txt"]
