"""What Chromium is given to load: web address files, single pages and pages with their files.

No browser here: these read the inputs (and refuse hostile ones) before Chromium is started.
"""

from __future__ import annotations

import codecs
import io
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conversio_chromium.bundles import MAX_SITE_SIZE
from conversio_chromium.inputs import SITE_ORIGIN, Source, load_source

import conversio
from conversio.converters import ConversionRequest, InputFile
from conversio.errors import ConversioError
from conversio.limits import Limits
from conversio.testing import make_conversio


@pytest.fixture(scope="module")
def sniffer() -> Iterator[conversio.Conversio]:
    """conversio with only the built-in plugin and this one, for sniffing."""
    instance = make_conversio("conversio_chromium.plugin", cache=False)
    yield instance
    instance.close()


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def load(path: Path, source: str, limits: Limits | None = None) -> Source:
    request = ConversionRequest(
        inputs=(InputFile(path, path.name, source),),
        output_dir=path.parent,
        source=source,
        target="pdf",
        limits=limits or Limits(),
    )
    return load_source(request)


def refusal(path: Path, source: str, limits: Limits | None = None) -> ConversioError:
    with pytest.raises(ConversioError) as info:
        load(path, source, limits)
    assert path.name in info.value.message  # the user's file is named
    assert str(path.parent) not in info.value.message  # and no path of the host
    return info.value


def zipped(members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


# -- web addresses ------------------------------------------------------------------------------

SHORTCUT = b"[InternetShortcut]\r\nURL=https://example.org/report?id=7\r\nIconIndex=0\r\n"
#: What Windows Explorer writes: another section before the shortcut's own.
EXPLORER_SHORTCUT = (
    b"[{000214A0-0000-0000-C000-000000000046}]\r\nProp3=19,11\r\n"
    b"[InternetShortcut]\r\nIDList=\r\nURL=https://example.org/\r\n"
)


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("site.url", SHORTCUT, "url"),
        ("site.url", EXPLORER_SHORTCUT, "url"),
        ("link", b"https://example.org/a\n", "url"),
        ("notes.txt", b"# the report\n\nhttps://example.org/a\n", "url"),
        ("links.uri", b"# text/uri-list\r\nHTTP://EXAMPLE.ORG/\r\n", "url"),
        ("notes.txt", b"https://example.org/a\nhttps://example.org/b\n", "txt"),
        ("notes.txt", b"Read https://example.org/a before Monday.\n", "txt"),
        ("notes.txt", b"ftp://example.org/a\n", "txt"),
        ("notes.txt", b"https://example.org/\x07\n", "txt"),
        ("readme.md", b"https://example.org/a\n", "md"),
        ("notes.txt", b"https://example.org/" + b"a" * 5000 + b"\n", "txt"),
        # named as an address: taken as one, so that loading it refuses it rather than print its text
        ("evil.url", b"ftp://example.org/a\n", "url"),
        ("prose.url", b"Read this before Monday.\n", "url"),
    ],
)
def test_sniffing_says_url_only_for_one_web_address(
    sniffer: conversio.Conversio, tmp_path: Path, name: str, data: bytes, expected: str
) -> None:
    assert sniffer.sniff(write(tmp_path, name, data)).format == expected


@pytest.mark.parametrize(
    ("data", "url"),
    [
        (SHORTCUT, "https://example.org/report?id=7"),
        (EXPLORER_SHORTCUT, "https://example.org/"),
        (b"\xef\xbb\xbf[InternetShortcut]\nurl = http://example.org:8080/x\n", "http://example.org:8080/x"),
        (b"# comment\n\n  https://example.org/caf\xc3\xa9  \n", "https://example.org/café"),
        ("[InternetShortcut]\r\nURL=https://example.org/\r\n".encode("utf-16"), "https://example.org/"),
    ],
)
def test_an_address_file_gives_its_address(tmp_path: Path, data: bytes, url: str) -> None:
    source = load(write(tmp_path, "site.url", data), "url")
    assert (source.site, source.url, source.address) == (None, url, url)


