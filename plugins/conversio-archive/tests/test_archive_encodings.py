"""Member names in legacy encodings come out as their authors wrote them (issue 16)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from archive_samples import run_reporting, unicode_path_field, write_zip_raw
from conversio_archive.legacy_names import TAR_ENCODINGS, ZIP_ENCODINGS, choose_encoding

UNZIP = "archive.zipfile:zip->*"

#: Names as Windows tools of each locale write them (OEM code pages; CP1251 from ANSI tools).
SAMPLES = {
    "gbk": ["报告.txt", "资料汇总.xlsx", "照片/北京.jpg", "新建文件夹/说明.txt", "附件1：申请表.doc", "中文"],
    "cp932": ["資料.txt", "会議の議事録.docx", "写真/東京.jpg", "データ.csv", "【重要】お知らせ.txt"],
    "cp866": ["Отчёт.txt", "фото.jpg", "ОТЧЕТ.DOC", "Новая папка/тест.txt", "Иванов И.И. резюме.doc"],
    "cp1251": ["Отчёт.txt", "фото.jpg", "ОТЧЕТ.DOC", "Новая папка/тест.txt", "данные.csv"],
    "cp437": ["Café.txt", "Übersicht.pdf", "résumé.doc", "Größe.txt", "niño.jpg", "crème brûlée.txt"],
    "cp1252": ["Café.txt", "Übersicht.pdf", "façade.png", "São Paulo.txt", "Ærø.txt"],
    "utf-8": ["报告.txt", "資料.txt", "Отчёт.txt", "Café.txt", "データ.csv"],
}


@pytest.mark.parametrize(("encoding", "name"), [(e, n) for e, names in SAMPLES.items() for n in names])
def test_a_single_name_is_enough_to_choose_its_encoding(encoding: str, name: str) -> None:
    raw = name.encode(encoding)
    assert raw.decode(choose_encoding([raw], ZIP_ENCODINGS)) == name


@pytest.mark.parametrize(
    ("encoding", "name"),
    [
        ("gbk", "报告.txt"),
        ("cp932", "資料.txt"),
        ("cp866", "Отчёт.txt"),
        ("cp1251", "Отчёт.txt"),
        ("cp437", "Café.txt"),
        ("utf-8", "报告.txt"),
    ],
)
def test_zip_names_without_the_utf8_flag(tmp_path: Path, encoding: str, name: str) -> None:
    raw = name.encode(encoding)
    archive = write_zip_raw(tmp_path / "legacy.zip", [(raw, b"data"), (b"readme.txt", b"ascii")])
    outputs, warnings = run_reporting(UNZIP, archive, tmp_path / "out")
    assert {o.name: o.path.read_bytes() for o in outputs} == {name: b"data", "readme.txt": b"ascii"}
    assert (tmp_path / "out" / name).read_bytes() == b"data"
    assert warnings == []


def test_a_chinese_archive_with_folders_decodes_as_a_whole(tmp_path: Path) -> None:
    names = ["项目/报告.txt", "项目/照片/北京.jpg", "项目/说明.docx"]
    archive = write_zip_raw(tmp_path / "项目.zip", [(n.encode("gbk"), n.encode()) for n in names])
    outputs, _ = run_reporting(UNZIP, archive, tmp_path / "out")
    assert [o.name for o in outputs] == names
    assert all(o.path.read_bytes() == o.name.encode() for o in outputs)


def test_the_unicode_path_extra_field_wins(tmp_path: Path) -> None:
    """7-Zip and Info-ZIP store the OEM name plus a UTF-8 one in extra field 0x7075."""
    oem = "____.txt".encode("cp437")  # what a tool writes when the OEM code page lacks the letters
    archive = write_zip_raw(
        tmp_path / "x.zip",
        [(oem, b"1"), ("Zpráva.txt".encode("cp437"), b"2")],
        extras={0: unicode_path_field(oem, "日本語.txt"), 1: unicode_path_field(b"other", "stale.txt")},
    )
    outputs, _ = run_reporting(UNZIP, archive, tmp_path / "out")
    # the second field's CRC is of another name (the entry was renamed since): ignored
    assert [o.name for o in outputs] == ["日本語.txt", "Zpráva.txt"]


@pytest.mark.parametrize(
    ("encoding", "names"),
    [
        ("gbk", ["报告.txt", "数据.csv"]),
        ("koi8_r", ["Отчёт.txt"]),
        ("euc_jp", ["会議の議事録.docx"]),
        ("cp1252", ["Café.txt", "Größe.txt"]),
    ],
)
def test_tar_names_that_are_not_utf8(tmp_path: Path, encoding: str, names: list[str]) -> None:
    archive = tmp_path / "legacy.tar"
    with tarfile.open(archive, "w", format=tarfile.GNU_FORMAT, encoding=encoding) as tf:
        for name in names:
            info = tarfile.TarInfo(name)
            info.size = 4
            tf.addfile(info, io.BytesIO(b"data"))
    assert not any(name.encode(encoding).isascii() for name in names)
    outputs, warnings = run_reporting("archive.tarfile:tar->*", archive, tmp_path / "out")
    assert [o.name for o in outputs] == names
    assert warnings == []


def test_tar_candidates_are_unix_locales() -> None:
    raw = "Отчёт.txt".encode("koi8_r")
    assert raw.decode(choose_encoding([raw], TAR_ENCODINGS)) == "Отчёт.txt"
    assert choose_encoding([b"plain.txt"], TAR_ENCODINGS) == "utf-8"
