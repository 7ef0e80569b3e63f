"""The contract every converter passes, for packers and unpackers of each engine."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from archive_samples import write_7z, write_tar, write_zip

import conversio
from conversio.testing import ConverterContract

PLUGIN = "conversio_archive.plugin"
#: Nothing of the engines, nor the converter modules, may load at registration.
HEAVY = ("py7zr", "conversio_archive.zips", "conversio_archive.tars", "conversio_archive.sevenzip")
MEMBERS = {"notes.txt": b"some notes\n" * 50, "docs/page.html": b"<html><body>hi</body></html>"}


class PackerContract(ConverterContract):
    """Packers take any bytes: an empty file is a valid member, and nothing is "corrupt"."""

    plugin = PLUGIN
    heavy_modules = HEAVY

    def make_sample(self, tmp_path: Path) -> Path:
        path = tmp_path / "notes.txt"
        path.write_bytes(MEMBERS["notes.txt"])
        return path

    def make_corrupt(self, tmp_path: Path) -> Path | None:
        return None

    def test_empty_input_is_corrupt(self, contract_app: conversio.Conversio, tmp_path: Path) -> None:
        """Replaces the contract's check: packing an empty file gives an archive with an empty member."""
        empty = tmp_path / "empty.txt"
        empty.write_bytes(b"")
        [artifact] = self._convert_as_source(contract_app, empty)
        assert artifact.format == self._spec(contract_app).target
        assert artifact.size > 0


class TestZipPacker(PackerContract):
    converter_id = "archive.zipfile:*->zip"
    options: ClassVar[dict[str, object]] = {"level": 9}


class TestTarGzPacker(PackerContract):
    converter_id = "archive.tarfile:*->tar.gz"


class Test7zPacker(PackerContract):
    converter_id = "archive.py7zr:*->7z"


class TestZipUnpacker(ConverterContract):
    plugin = PLUGIN
    converter_id = "archive.zipfile:zip->*"
    heavy_modules = HEAVY

    def make_sample(self, tmp_path: Path) -> Path:
        return write_zip(tmp_path / "sample.zip", MEMBERS)


class TestTarUnpacker(ConverterContract):
    plugin = PLUGIN
    converter_id = "archive.tarfile:tar->*"
    heavy_modules = HEAVY

    def make_sample(self, tmp_path: Path) -> Path:
        return write_tar(tmp_path / "sample.tar", MEMBERS, mode="w")


class TestTarXzUnpacker(ConverterContract):
    plugin = PLUGIN
    converter_id = "archive.tarfile:tar.xz->*"
    heavy_modules = HEAVY

    def make_sample(self, tmp_path: Path) -> Path:
        return write_tar(tmp_path / "sample.tar.xz", MEMBERS, mode="w:xz")


class Test7zUnpacker(ConverterContract):
    plugin = PLUGIN
    converter_id = "archive.py7zr:7z->*"
    heavy_modules = HEAVY

    def make_sample(self, tmp_path: Path) -> Path:
        return write_7z(tmp_path / "sample.7z", MEMBERS)


def test_registration_declares_every_edge(app: conversio.Conversio) -> None:
    archive_specs = {
        c.id: c for c in app.registry.converters.values() if c.plugin == "conversio_archive.plugin"
    }
    formats = ["zip", "tar", "tar.gz", "tar.bz2", "tar.xz", "7z"]
    assert {c.target for c in archive_specs.values() if c.source == "*"} == set(formats)
    assert {c.source for c in archive_specs.values() if c.target == "*"} == set(formats)
    password = archive_specs["archive.py7zr:7z->*"].options.get("password")
    assert password.secret and "default" not in password.describe()
    assert app.route("docx", "zip").steps[-1].converter == "archive.zipfile:*->zip"
    assert [s.converter for s in app.route("zip", "7z").steps] == [
        "archive.zipfile:zip->*",
        "archive.py7zr:*->7z",
    ]