@pytest.mark.parametrize(
    ("data", "code", "why"),
    [
        (b"[InternetShortcut]\nURL=file:///etc/passwd\n", "INVALID_REQUEST", "only http and https"),
        (b"javascript:alert(1)\n", "INVALID_REQUEST", "only http and https"),
        (b"https://user:secret@example.org/\n", "INVALID_REQUEST", "user name or password"),
        (b"https:///nohost\n", "INVALID_REQUEST", "no host"),
        (b"https://example.org:99999/\n", "INVALID_REQUEST", "not a well-formed address"),
        (b"https://example.org/" + b"a" * 3000 + b"\n", "INVALID_REQUEST", "longer than"),
        (b"https://example.org/a\nhttps://example.org/b\n", "CORRUPT_FILE", "one web address"),
        (b"# nothing here\n\n", "CORRUPT_FILE", "one web address"),
        (b"[InternetShortcut]\nURL=https://exa mple.org/\n", "INVALID_REQUEST", "spaces"),
        (b"\x00\x01binary", "CORRUPT_FILE", "not text"),
        (b"https://example.org/\n" + b"#" * 5000, "FILE_TOO_LARGE", "larger than 4096 bytes"),
    ],
)
def test_an_unusable_address_file_is_refused(tmp_path: Path, data: bytes, code: str, why: str) -> None:
    error = refusal(write(tmp_path, "site.url", data), "url")
    assert (error.code, why in error.message) == (code, True), error.message


# -- single pages -------------------------------------------------------------------------------


def test_a_page_is_served_as_its_own_bytes(tmp_path: Path) -> None:
    page = '<meta charset="windows-1251"><p>Привет</p>'.encode("cp1251")
    source = load(write(tmp_path, "letter.html", page), "html")
    assert source.site is not None
    assert dict(source.site.files) == {"index.html": page}  # not re-encoded: the page's charset holds
    assert source.address == f"{SITE_ORIGIN}/index.html"
    assert source.name == "letter.html"


@pytest.mark.parametrize(
    ("page", "marked"),
    [
        ("<p>Здравствуйте</p>".encode(), True),  # UTF-8 that says nothing: Chromium would guess cp1252
        ('<meta charset="utf-8"><p>Здравствуйте</p>'.encode(), False),
        ("<p>Здравствуйте</p>".encode("cp1251"), False),  # not UTF-8: left to the browser
        (b"<p>plain ASCII</p>", False),
        ("\ufeff<p>é</p>".encode(), False),  # marked already
    ],
)
def test_a_page_of_undeclared_utf8_is_marked_as_utf8(tmp_path: Path, page: bytes, marked: bool) -> None:
    source = load(write(tmp_path, "page.html", page), "html")
    assert source.site is not None
    assert source.site.files["index.html"] == (codecs.BOM_UTF8 + page if marked else page)


# -- pages with their files ---------------------------------------------------------------------

PAGE = b'<link rel=stylesheet href="css/site.css"><img src="img/deep/logo.png">'


def bundle(tmp_path: Path, members: dict[str, bytes], name: str = "site.htmlz", **kwargs: int) -> Path:
    return write(tmp_path, name, zipped(members, **kwargs))


def test_a_bundle_serves_its_files_by_their_path_from_the_page(tmp_path: Path) -> None:
    members = {"index.html": PAGE, "css/site.css": b"p{}", "img/deep/logo.png": b"\x89PNG", "./a.js": b"1"}
    source = load(bundle(tmp_path, members), "htmlz")
    assert source.site is not None
    assert dict(source.site.files) == {
        "index.html": PAGE,
        "css/site.css": b"p{}",
        "img/deep/logo.png": b"\x89PNG",
        "a.js": b"1",
    }


def test_a_zipped_folder_is_read_from_inside_it(tmp_path: Path) -> None:
    members = {"site/index.html": PAGE, "site/css/site.css": b"p{}", "__MACOSX/site/._index.html": b"x"}
    source = load(bundle(tmp_path, members), "htmlz")
    assert source.site is not None
    assert sorted(source.site.files) == ["css/site.css", "index.html"]


