"""Nothing left out or renamed silently: warnings name the archive and the members (issue 16)."""

from __future__ import annotations

import io
import os
import stat
import struct
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import py7zr
import pytest
from archive_samples import run_reporting, write_7z_with_names, write_zip, write_zip_raw
from conversio_archive.report import SHOWN

import conversio
from conversio.errors import ConversioError
from conversio.testing import make_conversio

UNZIP = "archive.zipfile:zip->*"
UN7Z = "archive.py7zr:7z->*"
TAR_MODES = {"tar": "w", "tar.gz": "w:gz", "tar.bz2": "w:bz2", "tar.xz": "w:xz"}


def fails_with(code: str, call: Callable[[], object]) -> ConversioError:
    with pytest.raises(ConversioError) as info:
        call()
    assert info.value.code == code, info.value
    return info.value


def hostile_tar(path: Path, mode: str, links: int = 1) -> Path:
    """A regular file, then every kind of entry an unpacker must not create, and hostile names."""

    def entry(name: str, kind: bytes, **fields: object) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.type = kind
        for key, value in fields.items():
            setattr(info, key, value)
        return info

    with tarfile.open(path, mode) as tf:  # type: ignore[call-overload]
        data = b"kept"
        info = tarfile.TarInfo("photos/kept.txt")
        info.size = len(data)
        tf.addfile(info, _bytes(data))
        for n in range(links):
            tf.addfile(entry(f"link{n}", tarfile.SYMTYPE, linkname="/etc/passwd"))
        tf.addfile(entry("hard", tarfile.LNKTYPE, linkname="photos/kept.txt"))
        tf.addfile(entry("fifo", tarfile.FIFOTYPE))
        tf.addfile(entry("dev/tty", tarfile.CHRTYPE, devmajor=5, devminor=0))
        tf.addfile(entry("dev/sda", tarfile.BLKTYPE, devmajor=8, devminor=0))
        tf.addfile(entry("photos", tarfile.DIRTYPE))
        for name in ("../escape.txt", "/abs.txt"):
            info = tarfile.TarInfo(name)
            info.size = 1
            tf.addfile(info, _bytes(b"x"))
    return path


def _bytes(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)


@pytest.mark.parametrize("kind", list(TAR_MODES))
def test_tar_links_devices_and_hostile_names_are_reported(tmp_path: Path, kind: str) -> None:
    archive = hostile_tar(tmp_path / f"holiday.{kind}", TAR_MODES[kind])
    outputs, warnings = run_reporting(f"archive.tarfile:{kind}->*", archive, tmp_path / "out")
    assert sorted(o.name for o in outputs) == ["abs.txt", "escape.txt", "photos/kept.txt"]
    assert len(warnings) == 4, warnings
    assert all(w.startswith(f"holiday.{kind}: ") for w in warnings)
    text = "\n".join(warnings)
    assert "1 symbolic link left out" in text and "'link0'" in text
    assert "1 hard link left out" in text and "'hard'" in text
    assert "3 devices, FIFOs or sockets left out" in text
    assert "'fifo', 'dev/tty', 'dev/sda'" in text
    assert "'../escape.txt' → 'escape.txt'" in text and "'/abs.txt' → 'abs.txt'" in text
    assert "photos" not in text  # folders are not left out: their files are there


def test_warnings_are_bounded(tmp_path: Path) -> None:
    archive = hostile_tar(tmp_path / "many.tar", "w", links=SHOWN + 15)
    _, warnings = run_reporting("archive.tarfile:tar->*", archive, tmp_path / "out")
    links = next(w for w in warnings if "symbolic links" in w)
    assert links.startswith(f"many.tar: {SHOWN + 15} symbolic links left out")
    assert f"'link{SHOWN - 1}' and 15 more" in links and f"'link{SHOWN}'" not in links
    assert len(links) < 400


def test_a_tar_of_ordinary_names_gives_no_warning(tmp_path: Path) -> None:
    """``./a.txt`` (tar -C dir .), folders and trailing slashes are not renamings."""
    archive = tmp_path / "plain.tar"
    with tarfile.open(archive, "w") as tf:
        for name in ("./", "./docs/", "./docs/a.txt", "b.txt"):
            info = tarfile.TarInfo(name)
            if name.endswith("/"):
                info.type = tarfile.DIRTYPE
            else:
                info.size = 1
            tf.addfile(info, _bytes(b"x") if info.isreg() else None)
    outputs, warnings = run_reporting("archive.tarfile:tar->*", archive, tmp_path / "out")
    assert sorted(o.name for o in outputs) == ["b.txt", "docs/a.txt"]
    assert warnings == []


def zip_with_special_members(path: Path) -> Path:
    return write_zip_raw(
        path,
        [(b"kept.txt", b"kept"), (b"link", b"/etc/passwd"), (b"fifo", b""), (b"../up.txt", b"up")],
        modes={1: stat.S_IFLNK | 0o777, 2: stat.S_IFIFO | 0o644},
    )


def test_zip_links_fifos_and_hostile_names_are_reported(tmp_path: Path) -> None:
    archive = zip_with_special_members(tmp_path / "album.zip")
    outputs, warnings = run_reporting(UNZIP, archive, tmp_path / "out")
    assert {o.name: o.path.read_bytes() for o in outputs} == {"kept.txt": b"kept", "up.txt": b"up"}
    assert warnings == [
        "album.zip: 1 symbolic link left out (never extracted, for safety): 'link'",
        "album.zip: 1 device, FIFO or socket left out (never extracted, for safety): 'fifo'",
        "album.zip: 1 member renamed, as the names could not be written safely (a path leaving the "
        "folder, an absolute path, control characters or an overlong name): '../up.txt' → 'up.txt'",
    ]


