"""Issue 16: real-world office files give the right PDF or a clear refusal.

Legacy formats the 97 filters cannot read (by LibreOffice's detection, within the format's
allowed filters), real web pages (the corpus's and one written here with their quirks), CSV in
every common encoding and separator, unsupported encryption, and what messages say.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from conversio_office.convert import convert_to_pdf
from conversio_office.soffice import office
from conversio_office.staging import staged_name
from pdftext import convert, pdf_text

import conversio
from conversio.converters import ConversionRequest, InputFile
from conversio.errors import ConversioError
from conversio.testing import corpus_files

DATA = Path(__file__).with_name("data")
#: Words each corpus page must show in its PDF.
PAGE_WORDS = {
    "readability-wikipedia.html": ["Mozilla", "Firefox"],
    "readability-ietf-1.html": ["remoteStorage", "bearer token"],
    "resume.html": ["Предлагаем Вам ознакомиться", "Superjob"],
}
HTML_PAGES = [(p, row) for p, row in corpus_files("markup") if p.suffix == ".html"]


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("Word6.doc", "The quick brown fox jumps over the lazy dog"),  # Word 6.0, nFib 101
        ("testEXCEL_95.xls", "Numbers and their Squares"),  # BIFF5
    ],
)
def test_legacy_formats_convert(app: conversio.Conversio, name: str, words: str) -> None:
    assert words in pdf_text(convert(app, DATA / name))


def test_text_named_doc_is_still_refused(app: conversio.Conversio, tmp_path: Path) -> None:
    """Detection is a fallback among Word filters only: text is not 'rescued' as a document."""
    source = tmp_path / "notes.doc"
    source.write_bytes(b"\xd0\xcf\x11\xe0 not really a Word file\n" * 50)
    with pytest.raises(ConversioError) as info:
        convert(app, source)
    assert info.value.code in ("CORRUPT_FILE", "FORMAT_MISMATCH", "UNSUPPORTED_FORMAT")
    _clean_message(info.value, "notes.doc")


def _clean_message(error: ConversioError, name: str) -> None:
    text = f"{error.message} {error.details}"
    assert name in error.message
    for internal in ("com.sun.star", "Exception", "/tmp", "file://", "./", "bridge", "UNO"):
        assert internal not in text, text


@pytest.mark.corpus
@pytest.mark.parametrize(("path", "row"), HTML_PAGES, ids=[p.name for p, _ in HTML_PAGES])
def test_corpus_pages_print(app: conversio.Conversio, path: Path, row: dict[str, str]) -> None:
    """The Wikipedia and IETF pages crashed soffice over UNO (noscript images, repeated meta names)."""
    text = pdf_text(convert(app, path))
    for word in PAGE_WORDS.get(path.name, []):
        assert word in text


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[str]]

    def do_GET(self) -> None:
        self.seen.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []
    handler = type("Handler", (_Recorder,), {"seen": seen})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    httpd.shutdown()


def test_quirky_page_prints_without_fetching(
    app: conversio.Conversio, tmp_path: Path, server: tuple[str, list[str]]
) -> None:
    """No doctype, a Windows-1251 meta charset, inline styles, unclosed and stray tags, a
    noscript pixel, repeated meta names, a stylesheet, script and images on a server."""
    url, seen = server
    page = (
        "<html><head><meta http-equiv='Content-Type' content='text/html; charset=windows-1251'>"
        '<meta name="DC.Creator" content="A"><meta name="DC.Creator" content="B">'
        f'<link rel="stylesheet" href="{url}/style.css"><script src="{url}/app.js"></script>'
        "<title>Отчёт</title></head><body style='font-family:Verdana;color:#333'>"
        "<div><noscript><img src='//example.invalid/pixel.gif' width=1 height=1></noscript></div>"
        "<h1 style='color:red'>Квартальный отчёт</h1><p>Привет, мир <b>жирный <i>курсив</b></i>"
        f"<table><tr><td>Ячейка<td>два</table></p></span><img src='{url}/logo.png'>"
        f"<p style='background:url({url}/bg.png)'>Конец"
    )
    source = tmp_path / "report.html"
    source.write_bytes(page.encode("cp1251"))
    text = pdf_text(convert(app, source))
    for word in ("Квартальный отчёт", "Привет, мир", "Ячейка", "Конец"):
        assert word in text
    assert seen == []


def test_soffice_crash_is_reported_as_a_crash(tmp_path: Path) -> None:
    """The raw page (not staged) kills soffice 7.4: the answer says CRASHED, and the next job runs."""
    page = tmp_path / "crash.html"
    page.write_text("<html><body><div><noscript><img src='//x.invalid/p.gif'></noscript></div></body></html>")
    job = {
        "input": page.as_uri(),
        "output": (tmp_path / "out.pdf").as_uri(),
        "import_filter": "HTML (StarWriter)",
        "export_filter": "pdf",
    }
    answer = office().run(job, 60)
    assert answer["error"] == "CRASHED"
    ok = tmp_path / "ok.html"
    ok.write_text("<html><body><p>fine</p></body></html>")
    assert office().run({**job, "input": ok.as_uri()}, 60) == {"ok": True}


CSV_ROWS = [
    ["Name", "Stadt", "Preis"],
    ["Müller; Jürgen, Jr.", "Köln", "12,50 €"],
    ["Zoë|Ёлка", "Genève\tGE", "3"],
]


def _csv(separator: str) -> str:
    def field(value: str) -> str:
        return f'"{value}"' if any(c in value for c in ',;\t|"') else value

    return "".join(separator.join(field(v) for v in row) + "\r\n" for row in CSV_ROWS)


@pytest.mark.parametrize("separator", [",", ";", "\t", "|"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-be-bom"])
def test_csv_cells_keep_their_characters(
    app: conversio.Conversio, tmp_path: Path, separator: str, encoding: str
) -> None:
    text = _csv(separator)
    data = b"\xfe\xff" + text.encode("utf-16-be") if encoding == "utf-16-be-bom" else text.encode(encoding)
    source = tmp_path / "Quarterly prices.csv"
    source.write_bytes(data)
    lines = pdf_text(_convert_csv(source, tmp_path)).split("\n")
    assert "Name Stadt Preis" in lines
    assert "Müller; Jürgen, Jr. Köln 12,50 €" in lines
    assert any(line.startswith("Zoë|Ёлка Genève") for line in lines)


def _convert_csv(source: Path, tmp_path: Path) -> bytes:
    """The converter itself (conversio's sniffing does not take UTF-16 text for CSV yet)."""
    out = tmp_path / "out"
    out.mkdir()
    request = ConversionRequest(
        inputs=(InputFile(source, source.name, "csv"),), output_dir=out, source="csv", target="pdf"
    )
    [pdf] = convert_to_pdf(request)
    return pdf.path.read_bytes()


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_csv_in_a_western_code_page(app: conversio.Conversio, tmp_path: Path, encoding: str) -> None:
    rows = "Name;Stadt;Preis\r\nMüller, Jürgen;Köln;12,50\r\nZoë;Genève;3\r\n"
    if encoding == "cp1252":
        rows = rows.replace("12,50", "12,50 €")
    source = tmp_path / "prices.csv"
    source.write_bytes(rows.encode(encoding))
    lines = pdf_text(convert(app, source)).split("\n")
    assert "Müller, Jürgen Köln " + ("12,50 €" if encoding == "cp1252" else "12,50") in lines
    assert "Zoë Genève 3" in lines


def test_csv_quoted_newline_stays_in_its_cell(app: conversio.Conversio, tmp_path: Path) -> None:
    source = tmp_path / "notes.csv"
    rows = 'id;note;owner\n1;"first line\nsecond line; still note";Ana\n2;plain;Bo\n'
    source.write_text(rows, encoding="utf-8")
    lines = pdf_text(convert(app, source)).split("\n")
    assert {"id note owner", "1 Ana", "2 plain Bo", "first line", "second line; still note"} <= set(lines)


def test_page_header_shows_the_users_file_name(app: conversio.Conversio, tmp_path: Path) -> None:
    """Calc names a CSV's sheet after the file and prints the sheet name as the page header."""
    source = tmp_path / "Budget 2026 (draft).csv"
    source.write_text("a,b\n1,2\n", encoding="utf-8")
    first_line = pdf_text(convert(app, source)).split("\n", 1)[0]
    assert first_line == "Budget 2026 (draft)"


def test_staged_name_is_safe() -> None:
    assert staged_name("../../etc/passwd", "txt") == "passwd.txt"
    assert staged_name("Q1 report.docx", "docx") == "Q1 report.docx"
    assert staged_name("", "csv") == "document.csv"


def test_encrypted_ppt_is_unsupported_encryption(app: conversio.Conversio) -> None:
    """LibreOffice 7.4 opens no encrypted .ppt (RC4 CryptoAPI), not even with the right password."""
    source = DATA / "Password_Protected-hello.ppt"
    for options in ({}, {"password": "hello"}, {"password": "wrong"}):
        with pytest.raises(ConversioError) as info:
            convert(app, source, **options)
        assert info.value.code == "UNSUPPORTED_ENCRYPTION"
        _clean_message(info.value, source.name)
