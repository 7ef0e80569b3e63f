"""Attachments: added (names and media types), removed (by name or all), extracted under safe,
unique names; hostile names and inflation bombs refused or tamed, counted against the limits."""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pytest
from pdf_samples import make_pdf

from conversio import Conversio
from conversio.converters import Output
from conversio.errors import ConversioError
from conversio.limits import Limits
from conversio.plugins import PluginPolicy

Run = Callable[..., list[Output]]
ATTACH = "pdf.pikepdf:attach(pdf)"
REMOVE = "pdf.pikepdf:remove-attachments(pdf)"
EXTRACT = "pdf.pikepdf:extract-attachments(pdf)"
MIB = 1024 * 1024


def with_attachments(path: Path, files: dict[str, bytes]) -> Path:
    """A one-page PDF with ``files`` attached under those names (as written, however hostile)."""
    make_pdf(path, pages=1)
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        for name, data in files.items():
            pdf.attachments[name] = pikepdf.AttachedFileSpec(pdf, data, filename=name)
        pdf.save(path)
    return path


def zeros_bomb(mebibytes: int) -> bytes:
    """A zlib stream of ``mebibytes`` MiB of zeros, made in milliseconds: one compressed MiB,
    flushed so that it stands alone, repeated (its checksum is never reached)."""
    packer = zlib.compressobj(9)
    zeros = bytes(MIB)
    first = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    again = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    return first + again * (mebibytes - 1)


def with_raw_attachment(path: Path, name: str, raw: bytes, filters: list[str]) -> Path:
    """A PDF with one attachment whose stream is ``raw``, already encoded with ``filters``
    (written as it is: qpdf would decode and re-encode it otherwise)."""
    with_attachments(path, {name: b"placeholder"})
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        stream = pdf.make_indirect(pikepdf.Stream(pdf, raw))
        stream.Type, stream.Filter = (
            pikepdf.Name.EmbeddedFile,
            pikepdf.Array([pikepdf.Name(f) for f in filters]),
        )
        files = pdf.attachments[name].obj.EF
        files.F = files.UF = stream
        pdf.save(path, compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.none)
    return path


def _attached(path: Path) -> dict[str, tuple[bytes, str]]:
    with pikepdf.open(path) as pdf:
        return {
            key: (spec.get_file().read_bytes(), spec.get_file().mime_type)
            for key, spec in pdf.attachments.items()
        }


