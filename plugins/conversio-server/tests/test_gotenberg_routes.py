"""Gotenberg's routes with raw multipart requests against a real server on 127.0.0.1: each route,
form values read back from the results (pikepdf, Pillow), the Gotenberg headers, its statuses and
plain-text errors, webhook deliveries to a local receiver, and API keys as Gotenberg clients send
them (basic auth, bearer), each key kept to its own jobs."""

from __future__ import annotations

import base64
import io
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pikepdf
import pypdf
import pypdfium2
import pytest
from conftest import LiveServer, dev_settings, needs, start_server
from conversio_server.auth import AuthConfig
from conversio_server.keys import KeyStore
from conversio_server.settings import ServerSettings
from jobs_support.receiver import Received, Receiver
from PIL import Image

needs("pdf")

WAIT = 60.0
LETTER = (612.0, 792.0)


def pdf_bytes(*texts: str, size: tuple[float, float] = LETTER) -> bytes:
    """A PDF with one blank page per text (its size ``size``) and the texts as its title."""
    pdf = pikepdf.new()
    for _ in texts:
        pdf.add_blank_page(page_size=size)
    pdf.docinfo["/Title"] = " ".join(texts)
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def opened(content: bytes, password: str = "") -> pikepdf.Pdf:
    return pikepdf.open(io.BytesIO(content), password=password)


def page_sizes(content: bytes) -> list[tuple[float, float]]:
    with opened(content) as pdf:
        return [
            (float(p.mediabox[2] - p.mediabox[0]), float(p.mediabox[3] - p.mediabox[1])) for p in pdf.pages
        ]


def text_of(content: bytes) -> str:
    """The text of the first page."""
    return str(pypdfium2.PdfDocument(content)[0].get_textpage().get_text_range())


def members(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def wait_for(receiver: Receiver, path: str) -> Received:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        found = [r for r in receiver.requests if r.path == path]
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"nothing was delivered to {path} within {WAIT} s")


