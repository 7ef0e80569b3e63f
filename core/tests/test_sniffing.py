"""Sniffing: the content decides the format, the name only claims one.

Samples are built here byte by byte (magic numbers, ZIP containers written
with zipfile, ISO-BMFF boxes, Ogg and EBML heads); the corpus test then checks
every real-world file of the shared corpus.
"""

from __future__ import annotations

import codecs
import gzip
import io
import os
import tarfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conversio.builtin import CATALOGUE
from conversio.errors import ConversioError
from conversio.formats import Format, FormatRegistry, Kind, Magic
from conversio.hookspecs import hookimpl
from conversio.plugins import PluginHost
from conversio.registry import FormatRegistrar, Registry
from conversio.sniffing import HEAD_SIZE, ConfirmHook, Sniffed, sniff
from conversio.testing import corpus_dir, corpus_manifest, make_conversio
from conversio.testing.fakes import chain_plugin

HOST = PluginHost(autoload=False)
REGISTRY: Registry = HOST.registry


def sniffed(path: Path, name: str | None = None, confirm: ConfirmHook | None = None) -> Sniffed:
    return sniff(path, REGISTRY.formats, HOST.sniff, name=name, confirm=confirm)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def fmt_of(tmp_path: Path, name: str, data: bytes) -> str:
    return sniffed(write(tmp_path, name, data)).format


# -- magic numbers ------------------------------------------------------------------------------


def signature_cases() -> list[tuple[Format, tuple[Magic, ...]]]:
    """Every signature of every catalogue format (all at once where all must match)."""
    cases = []
    for fmt in CATALOGUE:
        if fmt.magic_all:
            cases.append((fmt, fmt.magic))
        else:
            cases += [(fmt, (magic,)) for magic in fmt.magic]
    return cases


@pytest.mark.parametrize(
    ("fmt", "magics"),
    signature_cases(),
    ids=lambda v: v.name if isinstance(v, Format) else v[0].data.hex()[:12],
)
def test_every_signature_of_the_catalogue(tmp_path: Path, fmt: Format, magics: tuple[Magic, ...]) -> None:
    head = bytearray(1024)
    for magic in magics:
        head[magic.offset : magic.offset + len(magic.data)] = magic.data
    found = sniffed(write(tmp_path, f"sample.{fmt.extension}", bytes(head)))
    assert found == Sniffed(fmt.name, fmt.name)


@settings(max_examples=300, deadline=None)
@given(
    case=st.sampled_from(signature_cases()),
    noise=st.lists(st.tuples(st.integers(0, 300), st.integers(0, 255)), max_size=6),
    size=st.integers(0, 400),
)
def test_the_first_byte_index_finds_what_a_scan_of_every_format_finds(
    case: tuple[Format, tuple[Magic, ...]], noise: list[tuple[int, int]], size: int
) -> None:
    """Signatures with a few bytes changed, cut short, or none at all: the same answer either way."""
    head = bytearray(max(size, 1))
    for magic in case[1]:
        head[magic.offset : magic.offset + len(magic.data)] = magic.data
    for position, value in noise:
        if position < len(head):
            head[position] = value
    data = bytes(head[:size])
    formats = REGISTRY.formats
    assert formats.identify(data) == next((f.name for f in formats if f.matches(data)), None)


def test_the_first_byte_index_keeps_signatures_away_from_the_start() -> None:
    """A format with one signature at the start and one further in is found by either (no index
    bucket may drop it); ``magic_all`` formats by their first signature; name order decides ties."""
    formats = FormatRegistry()
    formats.add(Format("mixed", Kind.DATA, magic=(Magic(b"MX"), Magic(b"deep", offset=10))))
    formats.add(Format("both", Kind.DATA, magic=(Magic(b"B"), Magic(b"th", offset=2)), magic_all=True))
    formats.add(Format("again", Kind.DATA, magic=(Magic(b"MX"),)))
    assert formats.identify(b"MX") == "again"
    assert formats.identify(b"..........deep") == "mixed"
    assert formats.identify(b"B.th") == "both"
    assert formats.identify(b"B.xx") is None and formats.identify(b"") is None
    formats.add(Format("late", Kind.DATA, magic=(Magic(b"L"),)))  # the index follows new formats
    assert formats.identify(b"L") == "late"