def test_7z_links_and_hostile_names_are_reported(tmp_path: Path) -> None:
    (tmp_path / "real.txt").write_bytes(b"real")
    os.symlink("/etc/passwd", tmp_path / "passwd")
    archive = tmp_path / "links.7z"
    with py7zr.SevenZipFile(archive, "w") as sz:
        sz.write(tmp_path / "real.txt", "real.txt")
        sz.write(tmp_path / "passwd", "passwd")
    outputs, warnings = run_reporting(UN7Z, archive, tmp_path / "out")
    assert [o.name for o in outputs] == ["real.txt"]
    assert warnings == ["links.7z: 1 symbolic link left out (never extracted, for safety): 'passwd'"]

    climbing = write_7z_with_names(tmp_path / "climb.7z", [("../evil.txt", b"e")])
    outputs, warnings = run_reporting(UN7Z, climbing, tmp_path / "out2")
    assert [o.name for o in outputs] == ["evil.txt"]
    assert len(warnings) == 1 and "'../evil.txt' → 'evil.txt'" in warnings[0]


# -- names that collide, carry control characters or are too long -------------------------------
def test_duplicate_control_and_long_names_are_renamed_and_reported(tmp_path: Path) -> None:
    long = "x" * 300 + ".txt"
    archive = tmp_path / "names.zip"
    with zipfile.ZipFile(archive, "w") as zf, pytest.warns(UserWarning, match="Duplicate name"):
        zf.writestr("a.txt", b"first")
        zf.writestr("a.txt", b"second")  # zip allows it; an update appended by a tool
        zf.writestr("A.TXT", b"third")  # the same name on Windows and macOS
        zf.writestr("bell\x07.txt", b"bell")
        zf.writestr(long, b"long")
    outputs, warnings = run_reporting(UNZIP, archive, tmp_path / "out")
    names = {o.name: o.path.read_bytes() for o in outputs}
    assert names["a.txt"] == b"first" and names["a (2).txt"] == b"second" and names["A (3).TXT"] == b"third"
    assert names["bell_.txt"] == b"bell"
    cut = next(n for n in names if n.startswith("xxx"))
    assert cut.endswith(".txt") and len(cut.encode()) <= 180
    unsafe, taken = warnings
    assert "'bell\\x07.txt' → 'bell_.txt'" in unsafe and "'xxxx" in unsafe and "…'" in unsafe
    assert taken == (
        "names.zip: 2 members renamed, as an earlier member had the same name: "
        "'a.txt' → 'a (2).txt', 'A.TXT' → 'A (3).TXT'"
    )


# -- archives with nothing to extract ---------------------------------------------------------
def test_an_archive_of_links_only_is_a_clear_refusal(tmp_path: Path) -> None:
    """Nothing to extract is EMPTY_FILE, not an empty success: a script (or the next step of a
    chain) would take "no files" for "done"; and not CONVERSION_FAILED, which reroutes."""
    archive = write_zip_raw(
        tmp_path / "shortcuts.zip",
        [(b"docs/", b""), (b"link", b"/etc/passwd"), (b"link2", b"/etc/shadow")],
        modes={0: stat.S_IFDIR | 0o755, 1: stat.S_IFLNK | 0o777, 2: stat.S_IFLNK | 0o777},
    )
    error = fails_with("EMPTY_FILE", lambda: run_reporting(UNZIP, archive, tmp_path / "out"))
    assert error.message == (
        "shortcuts.zip holds no files to extract: only 2 symbolic links, which are never "
        "extracted for safety, and 1 folder(s)"
    )
    assert error.details == {"file": "shortcuts.zip", "entries": 3, "left_out": 2}


def test_an_empty_zip_is_empty_file(tmp_path: Path) -> None:
    archive = write_zip(tmp_path / "nothing.zip", {})
    error = fails_with("EMPTY_FILE", lambda: run_reporting(UNZIP, archive, tmp_path / "out"))
    assert error.message == "nothing.zip is an empty archive: it holds no files"


# -- encryption no password opens -------------------------------------------------------------
def test_strong_encryption_is_unsupported_encryption(tmp_path: Path) -> None:
    archive = write_zip(tmp_path / "strong.zip", {"a.txt": b"abc"}, compression=zipfile.ZIP_STORED)
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zf:
        info = zf.infolist()[0]
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<H", data, info.header_offset + 6, 0x41)  # encrypted, strong encryption
    struct.pack_into("<H", data, central + 8, 0x41)
    archive.write_bytes(bytes(data))
    error = fails_with(
        "UNSUPPORTED_ENCRYPTION", lambda: run_reporting(UNZIP, archive, tmp_path / "o", password="pw")
    )
    assert error.message.startswith("strong.zip: 'a.txt' is encrypted with PKWARE strong encryption")


# -- through the Python API ---------------------------------------------------------------------
def test_warnings_reach_the_result_inline(tmp_path: Path) -> None:
    archive = zip_with_special_members(tmp_path / "album.zip")
    with conversio.Conversio(store="memory://", executor="inline") as app:
        result = app.convert(str(archive), to="*").run()
    assert sorted(a.name for a in result) == ["kept.txt", "up.txt"]
    assert any(w.startswith("album.zip: 1 symbolic link left out") for w in result.warnings)
    assert any("'../up.txt' → 'up.txt'" in w for w in result.warnings)


def test_warnings_reach_the_result_from_a_worker_process(tmp_path: Path) -> None:
    archive = hostile_tar(tmp_path / "holiday.tar.gz", "w:gz")
    with make_conversio("conversio_archive.plugin", executor="process", cache=False) as app:
        result = app.convert(str(archive), to="*").run()
    assert len(result) == 3
    assert sum(w.startswith("holiday.tar.gz: ") for w in result.warnings) == 4, result.warnings