def test_attach_embeds_each_file_under_its_name_and_media_type(run: Run, tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("a,b\n1,2\n")
    (tmp_path / "notes.txt").write_text("remember")
    base = make_pdf(tmp_path / "report.pdf", pages=2)
    (out,) = run(ATTACH, [base, tmp_path / "data.csv", tmp_path / "notes.txt"])
    assert out.name == "report.pdf"
    assert _attached(out.path) == {
        "data.csv": (b"a,b\n1,2\n", "text/csv"),
        "notes.txt": (b"remember", "text/plain"),
    }
    with pikepdf.open(out.path) as pdf:
        assert len(pdf.pages) == 2
        assert pdf.attachments["data.csv"].get_file().creation_date is not None


def test_attach_refuses_a_name_twice_unless_replace(run: Run, tmp_path: Path) -> None:
    base = with_attachments(tmp_path / "report.pdf", {"data.csv": b"old"})
    (tmp_path / "data.csv").write_text("new")
    with pytest.raises(ConversioError) as caught:
        run(ATTACH, [base, tmp_path / "data.csv"])
    assert caught.value.code == "INVALID_REQUEST"
    assert "report.pdf already has an attachment called data.csv" in caught.value.message
    (out,) = run(ATTACH, [base, tmp_path / "data.csv"], replace=True)
    assert _attached(out.path)["data.csv"][0] == b"new"
    with pytest.raises(ConversioError) as caught:
        run(ATTACH, [base])
    assert caught.value.code == "INVALID_REQUEST" and "report.pdf" in caught.value.message


def test_remove_by_name_or_all(run: Run, tmp_path: Path) -> None:
    base = with_attachments(tmp_path / "report.pdf", {"a.txt": b"a", "b.txt": b"b", "c.txt": b"c"})
    (out,) = run(REMOVE, base, names="a.txt,c.txt")
    assert list(_attached(out.path)) == ["b.txt"]
    (out,) = run(REMOVE, base)
    assert _attached(out.path) == {}
    with pytest.raises(ConversioError) as caught:
        run(REMOVE, base, names="z.txt")
    assert (caught.value.code, caught.value.details["option"]) == ("INVALID_OPTION", "names")
    assert (
        "report.pdf has no attachment 'z.txt'; its attachments: a.txt, b.txt, c.txt" in caught.value.message
    )
    with pytest.raises(ConversioError) as caught:
        run(REMOVE, out.path)
    assert caught.value.code == "INVALID_REQUEST" and "has no attachments" in caught.value.message


def test_extract_names_hostile_attachments_safely_and_uniquely(run: Run, tmp_path: Path) -> None:
    hostile = {
        "../../etc/passwd": b"1",
        "/abs/olute.txt": b"2",
        "C:\\Windows\\evil.txt": b"3",
        "..": b"4",
        "sub/passwd": b"5",
        "PASSWD": b"6",
    }
    outs = run(EXTRACT, with_attachments(tmp_path / "hostile.pdf", hostile))
    found = {out.name: out.path.read_bytes() for out in outs}  # in the name tree's order
    assert found == {
        "attachment": b"4",
        "passwd": b"1",
        "olute.txt": b"2",
        "evil.txt": b"3",
        "PASSWD (2)": b"6",
        "passwd (3)": b"5",
    }
    for out in outs:
        assert out.path.parent.name.startswith("out") and out.path.is_file()


def test_an_attachment_bomb_is_file_too_large_before_it_is_written(run: Run, tmp_path: Path) -> None:
    bomb = with_raw_attachment(tmp_path / "bomb.pdf", "zeros.bin", zeros_bomb(1024), ["/FlateDecode"])
    with pytest.raises(ConversioError) as caught:
        run(EXTRACT, bomb, limits=Limits(max_unpacked_size=64 * MIB))
    assert caught.value.code == "FILE_TOO_LARGE"
    assert caught.value.message.startswith("bomb.pdf: the attachment 'zeros.bin' unpacks to more than 64 MiB")
    written = sum(path.stat().st_size for path in tmp_path.rglob("zeros.bin"))
    assert written <= 64 * MIB


def test_a_nested_flate_bomb_is_measured_before_it_is_decoded(run: Run, tmp_path: Path) -> None:
    inner = zeros_bomb(1024)  # 1 GiB inside 1 MiB, itself deflated again to a few KiB
    bomb = with_raw_attachment(tmp_path / "nested.pdf", "x", zlib.compress(inner, 9), ["/FlateDecode"] * 2)
    with pytest.raises(ConversioError) as caught:
        run(EXTRACT, bomb)
    assert caught.value.code == "FILE_TOO_LARGE" and "nested.pdf" in caught.value.message
    (tmp_path / "note.txt").write_text("n")
    started = time.monotonic()
    (attached,) = run(ATTACH, [bomb, tmp_path / "note.txt"])
    (out,) = run(REMOVE, attached.path, names="note.txt")
    assert time.monotonic() - started < 3  # the bomb was carried along, never inflated
    with pikepdf.open(out.path) as pdf:
        assert len(pdf.attachments["x"].get_file().obj.read_raw_bytes()) < 10_000


def test_more_attachments_than_max_members_are_refused(run: Run, tmp_path: Path) -> None:
    many = with_attachments(tmp_path / "many.pdf", {f"{n}.txt": b"x" for n in range(5)})
    with pytest.raises(ConversioError) as caught:
        run(EXTRACT, many, limits=Limits(max_members=4))
    assert caught.value.code == "FILE_TOO_LARGE" and "many.pdf has 5 attachments" in caught.value.message


def test_a_damaged_attachment_is_a_corrupt_file(run: Run, tmp_path: Path) -> None:
    broken = with_raw_attachment(
        tmp_path / "broken.pdf", "a.txt", zlib.compress(b"x" * 5000)[:-20], ["/FlateDecode"]
    )
    with pytest.raises(ConversioError) as caught:
        run(EXTRACT, broken)
    assert caught.value.code == "CORRUPT_FILE" and "broken.pdf" in caught.value.message
    with pytest.raises(ConversioError) as caught:
        run(EXTRACT, make_pdf(tmp_path / "plain.pdf", pages=1))
    assert caught.value.code == "INVALID_REQUEST" and "plain.pdf has no attachments" in caught.value.message


def test_a_chain_attaches_then_extracts_files_sniffed_by_content(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("a,b\n1,2\n")
    (tmp_path / "page.pdf").write_bytes(make_pdf(tmp_path / "inner.pdf", pages=1).read_bytes())
    base = make_pdf(tmp_path / "report.pdf", pages=1)
    with Conversio(
        policy=PluginPolicy(allow=frozenset({"pdf"})), executor="inline", store="memory://"
    ) as app:
        attached = app.convert([base, tmp_path / "data.csv", tmp_path / "page.pdf"]).then("attach").run()
        assert [item.name for item in attached] == ["report.pdf"]
        found = app.convert(attached.artifact).then("extract-attachments").run()
        assert [(item.name, item.format) for item in found] == [("data.csv", "csv"), ("page.pdf", "pdf")]
        assert found.artifacts[0].size == 8


def test_a_name_given_twice_is_removed_once(run: Run, tmp_path: Path) -> None:
    base = with_attachments(tmp_path / "report.pdf", {"a.txt": b"a", "b.txt": b"b"})
    (out,) = run(REMOVE, base, names="a.txt,a.txt")
    assert list(_attached(out.path)) == ["b.txt"]
