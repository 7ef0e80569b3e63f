"""A repacked archive is named after the archive it came from, not after a member (issue 16)."""

from __future__ import annotations

import tarfile
import zipfile
from pathlib import Path

import pytest
from archive_samples import write_zip
from conversio_archive.plugin import all_specs

from conversio.converters import ConversionRequest, InputFile
from conversio.testing import make_conversio


def pack(target: str, tmp_path: Path, inputs: list[InputFile]) -> str:
    spec = next(s for s in all_specs() if s.source == "*" and s.target == target)
    request = ConversionRequest(
        tuple(inputs), tmp_path / "out", "*", target, options=spec.options.validate({})
    )
    request.output_dir.mkdir()
    (output,) = spec.load()(request)
    return output.name


def members(tmp_path: Path, origins: list[str]) -> list[InputFile]:
    files: list[InputFile] = []
    for n, origin in enumerate(origins, 1):
        path = tmp_path / f"photo{n}.webp"
        path.write_bytes(b"RIFF....WEBP")
        files.append(InputFile(path, path.name, "webp", origin))
    return files


@pytest.mark.parametrize("target", ["zip", "tar.gz", "7z"])
@pytest.mark.parametrize("count", [1, 3])
def test_members_of_one_archive_are_packed_under_its_name(tmp_path: Path, target: str, count: int) -> None:
    assert pack(target, tmp_path, members(tmp_path, ["album.zip"] * count)) == f"album.{target}"


def test_files_of_several_origins_make_archive(tmp_path: Path) -> None:
    assert pack("zip", tmp_path, members(tmp_path, ["a.zip", "b.zip"])) == "archive.zip"


def test_a_users_own_file_is_its_own_origin(tmp_path: Path) -> None:
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.4\n")
    report = InputFile(tmp_path / "report.pdf", "report.pdf", "pdf")
    assert pack("tar.xz", tmp_path, [report]) == "report.tar.xz"


@pytest.mark.parametrize(("target", "count"), [("tar.gz", 1), ("tar.gz", 2), ("7z", 2)])
def test_an_archive_converted_to_another_keeps_its_name(tmp_path: Path, target: str, count: int) -> None:
    archive = write_zip(tmp_path / "album.zip", {f"photo{n}.txt": b"x" for n in range(1, count + 1)})
    with make_conversio("conversio_archive.plugin", cache=False) as app:
        result = app.convert(str(archive), to=target).run()
    assert [a.name for a in result] == [f"album.{target}"]


def test_several_archives_each_keep_their_name(tmp_path: Path) -> None:
    first = write_zip(tmp_path / "first.zip", {"a.txt": b"a"})
    second = write_zip(tmp_path / "second.zip", {"b.txt": b"b"})
    with make_conversio("conversio_archive.plugin", cache=False) as app:
        result = app.convert([str(first), str(second)], to="tar.gz").run()
        names = {a.name: a for a in result}
        assert set(names) == {"first.tar.gz", "second.tar.gz"}
        with app.store.open(names["first.tar.gz"].id) as fh, tarfile.open(fileobj=fh) as tf:
            assert tf.getnames() == ["a.txt"]


def test_zip_to_zip_is_the_archive_itself(tmp_path: Path) -> None:
    archive = write_zip(tmp_path / "album.zip", {"photo1.txt": b"x"})
    with make_conversio("conversio_archive.plugin", cache=False) as app:
        result = app.convert(str(archive), to="zip").run()
        assert [a.name for a in result] == ["album.zip"]
        with app.store.open(result.artifact.id) as fh, zipfile.ZipFile(fh) as zf:
            assert zf.namelist() == ["photo1.txt"]