def test_links_folders_and_special_files_are_left_out(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.html", PAGE)
        archive.writestr("css/", b"")
        link = zipfile.ZipInfo("secret.txt")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
        fifo = zipfile.ZipInfo("pipe")
        fifo.external_attr = (stat.S_IFIFO | 0o644) << 16
        archive.writestr(fifo, b"")
    source = load(write(tmp_path, "site.htmlz", buffer.getvalue()), "htmlz")
    assert source.site is not None and list(source.site.files) == ["index.html"]


@pytest.mark.parametrize(
    "evil", ["../outside.css", "css/../../outside.css", "/etc/passwd", "C:/x.css", "..\\x"]
)
def test_a_name_reaching_outside_the_bundle_is_refused(tmp_path: Path, evil: str) -> None:
    error = refusal(bundle(tmp_path, {"index.html": PAGE, evil: b"x"}), "htmlz")
    assert error.code == "CORRUPT_FILE" and "outside the bundle" in error.message


def test_two_files_of_one_name_are_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive, pytest.warns(UserWarning):
        archive.writestr("index.html", PAGE)
        archive.writestr("index.html", b"<p>the other one</p>")
    error = refusal(write(tmp_path, "site.htmlz", buffer.getvalue()), "htmlz")
    assert error.code == "CORRUPT_FILE" and "two files named 'index.html'" in error.message


@pytest.mark.parametrize(
    "members",
    [
        {"page.html": PAGE, "css/site.css": b"p{}"},
        {"a/index.html": PAGE, "b/index.html": PAGE},  # two folders: which page?
        {"site/index.html": PAGE, "top.css": b"p{}"},  # not one folder holding everything
    ],
)
def test_a_bundle_without_index_html_at_its_root_is_refused(
    tmp_path: Path, members: dict[str, bytes]
) -> None:
    error = refusal(bundle(tmp_path, members), "htmlz")
    assert error.code == "CORRUPT_FILE" and "no index.html at its root" in error.message


def test_a_zip_bomb_is_refused_by_its_ratio(tmp_path: Path) -> None:
    path = bundle(tmp_path, {"index.html": PAGE, "bomb.css": b"\0" * (20 * 1024 * 1024)})
    assert path.stat().st_size < 100_000
    error = refusal(path, "htmlz")
    assert (error.code, error.details["limit"]) == ("FILE_TOO_LARGE", "max_compression_ratio")


def test_a_member_lying_about_its_size_is_refused(tmp_path: Path) -> None:
    """The headers say 10 bytes; the data inflates to 8 MiB: no more than 10 bytes are taken, and
    their checksum is wrong."""
    data = bytearray(zipped({"index.html": PAGE, "big.css": b"\0" * (8 * 1024 * 1024)}))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("big.css")
    for offset in (info.header_offset + 22, data.rfind(b"PK\x01\x02") + 24):  # local header, directory
        data[offset : offset + 4] = (10).to_bytes(4, "little")
    error = refusal(write(tmp_path, "site.htmlz", bytes(data)), "htmlz")
    assert error.code == "CORRUPT_FILE" and "big.css" in error.message


def test_the_unpacked_size_and_the_members_are_limited(tmp_path: Path) -> None:
    stored = bundle(tmp_path, {"index.html": PAGE, "a.bin": b"x" * 5000}, compression=zipfile.ZIP_STORED)
    error = refusal(stored, "htmlz", Limits(max_unpacked_size=4096))
    assert (error.code, error.details["limit"]) == ("FILE_TOO_LARGE", "max_unpacked_size")

    many = bundle(tmp_path, {"index.html": PAGE} | {f"f{i}.css": b"" for i in range(20)}, name="many.htmlz")
    error = refusal(many, "htmlz", Limits(max_members=10))
    assert (error.code, error.details["limit"]) == ("FILE_TOO_LARGE", "max_members")
    assert Limits().max_unpacked_size > MAX_SITE_SIZE  # held in memory: capped below the default


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"PK\x03\x04 this is not a zip after all", "CORRUPT_FILE"),
        (b"<html>not a zip</html>", "CORRUPT_FILE"),
    ],
)
def test_a_bundle_that_is_no_zip_is_refused(tmp_path: Path, data: bytes, code: str) -> None:
    assert refusal(write(tmp_path, "site.htmlz", data), "htmlz").code == code


def test_sniffing_takes_a_zip_for_a_bundle_only_when_its_name_says_so(
    sniffer: conversio.Conversio, tmp_path: Path
) -> None:
    data = zipped({"index.html": PAGE})
    assert sniffer.sniff(write(tmp_path, "site.htmlz", data)).format == "htmlz"
    assert sniffer.sniff(write(tmp_path, "site.zip", data)).format == "zip"