@pytest.mark.parametrize(
    ("text", "name"),
    [
        (b"BMW,Audi,Volvo\n1,2,3\n", "cars.csv"),
        (b"BM is for bitmap, not this note\n", "note.txt"),
        (b"ID3 tags describe songs\n", "note.txt"),
    ],
)
def test_weak_signatures_do_not_capture_text(tmp_path: Path, text: bytes, name: str) -> None:
    found = sniffed(write(tmp_path, name, text))
    assert not found.mismatch, found.warning


# -- containers ---------------------------------------------------------------------------------


def make_zip(path: Path, members: dict[str, bytes], *, stored_first: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        if stored_first is not None:
            zf.writestr(zipfile.ZipInfo(stored_first), members[stored_first], zipfile.ZIP_STORED)
        for name, data in members.items():
            if name != stored_first:
                zf.writestr(name, data)
    return path


CONTENT_TYPES = (
    b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'
)


@pytest.mark.parametrize(
    ("expected", "members"),
    [
        ("docx", {"[Content_Types].xml": CONTENT_TYPES, "word/document.xml": b"<w:document/>"}),
        ("xlsx", {"[Content_Types].xml": CONTENT_TYPES, "xl/workbook.xml": b"<workbook/>"}),
        ("pptx", {"[Content_Types].xml": CONTENT_TYPES, "ppt/presentation.xml": b"<p:presentation/>"}),
        ("zip", {"[Content_Types].xml": CONTENT_TYPES, "other/thing.xml": b"<x/>"}),
        ("zip", {"readme.txt": b"hello", "word/notes.txt": b"not office"}),
    ],
)
def test_ooxml_inside_zip(tmp_path: Path, expected: str, members: dict[str, bytes]) -> None:
    path = make_zip(tmp_path / "document.bin", members)
    assert sniffed(path).format == expected


@pytest.mark.parametrize(
    ("expected", "mimetype"),
    [
        ("odt", b"application/vnd.oasis.opendocument.text"),
        ("ods", b"application/vnd.oasis.opendocument.spreadsheet"),
        ("odp", b"application/vnd.oasis.opendocument.presentation"),
        ("epub", b"application/epub+zip"),
        ("zip", b"application/x-something-else"),
    ],
)
def test_odf_and_epub_by_their_mimetype_member(tmp_path: Path, expected: str, mimetype: bytes) -> None:
    members = {
        "mimetype": mimetype,
        "content.xml": b"<office:document-content/>",
        "META-INF/container.xml": b"<c/>",
    }
    path = make_zip(tmp_path / "document.bin", members, stored_first="mimetype")
    assert sniffed(path).format == expected


def test_broken_zip_is_still_a_zip(tmp_path: Path) -> None:
    assert fmt_of(tmp_path, "x.bin", b"PK\x03\x04" + b"\x00" * 100) == "zip"


def box(kind: bytes, payload: bytes = b"") -> bytes:
    return (8 + len(payload)).to_bytes(4, "big") + kind + payload


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    return box(b"ftyp", major + b"\0\0\0\0" + b"".join(compatible))


def moov(*handlers: bytes) -> bytes:
    tracks = b"".join(box(b"trak", box(b"mdia", box(b"hdlr", b"\0" * 8 + h + b"\0" * 13))) for h in handlers)
    return box(b"moov", box(b"mvhd", b"\0" * 100) + tracks)


@pytest.mark.parametrize(
    ("expected", "data"),
    [
        ("mp4", ftyp(b"isom", b"isom", b"mp41") + moov(b"vide", b"soun") + box(b"mdat", b"\0" * 64)),
        ("mp4", ftyp(b"isom", b"isom") + box(b"mdat", b"\0" * 64) + moov(b"vide")),  # moov at the end
        ("m4a", ftyp(b"isom", b"isom", b"mp42") + moov(b"soun") + box(b"mdat", b"\0" * 64)),
        ("m4a", ftyp(b"M4A ", b"M4A ", b"isom") + box(b"mdat", b"\0" * 64)),
        ("mov", ftyp(b"qt  ", b"qt  ") + moov(b"vide")),
        ("mov", box(b"wide") + box(b"mdat", b"\0" * 64) + moov(b"vide", b"soun")),  # old QuickTime, no ftyp
        ("mp4", ftyp(b"mp42", b"mp42") + box(b"mdat", b"\0" * 64)),  # no moov read: the brand says video
        ("heic", ftyp(b"heic", b"mif1", b"heic")),
        ("heic", ftyp(b"mif1", b"mif1", b"heic")),
        ("avif", ftyp(b"avif", b"avif", b"mif1", b"miaf")),
        ("avif", ftyp(b"mif1", b"mif1", b"avif", b"miaf")),  # generic major brand, AV1 compatible
    ],
)
def test_iso_media_brands_and_tracks(tmp_path: Path, expected: str, data: bytes) -> None:
    assert fmt_of(tmp_path, "media.bin", data) == expected


@pytest.mark.parametrize(
    ("expected", "data"),
    [
        ("opus", b"OggS\x00\x02" + b"\x00" * 20 + b"\x01\x13OpusHead\x01\x01" + b"\x00" * 40),
        ("ogg", b"OggS\x00\x02" + b"\x00" * 20 + b"\x01\x1e\x01vorbis\x00\x00\x00\x00" + b"\x00" * 40),
        ("webm", b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm" + b"\x00" * 40),
        ("mkv", b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x88matroska" + b"\x00" * 40),
    ],
)
def test_ogg_and_ebml_heads(tmp_path: Path, expected: str, data: bytes) -> None:
    assert fmt_of(tmp_path, "media.bin", data) == expected


OLE_HEAD = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504


@pytest.mark.parametrize(
    ("expected", "stream"), [("doc", "WordDocument"), ("xls", "Workbook"), ("ppt", "PowerPoint Document")]
)
def test_ole2_documents_by_their_streams(tmp_path: Path, expected: str, stream: str) -> None:
    data = OLE_HEAD + b"\x00" * 1024 + stream.encode("utf-16-le") + b"\x00" * 64
    assert fmt_of(tmp_path, "legacy.bin", data) == expected


def test_ole2_of_no_known_kind_is_unsupported(tmp_path: Path) -> None:
    with pytest.raises(ConversioError) as info:
        sniffed(write(tmp_path, "thing.msg", OLE_HEAD + b"\x00" * 1024))
    assert info.value.code == "UNSUPPORTED_FORMAT"


@pytest.mark.parametrize("fmt", ["docx", "xlsx", "pptx"])
def test_password_protected_ooxml_is_known_by_its_name(tmp_path: Path, fmt: str) -> None:
    """An encrypted OOXML package is an OLE2 file: only its name tells docx from xlsx."""
    data = OLE_HEAD + b"\x00" * 1024 + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 64
    assert fmt_of(tmp_path, f"locked.{fmt}", data) == fmt
    with pytest.raises(ConversioError) as info:
        sniffed(write(tmp_path, "locked.pdf", data))  # a name claiming anything else is not believed
    assert info.value.code == "UNSUPPORTED_FORMAT"


def tar_bytes() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
    return buffer.getvalue()


def test_compressed_tar_and_plain_gzip(tmp_path: Path) -> None:
    assert sniffed(write(tmp_path, "x.tgz", gzip.compress(tar_bytes()))) == Sniffed("tar.gz", "tar.gz")
    assert sniffed(write(tmp_path, "x.tar.gz", gzip.compress(tar_bytes()))) == Sniffed("tar.gz", "tar.gz")
    assert sniffed(write(tmp_path, "x.tar", tar_bytes())) == Sniffed("tar", "tar")
    with pytest.raises(ConversioError) as info:
        sniffed(write(tmp_path, "notes.gz", gzip.compress(b"just text\n" * 10)))
    assert info.value.code == "UNSUPPORTED_FORMAT"


def test_plugin_sniffer_comes_before_the_magic_table(tmp_path: Path) -> None:
    class ZipNamer:
        @hookimpl
        def sniff_format(self, head: bytes, path: Path) -> str | None:
            return "epub" if path.name.endswith(".special") else None

    host = PluginHost(autoload=False)
    host.register(ZipNamer(), "namer")
    path = write(tmp_path, "book.special", b"%PDF-1.7\n")
    assert sniff(path, host.registry.formats, host.sniff).format == "epub"
    assert sniffed(path).format == "pdf"


def test_a_sniffer_is_told_the_users_name_of_a_file_stored_without_one(tmp_path: Path) -> None:
    """The ``name`` argument: what the user calls the file (a stored copy has no extension)."""
    told: list[str] = []

    class Listens:
        @hookimpl
        def sniff_format(self, path: Path, name: str) -> str | None:
            told.append(name)
            return None

    host = PluginHost(autoload=False)
    host.register(Listens(), "listens")
    blob = write(tmp_path, "0f3a9c", b"hello\n")
    assert sniff(blob, host.registry.formats, host.sniff, name="report.txt").format == "txt"
    assert sniff(blob, host.registry.formats, host.sniff).format == "txt"
    assert told == ["report.txt", "0f3a9c"]


def test_encrypted_ooxml_stored_without_a_name_is_known_by_the_users_name(tmp_path: Path) -> None:
    data = OLE_HEAD + b"\x00" * 1024 + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 64
    assert sniffed(write(tmp_path, "blob", data), name="locked.xlsx").format == "xlsx"


# -- text formats of plugins, by their extension ---------------------------------------------------


class Yaml:
    """A plugin's text format, known by its extensions only (as a YAML plugin declares it)."""

    @hookimpl
    def register_formats(self, formats: FormatRegistrar) -> None:
        formats.add(Format("yaml", Kind.TEXT, "YAML document", extensions=("yaml", "yml")))
        formats.add(Format("tagged", Kind.TEXT, "tagged text", extensions=("tag",), magic=(Magic(b"#TAG"),)))


YAML_HOST = PluginHost(autoload=False)
YAML_HOST.register(Yaml(), "yaml")


def yaml_sniffed(path: Path, confirm: ConfirmHook | None = None) -> Sniffed:
    return sniff(path, YAML_HOST.registry.formats, YAML_HOST.sniff, confirm=confirm)


@pytest.mark.parametrize("name", ["data.yaml", "DATA.YML", "notes.txt.yaml"])
def test_text_named_as_a_plugins_text_format_is_that_format(tmp_path: Path, name: str) -> None:
    asked: list[str] = []
    found = yaml_sniffed(write(tmp_path, name, b"a: 1\nb: [x, y]\n"), lambda p, f: asked.append(f) or None)
    assert found == Sniffed("yaml", "yaml") and asked == []


def test_stronger_signals_than_a_text_formats_extension_still_win(tmp_path: Path) -> None:
    """Magic bytes, a sniffer's answer and a text format's own magic all say more than a name."""
    assert yaml_sniffed(write(tmp_path, "photo.yaml", PNG)) == Sniffed("png", "yaml")
    assert yaml_sniffed(write(tmp_path, "page.yaml", b"<html><body>x</body></html>")).format == "html"
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("a.txt", "x")
    assert yaml_sniffed(write(tmp_path, "archive.yaml", zipped.getvalue())).format == "zip"
    # a text format that declares magic bytes is not believed by name for text without them
    assert yaml_sniffed(write(tmp_path, "notes.tag", b"just notes\n")).format == "txt"
    assert yaml_sniffed(write(tmp_path, "notes.tag", b"#TAG just notes\n")).format == "tagged"
    with pytest.raises(ConversioError) as info:
        yaml_sniffed(write(tmp_path, "blob.yaml", bytes(range(256)) * 4), lambda p, f: False)
    assert info.value.code == "UNSUPPORTED_FORMAT"


def test_without_the_plugin_yaml_is_text_as_before(tmp_path: Path) -> None:
    assert sniffed(write(tmp_path, "data.yaml", b"a: 1\n")) == Sniffed("txt", None)


# -- names: claims and lies ----------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_content_wins_over_a_lying_extension(tmp_path: Path) -> None:
    found = sniffed(write(tmp_path, "photo.jpg", PNG))
    assert found == Sniffed("png", "jpg")
    assert found.mismatch
    assert found.warning == "the name says jpg but the content is png; using png"


def test_extension_aliases_and_case_are_no_lie(tmp_path: Path) -> None:
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 64
    for name in ("a.JPEG", "b.jpe", "c.JpG"):
        found = sniffed(write(tmp_path, name, jpeg))
        assert found == Sniffed("jpg", "jpg") and found.warning is None


def test_unknown_extension_claims_nothing(tmp_path: Path) -> None:
    assert sniffed(write(tmp_path, "scan.weird", PNG)) == Sniffed("png", None)
    assert sniffed(write(tmp_path, "no-extension", PNG)) == Sniffed("png", None)


def test_display_name_is_what_claims(tmp_path: Path) -> None:
    path = write(tmp_path, "upload-1234.tmp", PNG)
    assert sniffed(path, name="holiday.gif") == Sniffed("png", "gif")


def test_lying_extension_is_a_warning_of_the_result(tmp_path: Path) -> None:
    app = make_conversio(chain_plugin())
    path = write(tmp_path, "x.fa", b"FAKE:fb\nbody\n")
    result = app.convert(path, to="fc").run()
    assert result.warnings == ("x.fa: the name says fa but the content is fb; using fb",)
    assert result.steps == ("fb → fc  [fake.test:fb->fc]",)


# -- what is not a known format ------------------------------------------------------------------


def test_an_empty_file_is_empty_not_corrupt(tmp_path: Path) -> None:
    with pytest.raises(ConversioError) as info:
        sniffed(write(tmp_path, "empty.png", b""))
    assert info.value.code == "EMPTY_FILE"
    assert info.value.details["file"] == "empty.png"
    assert "empty.png is empty" in info.value.message


def test_binary_junk_is_unsupported(tmp_path: Path) -> None:
    with pytest.raises(ConversioError) as info:
        sniffed(write(tmp_path, "junk.png", bytes(range(256)) * 8))
    assert info.value.code == "UNSUPPORTED_FORMAT"
    assert info.value.details["claimed"] == "png"
    assert "pdf" in info.value.details["supported"]


# -- text -----------------------------------------------------------------------------------------

SVG = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
    b"<!-- Created with a drawing program -->\n"
    b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n'
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="5" height="5"/></svg>\n'
)


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("drawing.svg", SVG, "svg"),
        ("drawing.xml", SVG, "svg"),
        ("drawing.txt", b"\xef\xbb\xbf" + SVG, "svg"),
        ("bare.svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>', "svg"),
        ("page.html", b"<!DOCTYPE html>\n<html><head><title>x</title></head></html>", "html"),
        ("page.txt", b"  <!doctype HTML>\n<HTML><BODY>x</BODY></HTML>", "html"),
        ("fragment", b"<!-- a comment -->\n<body><p>x</p></body>", "html"),
        ("data.xml", b'<?xml version="1.0"?>\n<root><item/></root>', "xml"),
        ("data.txt", b'<?xml version="1.0"?>\n<root><item/></root>', "xml"),
        ("table.csv", b"name,age\nAda,36\n", "csv"),
        ("table.txt", b"name,age\nAda,36\n", "txt"),
        ("table", b"name,age\nAda,36\n", "txt"),
        ("readme.md", b"# Title\n\nSome *text*.\n", "md"),
        ("config.json", b'{"a": [1, 2]}\n', "json"),
        ("notes.log", "café crème\n".encode("cp1252"), "txt"),
        ("notes.txt", "naïve – “quotes”\n".encode(), "txt"),
        ("doc.rtf", b"{\\rtf1\\ansi hello}", "rtf"),
    ],
)
def test_text_heuristics(tmp_path: Path, name: str, data: bytes, expected: str) -> None:
    assert fmt_of(tmp_path, name, data) == expected


def test_multibyte_character_cut_by_the_head_is_still_text(tmp_path: Path) -> None:
    data = b"a" * (HEAD_SIZE - 1) + "é and more".encode()
    assert fmt_of(tmp_path, "long.txt", data) == "txt"


def test_text_with_a_nul_byte_is_not_text(tmp_path: Path) -> None:
    with pytest.raises(ConversioError) as info:
        sniffed(write(tmp_path, "notes.txt", b"hello\x00world"))
    assert info.value.code == "UNSUPPORTED_FORMAT"


def test_what_is_not_a_readable_regular_file_is_an_invalid_request(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.pdf"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer: refused, at once
    cases = {tmp_path / "missing.pdf": "no such file", tmp_path: "not a regular", fifo: "not a regular"}
    for path, message in cases.items():
        with pytest.raises(ConversioError) as info:
            sniffed(path)
        assert info.value.code == "INVALID_REQUEST" and message in info.value.message


# -- the real-world corpus ---------------------------------------------------------------------------

CORPUS = corpus_manifest()


@pytest.mark.corpus
@pytest.mark.parametrize("row", CORPUS, ids=[row["path"] for row in CORPUS])
def test_corpus_file_sniffs_as_its_manifest_format(row: dict[str, str]) -> None:
    root = corpus_dir()
    assert root is not None
    expected = REGISTRY.formats.canonical(row["format"])  # heif → heic, tgz → tar.gz
    found = sniffed(root / row["path"])
    assert found.format == expected
    assert not found.mismatch, found.warning


def test_corpus_covers_the_catalogue() -> None:
    """The manifest names only formats the catalogue knows (skipped without a corpus)."""
    if not CORPUS:
        pytest.skip("the shared corpus is not available")
    unknown = {row["format"] for row in CORPUS if row["format"] not in REGISTRY.formats}
    assert not unknown


# -- past what comes before the content ----------------------------------------------------------

MINI_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.mark.parametrize(
    "junk",
    [
        b"",
        b"\xef\xbb\xbf",
        b"HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\n\r\n",
        bytes(range(256)) * 3,
    ],
    ids=["none", "bom", "http-header", "binary-768"],
)
@pytest.mark.parametrize("name", ["report.pdf", "report"])
def test_a_pdf_header_after_up_to_1024_bytes_of_junk_is_a_pdf(tmp_path: Path, junk: bytes, name: str) -> None:
    found = sniffed(write(tmp_path, name, junk + MINI_PDF))
    assert found.format == "pdf" and not found.mismatch


def test_a_pdf_header_past_1024_bytes_is_not_looked_for(tmp_path: Path) -> None:
    assert fmt_of(tmp_path, "late", b"x" * 1025 + MINI_PDF) == "txt"


def test_text_that_mentions_a_pdf_header_stays_text_unless_it_parses_as_pdf(tmp_path: Path) -> None:
    path = write(tmp_path, "notes.txt", b"Files start with %PDF-1.7 then a binary comment.\n")
    assert sniffed(path, confirm=lambda p, f: False) == Sniffed("txt", "txt")
    asked: list[str] = []
    assert sniffed(path, confirm=lambda p, f: asked.append(f) or f == "pdf") == Sniffed("pdf", "txt")
    assert asked == ["pdf"]


def id3(body_size: int, *, version: int = 3, footer: bool = False) -> bytes:
    """An ID3v2 tag with ``body_size`` bytes of frames (zeros: padding)."""
    size = bytes((body_size >> shift) & 0x7F for shift in (21, 14, 7, 0))
    flags = 0x10 if footer else 0
    tag = b"ID3" + bytes((version, 0, flags)) + size + b"\0" * body_size
    return tag + (b"3DI" + bytes((version, 0, flags)) + size if footer else b"")


def ape(body_size: int) -> bytes:
    """An APEv2 tag with a header: its size field counts the items and the footer, not the header."""
    header = b"APETAGEX" + (2000).to_bytes(4, "little") + (body_size + 32).to_bytes(4, "little") + bytes(16)
    return header + b"\0" * body_size + header


FLAC = b"fLaC\x00\x00\x00\x22" + b"\x00" * 64
MP3_FRAME = b"\xff\xfb\x90\x64" + b"\x00" * 64
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 64


@pytest.mark.parametrize(
    ("tags", "stream", "expected"),
    [
        (id3(100), FLAC, "flac"),
        (id3(HEAD_SIZE * 3), FLAC, "flac"),  # a tag holding cover art bigger than the head
        (id3(100, version=4, footer=True), FLAC, "flac"),
        (id3(100), WAV, "wav"),
        (id3(HEAD_SIZE * 2), MP3_FRAME, "mp3"),
        (id3(100, version=2), b"\x00" * 64, "mp3"),  # padding after the tag: a tagged file is mp3
        (ape(200), MP3_FRAME, "mp3"),
        (id3(50) + ape(80), FLAC, "flac"),
        (id3(50) + id3(70), FLAC, "flac"),
        (id3(100), b"\xff\xf1\x50\x80" + b"\x00" * 64, "m4a"),  # raw AAC (ADTS) named .aac
        (id3(100), b"\xff\xf9\x50\x80" + b"\x00" * 64, "m4a"),
    ],
    ids=["id3-flac", "big-id3-flac", "id3v4-footer-flac", "id3-wav", "big-id3-mp3", "id3v2.2-padding",
         "ape-mp3", "id3-ape-flac", "two-id3-flac", "id3-adts-mpeg4", "id3-adts-mpeg2"],
)  # fmt: skip
def test_tags_before_the_stream_are_skipped(
    tmp_path: Path, tags: bytes, stream: bytes, expected: str
) -> None:
    found = sniffed(write(tmp_path, f"song.{'aac' if expected == 'm4a' else expected}", tags + stream))
    assert found == Sniffed(expected, expected)


def test_a_flac_with_an_id3_tag_named_mp3_is_flac_and_said_so(tmp_path: Path) -> None:
    found = sniffed(write(tmp_path, "song.mp3", id3(100) + FLAC))
    assert found == Sniffed("flac", "mp3") and found.mismatch


def test_bigtiff_in_both_byte_orders(tmp_path: Path) -> None:
    for head in (b"II+\x00\x08\x00\x00\x00", b"MM\x00+\x00\x08\x00\x00"):
        assert sniffed(write(tmp_path, "scan.tif", head + b"\x00" * 64)) == Sniffed("tiff", "tiff")


# -- text named as something it is not -----------------------------------------------------------

HOSTILE_TEXT = {
    "m3u": b"#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:10.0,\nhttp://127.0.0.1:1/x.ts\n#EXT-X-ENDLIST\n",
    "ffconcat": b"ffconcat version 1.0\nfile '/etc/passwd'\n",
    "sdp": b"v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nm=video 1 RTP/AVP 96\r\n",
    "mvg": b"push graphic-context\nviewbox 0 0 640 480\nfill 'url(https://127.0.0.1/x.jpg)'\n",
    "ps": b"%!PS-Adobe-3.0\n/Helvetica findfont 12 scalefont setfont 72 72 moveto (hi) show showpage\n",
    "pls": b"[playlist]\nFile1=http://127.0.0.1:1/stream\nNumberOfEntries=1\n",
}


@pytest.mark.parametrize("kind", sorted(HOSTILE_TEXT))
@pytest.mark.parametrize("name", ["clip.mp4", "photo.png", "song.mp3", "report.pdf"])
def test_a_script_or_playlist_named_as_media_is_a_mismatch_naming_what_it_is(
    tmp_path: Path, kind: str, name: str
) -> None:
    with pytest.raises(ConversioError) as info:
        sniffed(write(tmp_path, name, HOSTILE_TEXT[kind]), confirm=lambda p, f: False)
    assert info.value.code == "FORMAT_MISMATCH"
    described = REGISTRY.formats.get(kind).description.split(" (")[0]
    assert info.value.message.startswith(f"{name} is named as ")
    assert described in info.value.message
    assert info.value.details == {"file": name, "claimed": name.rsplit(".")[1], "format": kind}


@pytest.mark.parametrize("kind", sorted(HOSTILE_TEXT))
def test_a_script_or_playlist_under_its_own_name_is_what_it_is(tmp_path: Path, kind: str) -> None:
    ext = REGISTRY.formats.get(kind).extension
    assert sniffed(write(tmp_path, f"list.{ext}", HOSTILE_TEXT[kind])) == Sniffed(kind, kind)
    assert sniffed(write(tmp_path, "no-extension", HOSTILE_TEXT[kind])) == Sniffed(kind, None)


@pytest.mark.parametrize(
    ("name", "data", "found"),
    [
        ("photo.png", b"just some words\n", "plain text"),
        ("clip.avi", b"file 'a.mp4'\nfile 'b.mp4'\n", "plain text"),
        ("page.jpg", b"<!DOCTYPE html><html><body>hi</body></html>", "an HTML page"),
        ("data.xlsx", b"a,b\n1,2\n", "plain text"),
    ],
)
def test_text_named_as_a_binary_format_is_a_mismatch(
    tmp_path: Path, name: str, data: bytes, found: str
) -> None:
    asked: list[str] = []
    with pytest.raises(ConversioError) as info:
        sniffed(write(tmp_path, name, data), confirm=lambda p, f: asked.append(f) or False)
    assert info.value.code == "FORMAT_MISMATCH"
    assert found in info.value.message
    assert asked == [name.rsplit(".")[1]]  # the name was given its chance


def test_a_name_the_content_parses_as_wins_over_a_weak_guess(tmp_path: Path) -> None:
    """Text-looking or unrecognised content that the named format's plugin can read is that format."""
    ascii_pdf = write(tmp_path, "scan.pdf", b"x" * 2000 + MINI_PDF)
    assert sniffed(ascii_pdf, confirm=lambda p, f: f == "pdf") == Sniffed("pdf", "pdf")
    raw_mp3 = write(tmp_path, "take.mp3", bytes(range(1, 256)) * 8)
    assert sniffed(raw_mp3, confirm=lambda p, f: f == "mp3") == Sniffed("mp3", "mp3")
    with pytest.raises(ConversioError) as info:
        sniffed(raw_mp3, confirm=lambda p, f: False)
    assert info.value.code == "UNSUPPORTED_FORMAT"
    assert "take.mp3" in info.value.message and "does not read as an MP3 audio" in info.value.message


def test_svg_named_png_is_an_image_with_a_warning(tmp_path: Path) -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>'
    assert sniffed(write(tmp_path, "logo.png", svg), confirm=lambda p, f: False) == Sniffed("svg", "png")


def test_plain_text_with_no_name_stays_text(tmp_path: Path) -> None:
    assert sniffed(write(tmp_path, "README", b"hello\n"), confirm=lambda p, f: False) == Sniffed("txt", None)


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize(
    ("name", "expected"), [("table.csv", "csv"), ("notes.txt", "txt"), ("README", "txt")]
)
def test_utf16_text_with_a_bom_is_text(tmp_path: Path, encoding: str, name: str, expected: str) -> None:
    bom = codecs.BOM_UTF16_LE if encoding.endswith("le") else codecs.BOM_UTF16_BE
    data = bom + "Name;Stadt\nJürgen;Köln\nЁлка;Москва\n".encode(encoding) * 400  # past the head
    assert sniffed(write(tmp_path, name, data)).format == expected


def test_binary_behind_a_utf16_bom_is_not_text(tmp_path: Path) -> None:
    data = codecs.BOM_UTF16_LE + bytes([0x00, 0xD8, 0x41, 0x00]) * 64  # unpaired surrogates
    with pytest.raises(ConversioError) as info:
        sniffed(write(tmp_path, "x.csv", data), confirm=lambda p, f: False)
    assert info.value.code == "UNSUPPORTED_FORMAT"
    assert "does not read as comma-separated values" in info.value.message


@pytest.mark.parametrize(
    ("name", "data"), [("table.csv", b"a;b\n1;2\n"), ("notes.txt", b"hi\n"), ("x.md", b"# t\n")]
)
def test_a_name_the_content_agrees_with_asks_no_plugin(tmp_path: Path, name: str, data: bytes) -> None:
    """Every text file is sniffed: plugins are asked only when name and content disagree."""
    asked: list[str] = []
    found = sniffed(write(tmp_path, name, data), confirm=lambda p, f: asked.append(f) or None)
    assert not found.mismatch and asked == []