@pytest.fixture(scope="module")
def gotenberg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A development server whose webhooks and input URLs may reach 127.0.0.1."""
    settings = dev_settings(
        tmp_path_factory.mktemp("gotenberg"), url_allow=("127.0.0.1",), job_workers=0, webhook_retry="1,1"
    )
    server = start_server(settings)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def http(gotenberg: LiveServer) -> Iterator[httpx.Client]:
    with gotenberg.client() as client:
        yield client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    yield hook
    hook.httpd.shutdown()
    hook.httpd.server_close()


# -- the PDF engines ---------------------------------------------------------------------------------


def test_merge_in_name_order_with_the_output_filename_and_the_trace(http: httpx.Client) -> None:
    files = [("files", ("b.pdf", pdf_bytes("two", "three"))), ("files", ("a.pdf", pdf_bytes("one")))]
    reply = http.post(
        "/forms/pdfengines/merge",
        files=files,
        headers={"Gotenberg-Output-Filename": "report", "Gotenberg-Trace": "trace-42"},
    )
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "application/pdf"
    assert 'filename="report.pdf"' in reply.headers["content-disposition"]
    assert reply.headers["gotenberg-trace"] == "trace-42"
    assert len(page_sizes(reply.content)) == 3
    untraced = http.post("/forms/pdfengines/merge", files=files)
    assert uuid.UUID(untraced.headers["gotenberg-trace"])  # made up when the client sends none


def test_split_by_intervals_answers_a_zip_and_pages_unified_one_pdf(http: httpx.Client) -> None:
    document = [("files", ("deck.pdf", pdf_bytes("1", "2", "3", "4", "5")))]
    parts = http.post(
        "/forms/pdfengines/split", files=document, data={"splitMode": "intervals", "splitSpan": "2"}
    )
    assert parts.status_code == 200, parts.text
    assert parts.headers["content-type"] == "application/zip"
    assert {name: len(page_sizes(c)) for name, c in members(parts.content).items()} == {
        "deck_0.pdf": 2,
        "deck_1.pdf": 2,
        "deck_2.pdf": 1,
    }
    ranges = {"splitMode": "pages", "splitSpan": "1-2,5"}
    assert len(members(http.post("/forms/pdfengines/split", files=document, data=ranges).content)) == 2
    unified = http.post("/forms/pdfengines/split", files=document, data={**ranges, "splitUnify": "true"})
    assert unified.headers["content-type"] == "application/pdf"
    assert len(page_sizes(unified.content)) == 3


def test_encrypt_and_write_metadata(http: httpx.Client) -> None:
    document = [("files", ("memo.pdf", pdf_bytes("memo")))]
    locked = http.post(
        "/forms/pdfengines/encrypt", files=document, data={"userPassword": "open", "ownerPassword": "own"}
    )
    assert locked.status_code == 200, locked.text
    with pytest.raises(pikepdf.PasswordError):
        opened(locked.content)
    with opened(locked.content, "open") as pdf:
        assert pdf.is_encrypted
    meta = '{"Title": "Budget", "Author": "Ada", "Keywords": ["money", "plans"]}'
    written = http.post("/forms/pdfengines/metadata/write", files=document, data={"metadata": meta})
    assert written.status_code == 200, written.text
    with opened(written.content) as pdf:
        assert str(pdf.docinfo["/Title"]) == "Budget" and str(pdf.docinfo["/Author"]) == "Ada"


def test_rotate_stamp_and_owner_only_encryption(http: httpx.Client) -> None:
    document = [("files", ("deck.pdf", pdf_bytes("1", "2", "3")))]
    turned = http.post(
        "/forms/pdfengines/rotate", files=document, data={"rotateAngle": "90", "rotatePages": "2"}
    )
    assert turned.status_code == 200, turned.text
    with opened(turned.content) as pdf:
        assert [int(p.obj.get("/Rotate", 0)) for p in pdf.pages] == [0, 90, 0]
    stamped = http.post(
        "/forms/pdfengines/stamp",
        files=document,
        data={"stampSource": "text", "stampExpression": "APPROVED", "stampOptions": '{"opacity": 0.5}'},
    )
    assert stamped.status_code == 200, stamped.text
    assert "APPROVED" in text_of(stamped.content)
    image = http.post("/forms/pdfengines/watermark", files=document, data={"watermarkSource": "image"})
    assert image.status_code == 400 and "watermarkSource" in image.text
    owner = http.post("/forms/pdfengines/encrypt", files=document, data={"ownerPassword": "own"})
    with opened(owner.content) as pdf:  # anyone opens it; only the owner may change it
        assert pdf.is_encrypted and len(pdf.pages) == 3


def test_every_route_applies_the_pdf_engine_fields(http: httpx.Client) -> None:
    fields = {"rotateAngle": "180", "stampExpression": "APPROVED", "userPassword": "open"}
    merged = http.post("/forms/pdfengines/merge", files=[("files", ("a.pdf", pdf_bytes("a")))], data=fields)
    assert merged.status_code == 200, merged.text
    with pytest.raises(pikepdf.PasswordError):  # encrypted last, after the stamp and the rotation
        opened(merged.content)
    with opened(merged.content, "open") as pdf:
        assert int(pdf.pages[0].obj.get("/Rotate", 0)) == 180
    assert "APPROVED" in str(
        pypdfium2.PdfDocument(merged.content, password="open")[0].get_textpage().get_text_range()
    )
    embeds = http.post(
        "/forms/pdfengines/merge",
        files=[("files", ("a.pdf", pdf_bytes("a"))), ("embeds", ("notes.txt", b"notes"))],
    )
    assert embeds.status_code == 400 and "'embeds'" in embeds.text


def test_files_downloaded_from_urls_count_as_uploads(http: httpx.Client, file_host: Any) -> None:
    file_host.files["/second.pdf"] = pdf_bytes("two", "three")
    fetched = f'[{{"url": "{file_host.url}/second.pdf"}}]'
    files = [("files", ("first.pdf", pdf_bytes("one")))]
    merged = http.post("/forms/pdfengines/merge", files=files, data={"downloadFrom": fetched})
    assert merged.status_code == 200, merged.text
    assert len(page_sizes(merged.content)) == 3
    private = '[{"url": "http://10.1.2.3/a.pdf"}]'
    assert (
        http.post("/forms/pdfengines/merge", files=files, data={"downloadFrom": private}).status_code == 403
    )
    headers = f'[{{"url": "{file_host.url}/second.pdf", "extraHttpHeaders": {{"X": "y"}}}}]'
    refused = http.post("/forms/pdfengines/merge", files=files, data={"downloadFrom": headers})
    assert refused.status_code == 400 and "extraHttpHeaders" in refused.text


def test_bad_form_values_are_400_in_plain_text(http: httpx.Client) -> None:
    document = [("files", ("deck.pdf", pdf_bytes("1", "2")))]
    reply = http.post(
        "/forms/pdfengines/split", files=document, data={"splitMode": "halves", "splitSpan": "x"}
    )
    assert reply.status_code == 400
    assert reply.headers["content-type"].startswith("text/plain")
    assert reply.text.startswith("Invalid form data: ") and "splitMode" in reply.text
    missing = http.post("/forms/pdfengines/encrypt", files=document)
    assert (
        missing.status_code == 400
        and "form field 'userPassword' or 'ownerPassword' is required" in missing.text
    )
    nothing = http.post("/forms/pdfengines/merge", files=[("files", ("a.txt", b"x"))])
    assert nothing.status_code == 400 and "no form file found for extensions: [.pdf]" in nothing.text
    metadata = http.post(
        "/forms/pdfengines/metadata/write", files=document, data={"metadata": '{"Creator": "x"}'}
    )
    assert metadata.status_code == 400 and "Creator" in metadata.text
    not_pdf = http.post("/forms/pdfengines/merge", files=[("files", ("a.pdf", b"not a pdf at all"))])
    assert not_pdf.status_code == 400 and "a.pdf" in not_pdf.text and "Traceback" not in not_pdf.text


def test_flatten_draws_a_filled_form_into_its_page(http: httpx.Client) -> None:
    form = pypdf.PdfWriter()
    form.append(pypdf.PdfReader(io.BytesIO(pdf_bytes("a"))))
    page = form.pages[0]
    field = pypdf.generic.DictionaryObject(
        {
            pypdf.generic.NameObject("/FT"): pypdf.generic.NameObject("/Tx"),
            pypdf.generic.NameObject("/T"): pypdf.generic.TextStringObject("name"),
            pypdf.generic.NameObject("/Type"): pypdf.generic.NameObject("/Annot"),
            pypdf.generic.NameObject("/Subtype"): pypdf.generic.NameObject("/Widget"),
            pypdf.generic.NameObject("/Rect"): pypdf.generic.ArrayObject(
                [pypdf.generic.FloatObject(v) for v in (50, 500, 300, 530)]
            ),
            pypdf.generic.NameObject("/DA"): pypdf.generic.TextStringObject("/Helv 12 Tf 0 g"),
        }
    )
    reference = form._add_object(field)
    page[pypdf.generic.NameObject("/Annots")] = pypdf.generic.ArrayObject([reference])
    form.root_object[pypdf.generic.NameObject("/AcroForm")] = pypdf.generic.DictionaryObject(
        {pypdf.generic.NameObject("/Fields"): pypdf.generic.ArrayObject([reference])}
    )
    form.update_page_form_field_values(page, {"name": "Ada Lovelace"}, auto_regenerate=False)
    buffer = io.BytesIO()
    form.write(buffer)
    flattening = (("/forms/pdfengines/flatten", {}), ("/forms/pdfengines/merge", {"flatten": "true"}))
    for route, fields in flattening:
        reply = http.post(route, files=[("files", ("form.pdf", buffer.getvalue()))], data=fields)
        assert reply.status_code == 200, reply.text
        flat = pypdf.PdfReader(io.BytesIO(reply.content))
        assert "/AcroForm" not in flat.trailer["/Root"] and "/Annots" not in flat.pages[0]
        assert "Ada Lovelace" in flat.pages[0].extract_text()


@pytest.mark.parametrize(
    ("route", "fields"),
    [
        ("/forms/pdfengines/convert", {"pdfua": "true"}),
        ("/forms/pdfengines/metadata/read", {}),
        ("/forms/pdfengines/merge", {"pdfua": "true"}),
    ],
)
def test_what_conversio_cannot_do_yet_is_refused_with_400(
    http: httpx.Client, route: str, fields: dict[str, str]
) -> None:
    reply = http.post(route, files=[("files", ("a.pdf", pdf_bytes("a")))], data=fields)
    assert reply.status_code == 400
    assert "not supported by this server" in reply.text or "Not supported by this server" in reply.text


def test_not_multipart_is_415_unknown_routes_404_health_and_version(http: httpx.Client) -> None:
    assert http.post("/forms/pdfengines/merge", json={"files": []}).status_code == 415
    unknown = http.post("/forms/pdfengines/sign", files=[("files", ("a.pdf", pdf_bytes("a")))])
    assert unknown.status_code == 404 and unknown.headers["content-type"].startswith("text/plain")
    health = http.get("/health")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "up" and body["details"]["libreoffice"]["status"] == "up"
    assert body["details"]["libreoffice"]["timestamp"].endswith("Z")
    probe = http.head("/health")
    assert (probe.status_code, probe.content) == (200, b"")
    version = http.get("/version")
    assert version.headers["content-type"].startswith("text/plain") and version.text.startswith("8.")


# -- LibreOffice ---------------------------------------------------------------------------------------


def test_libreoffice_converts_each_file_to_a_zip_or_merges_them(http: httpx.Client) -> None:
    needs("office")
    files = [("files", ("notes.txt", b"first file\n")), ("files", ("todo.txt", b"second file\n"))]
    both = http.post("/forms/libreoffice/convert", files=files, data={"landscape": "true"})
    assert both.status_code == 200, both.text
    pdfs = members(both.content)
    assert sorted(pdfs) == ["notes.txt.pdf", "todo.txt.pdf"]  # as Gotenberg names them
    width, height = page_sizes(pdfs["notes.txt.pdf"])[0]
    assert width > height  # landscape
    merged = http.post(
        "/forms/libreoffice/convert",
        files=files,
        data={"merge": "true", "metadata": '{"Title": "Both"}'},
        headers={"Gotenberg-Output-Filename": "both"},
    )
    assert merged.status_code == 200, merged.text
    assert 'filename="both.pdf"' in merged.headers["content-disposition"]
    assert len(page_sizes(merged.content)) == 2
    with opened(merged.content) as pdf:
        assert str(pdf.docinfo["/Title"]) == "Both"


def test_libreoffice_refuses_settings_it_cannot_honour(http: httpx.Client) -> None:
    needs("office")
    files = [("files", ("notes.txt", b"text\n"))]
    reply = http.post(
        "/forms/libreoffice/convert", files=files, data={"exportNotes": "true", "pdfa": "PDF/A-1a"}
    )
    assert reply.status_code == 400
    assert "exportNotes" in reply.text and "PDF/A-1a" in reply.text
    accepted = http.post("/forms/libreoffice/convert", files=files, data={"exportBookmarks": "true"})
    assert accepted.status_code == 200, accepted.text


# -- Chromium --------------------------------------------------------------------------------------------

PAGE = b"""<!DOCTYPE html><html><head><link rel="stylesheet" href="style.css"><title>T</title></head>
<body><h1>Quarterly</h1><img src="logo.png"></body></html>"""


def png(size: tuple[int, int] = (20, 10)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 20, 20)).save(out, "PNG")
    return out.getvalue()


def page_files() -> list[tuple[str, tuple[str, bytes]]]:
    return [
        ("files", ("index.html", PAGE)),
        ("files", ("style.css", b"h1 { color: #123456 }")),
        ("files", ("logo.png", png())),
    ]


def test_html_to_pdf_with_paper_margins_landscape_and_page_ranges(http: httpx.Client) -> None:
    needs("chromium")
    reply = http.post("/forms/chromium/convert/html", files=page_files())
    assert reply.status_code == 200, reply.text
    ((width, height),) = page_sizes(reply.content)
    assert (round(width), round(height)) == (612, 792)  # Gotenberg's default: Letter
    a5 = {"paperWidth": "148mm", "paperHeight": "210mm", "marginTop": "1cm", "landscape": "true"}
    turned = http.post("/forms/chromium/convert/html", files=page_files(), data=a5)
    assert turned.status_code == 200, turned.text
    ((width, height),) = page_sizes(turned.content)
    assert abs(width - 595.3) < 1 and abs(height - 419.5) < 1  # A5 turned
    long_page = [
        (
            "files",
            (
                "index.html",
                b"<html><body>" + b"<p style='page-break-after:always'>x</p>" * 3 + b"</body></html>",
            ),
        )
    ]
    picked = http.post("/forms/chromium/convert/html", files=long_page, data={"nativePageRanges": "2-3"})
    assert picked.status_code == 200, picked.text
    assert len(page_sizes(picked.content)) == 2


def test_markdown_url_and_screenshots(http: httpx.Client, file_host: Any) -> None:
    needs("chromium")
    markdown = [
        ("files", ("index.html", b'<html><body>{{ toHTML "notes.md" }}</body></html>')),
        ("files", ("notes.md", b"# Notes\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")),
    ]
    rendered = http.post("/forms/chromium/convert/markdown", files=markdown)
    assert rendered.status_code == 200, rendered.text
    text = text_of(rendered.content)
    assert "Notes" in text and "toHTML" not in text
    file_host.files["/page.html"] = PAGE
    url = f"{file_host.url}/page.html"
    reply = http.post("/forms/chromium/convert/url", data={"url": url}, files=[("ignored", ("x", b""))])
    assert reply.status_code == 200, reply.text
    assert "Quarterly" in text_of(reply.content)
    shot = http.post(
        "/forms/chromium/screenshot/html",
        files=page_files(),
        data={"width": "400", "height": "300", "clip": "true", "format": "jpeg", "quality": "80"},
    )
    assert shot.status_code == 200, shot.text
    image = Image.open(io.BytesIO(shot.content))
    assert (image.format, image.size) == ("JPEG", (400, 300))
    for url in ("file:///etc/passwd", "http://[oops"):
        wrong = http.post("/forms/chromium/convert/url", data={"url": url}, files=[("x", ("x", b""))])
        assert wrong.status_code == 400 and "form field 'url' is invalid" in wrong.text
    missing = http.post("/forms/chromium/convert/url", data={"waitDelay": "1s"}, files=[("x", ("x", b""))])
    assert missing.status_code == 400 and "form field 'url' is required" in missing.text
    bad = http.post("/forms/chromium/convert/html", files=page_files(), data={"waitDelay": "soon"})
    assert bad.status_code == 400 and "waitDelay" in bad.text


def test_a_page_answering_an_error_status_is_409(http: httpx.Client, file_host: Any) -> None:
    needs("chromium")
    reply = http.post(
        "/forms/chromium/convert/url",
        data={"url": f"{file_host.url}/missing.html"},
        files=[("x", ("x", b""))],
    )
    assert reply.status_code == 409, reply.text


def test_a_conversion_past_the_time_limit_is_503(tmp_path: Path) -> None:
    needs("chromium")
    server = start_server(dev_settings(tmp_path, job_workers=0, sync_timeout=1.0))
    try:
        with server.client() as http:
            started = time.monotonic()
            reply = http.post("/forms/chromium/convert/html", files=page_files(), data={"waitDelay": "10s"})
        assert reply.status_code == 503 and reply.text.startswith("Service Unavailable")
        assert time.monotonic() - started < 8
    finally:
        server.stop()


# -- webhooks ------------------------------------------------------------------------------------------------


def test_a_webhook_gets_the_pdf_with_its_method_and_extra_headers(
    http: httpx.Client, receiver: Receiver
) -> None:
    reply = http.post(
        "/forms/pdfengines/merge",
        files=[("files", ("a.pdf", pdf_bytes("one"))), ("files", ("b.pdf", pdf_bytes("two")))],
        headers={
            "Gotenberg-Webhook-Url": f"{receiver.url}/done",
            "Gotenberg-Webhook-Error-Url": f"{receiver.url}/failed",
            "Gotenberg-Webhook-Method": "PUT",
            "Gotenberg-Webhook-Extra-Http-Headers": '{"X-Tenant": "acme", "Content-Type": "text/evil"}',
            "Gotenberg-Output-Filename": "merged",
            "Gotenberg-Trace": "hook-1",
        },
    )
    assert reply.status_code == 204, reply.text
    got = wait_for(receiver, "/done")
    assert got.method == "PUT"
    assert got.headers["x-tenant"] == "acme"
    assert got.headers["content-type"] == "application/pdf"
    assert 'filename="merged.pdf"' in got.headers["content-disposition"]
    assert got.headers["gotenberg-trace"] == "hook-1"
    assert "webhook-signature" in got.headers  # signed as every conversio webhook
    assert len(page_sizes(got.body)) == 2


def test_a_failure_goes_to_the_error_webhook_as_json(http: httpx.Client, receiver: Receiver) -> None:
    reply = http.post(
        "/forms/pdfengines/encrypt",
        files=[("files", ("broken.pdf", b"%PDF-1.7 broken"))],
        data={"userPassword": "x"},
        headers={
            "Gotenberg-Webhook-Url": f"{receiver.url}/ok",
            "Gotenberg-Webhook-Error-Url": f"{receiver.url}/ko",
        },
    )
    assert reply.status_code == 204, reply.text
    got = wait_for(receiver, "/ko")
    assert got.method == "POST" and got.headers["content-type"].startswith("application/json")
    assert got.json()["status"] == 400 and "broken.pdf" in got.json()["message"]


def test_newer_clients_events_url_gets_success_and_error_events(
    http: httpx.Client, receiver: Receiver
) -> None:
    hooks = {
        "Gotenberg-Webhook-Url": f"{receiver.url}/file",
        "Gotenberg-Webhook-Events-Url": f"{receiver.url}/events",
    }
    ok = http.post(
        "/forms/pdfengines/merge",
        files=[("files", ("a.pdf", pdf_bytes("a")))],
        headers={**hooks, "Gotenberg-Trace": "events-1"},
    )
    assert ok.status_code == 204, ok.text
    assert len(page_sizes(wait_for(receiver, "/file").body)) == 1
    event = wait_for(receiver, "/events").json()
    assert (event["event"], event["correlationId"]) == ("webhook.success", "events-1")
    failing = {**hooks, "Gotenberg-Webhook-Events-Url": f"{receiver.url}/failures"}
    bad = http.post(
        "/forms/pdfengines/encrypt",
        files=[("files", ("broken.pdf", b"%PDF-1.7 broken"))],
        data={"userPassword": "x"},
        headers=failing,
    )
    assert bad.status_code == 204, bad.text
    failure = wait_for(receiver, "/failures").json()
    assert failure["event"] == "webhook.error" and failure["error"]["status"] == 400


def test_bad_webhook_headers_are_refused_at_once(http: httpx.Client) -> None:
    files = [("files", ("a.pdf", pdf_bytes("a")))]
    no_error_url = http.post(
        "/forms/pdfengines/merge", files=files, headers={"Gotenberg-Webhook-Url": "http://127.0.0.1:9/x"}
    )
    assert no_error_url.status_code == 400 and "Gotenberg-Webhook-Error-Url" in no_error_url.text
    assert "Gotenberg-Webhook-Events-Url" in no_error_url.text
    hooks = {
        "Gotenberg-Webhook-Url": "http://127.0.0.1:9/x",
        "Gotenberg-Webhook-Error-Url": "http://127.0.0.1:9/y",
    }
    bad_method = http.post(
        "/forms/pdfengines/merge", files=files, headers={**hooks, "Gotenberg-Webhook-Method": "GET"}
    )
    assert bad_method.status_code == 400
    private = {
        "Gotenberg-Webhook-Url": "http://10.1.2.3/x",
        "Gotenberg-Webhook-Error-Url": "http://10.1.2.3/y",
    }
    assert http.post("/forms/pdfengines/merge", files=files, headers=private).status_code == 403


# -- API keys --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    """A server with API keys and without the Chromium module."""
    data_dir = tmp_path_factory.mktemp("gotenberg-keys")
    base = dev_settings(data_dir, url_allow=("127.0.0.1",), job_workers=0)
    settings = ServerSettings.load(
        environ={},
        data_dir=data_dir,
        url_allow=("127.0.0.1",),
        job_workers=0,
        workers=2,
        sweep_interval=3600.0,
        auth=AuthConfig(database_url=base.database_url),
    )
    with KeyStore(settings.database_url) as store:
        _, one = store.create("one", "read,convert", "free")
        _, other = store.create("other", "read,convert", "free")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CONVERSIO_DISABLE_PLUGINS", "chromium")
        server = start_server(settings)
    yield server, {"one": one, "other": other}
    server.stop()


def basic(key: str, user: str = "gotenberg") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{key}".encode()).decode()}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_keys_as_basic_auth_or_bearer_and_kept_apart(
    keyed: tuple[LiveServer, dict[str, str]], receiver: Receiver
) -> None:
    server, keys = keyed
    files = [("files", ("a.pdf", pdf_bytes("a")))]
    with server.client() as http:
        refused = http.post("/forms/pdfengines/merge", files=files)
        assert refused.status_code == 401 and refused.text == "Unauthorized"
        assert refused.headers["www-authenticate"].startswith("Basic")

        def merge(headers: dict[str, str]) -> int:
            return http.post("/forms/pdfengines/merge", files=files, headers=headers).status_code

        assert merge(basic("cv_wrong")) == 401
        assert merge(basic(keys["one"])) == 200
        assert merge(bearer(keys["other"])) == 200
        assert http.get("/health").status_code == 200  # as Gotenberg's, open to all
        assert http.get("/version").status_code == 401
        assert http.get("/version", headers=basic(keys["one"])).status_code == 200
        hooks = {
            "Gotenberg-Webhook-Url": f"{receiver.url}/k",
            "Gotenberg-Webhook-Error-Url": f"{receiver.url}/e",
        }
        assert merge({**basic(keys["one"]), **hooks}) == 204
        wait_for(receiver, "/k")
        (job,) = http.get("/v1/jobs", headers=bearer(keys["one"])).json()["jobs"]
        assert job["status"] in ("processing", "completed")
        assert http.get("/v1/jobs", headers=bearer(keys["other"])).json()["jobs"] == []
        for path in (f"/v1/jobs/{job['jobId']}", f"/v1/jobs/{job['jobId']}/webhooks"):
            assert http.get(path, headers=bearer(keys["other"])).status_code == 404
        webhooks = http.get(f"/v1/jobs/{job['jobId']}/webhooks", headers=bearer(keys["one"])).json()
        (delivery,) = webhooks["deliveries"]
        assert delivery["event"] == "gotenberg.result"
        missing = http.post("/forms/chromium/convert/html", files=page_files(), headers=basic(keys["one"]))
        assert missing.status_code == 404 and "chromium" in missing.text
        assert "chromium" not in http.get("/health").json()["details"]
