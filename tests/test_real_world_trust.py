"""Issue 16 across every plugin: what a file really is decides, and a wrong guess is refused, never
converted. Real plugins, real engines; outputs are opened and checked."""

from __future__ import annotations

import json
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import pypdfium2  # type: ignore[import-untyped]
import pytest
from PIL import Image

import conversio
from conversio.errors import ConversioError

#: Text that is a program or a list of other files, as attackers and confused users send it.
SCRIPTS = {
    "hls playlist": b"#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:10.0,\nhttp://127.0.0.1:9/x.ts\n#EXT-X-ENDLIST\n",
    "concat list": b"ffconcat version 1.0\nfile '/etc/passwd'\n",
    "bare concat list": b"file 'a.mp4'\nfile 'b.mp4'\n",
    "stream description": b"v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nm=video 9 RTP/AVP 96\r\n",
    "vector drawing": b"push graphic-context\nviewbox 0 0 640 480\nfill 'url(https://127.0.0.1:9/x.jpg)'\n",
    "postscript": b"%!PS-Adobe-3.0\n/Helvetica findfont 12 scalefont setfont (x) show showpage\n",
}


@pytest.mark.parametrize("script", sorted(SCRIPTS))
@pytest.mark.parametrize(("name", "target"), [("clip.mp4", "gif"), ("photo.png", "jpg"), ("anim.gif", "mp4")])
def test_text_named_as_media_is_refused_for_what_it_is(
    app: conversio.Conversio, tmp_path: Path, script: str, name: str, target: str
) -> None:
    path = tmp_path / name
    path.write_bytes(SCRIPTS[script])
    before = {a.id for a in app.store.list()}
    with pytest.raises(ConversioError) as info:
        app.convert(path, to=target).run()
    assert info.value.code == "FORMAT_MISMATCH", info.value
    assert info.value.message.startswith(f"{name} is named as ")
    assert {a.id for a in app.store.list()} == before, "something was stored or converted"


def test_text_with_no_name_is_not_rendered_unless_asked(app: conversio.Conversio, tmp_path: Path) -> None:
    path = tmp_path / "README"
    path.write_text("Hello, world.\n")
    with pytest.raises(ConversioError) as info:
        app.convert(path, to="png").run()
    assert info.value.code == "UNSUPPORTED_FORMAT"
    assert info.value.message.startswith("README is plain text")
    pages = app.convert(path, to="png", via=["pdf"]).run()
    assert len(pages) == 1
    with app.store.open(pages.artifact.id) as fh, Image.open(fh) as image:
        assert (
            image.format == "PNG"
            and image.convert("L").point(lambda v: 255 if v < 128 else 0).getbbox() is not None
        )  # ink


def test_a_pdf_behind_junk_gives_its_text_not_its_bytes(app: conversio.Conversio, tmp_path: Path) -> None:
    pdf = app.convert(_text_file(tmp_path, "Real words in the PDF"), to="pdf").run().read_bytes()
    path = tmp_path / "download"  # no extension, as saved from a broken proxy
    path.write_bytes(b"HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\n\r\n" + pdf)
    assert app.sniff(path).format == "pdf"
    text = app.convert(path, to="txt").run().read_bytes()
    assert b"%PDF" not in text and b"Real words in the PDF" in text


def test_an_empty_file_is_empty(app: conversio.Conversio, tmp_path: Path) -> None:
    path = tmp_path / "nothing.docx"
    path.write_bytes(b"")
    with pytest.raises(ConversioError) as info:
        app.convert(path, to="pdf").run()
    assert info.value.code == "EMPTY_FILE" and "nothing.docx" in info.value.message


def test_a_repacked_album_keeps_its_name_and_reports_what_was_left_out(
    app: conversio.Conversio, tmp_path: Path, photo: Callable[..., Path]
) -> None:
    album = tmp_path / "album.zip"
    with zipfile.ZipFile(album, "w") as zf:
        for name in ("one.png", "two.png"):
            zf.write(photo(tmp_path / name), name)
        link = zipfile.ZipInfo("shortcut")
        link.external_attr = 0o120777 << 16  # a symbolic link
        zf.writestr(link, "/etc/passwd")
    result = app.convert(album, to="zip", via=["webp"]).run()
    assert [a.name for a in result] == ["album.zip"]
    assert any("album.zip" in w and "shortcut" in w for w in result.warnings), result.warnings
    with app.store.open(result.artifact.id) as fh, zipfile.ZipFile(fh) as zf:
        assert sorted(zf.namelist()) == ["one.webp", "two.webp"]


def test_the_cli_refuses_a_mismatch_with_a_code_and_no_output(
    run_cli: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    (tmp_path / "clip.mp4").write_bytes(SCRIPTS["hls playlist"])
    done = run_cli("convert", "clip.mp4", "--to", "gif", "-o", "out/", "--json", cwd=tmp_path)
    assert done.returncode == 3, done.stderr
    error = json.loads(done.stdout)["error"]
    assert error["code"] == "FORMAT_MISMATCH" and "an M3U playlist" in error["message"]
    assert not (tmp_path / "out").exists()


def _text_file(tmp_path: Path, words: str) -> Path:
    path = tmp_path / "words.txt"
    path.write_text(words + "\n")
    return path


def test_pdf_text_route_really_went_through_pdf(app: conversio.Conversio, tmp_path: Path) -> None:
    """The fixture above: a .txt rendered to a real one-page PDF holding its words."""
    result = app.convert(_text_file(tmp_path, "checked words"), to="pdf").run()
    with app.store.open(result.artifact.id) as fh:
        document = pypdfium2.PdfDocument(fh.read())
    assert len(document) == 1
    assert "checked words" in document[0].get_textpage().get_text_range()
