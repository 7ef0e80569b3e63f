"""Gotenberg's ``pdfua`` against a real server on 127.0.0.1: LibreOffice's PDF/UA-1 export on the
LibreOffice route (alone and with PDF/A-2b, read back with pikepdf), and a 400 that says why on
every route that cannot make it: after other PDF steps, from Chromium, from an existing PDF."""

from __future__ import annotations

import io

import httpx
import pikepdf
import pytest
from conftest import needs

from conversio.testing.documents import docx_package, paragraph

needs("office", "pdf")

HEADING = '<w:p><w:pPr><w:outlineLvl w:val="0"/></w:pPr><w:r><w:t>Minutes</w:t></w:r></w:p>'
MEMO = docx_package([HEADING, paragraph("We met and agreed.")])
ROUTE = "/forms/libreoffice/convert"


def _identification(content: bytes) -> tuple[object, ...]:
    """pdfuaid:part, pdfaid:part, marked as tagged, how many H1 structure elements."""
    with pikepdf.open(io.BytesIO(content)) as pdf:
        meta = pdf.open_metadata()
        headings = sum(
            1 for obj in pdf.objects if isinstance(obj, pikepdf.Dictionary) and obj.get("/S") == "/H1"
        )
        marked = bool(pdf.Root.MarkInfo.Marked) if "/MarkInfo" in pdf.Root else False
        return meta.get("pdfuaid:part"), meta.get("pdfaid:part"), marked, headings


def _memo(http: httpx.Client, **fields: str) -> httpx.Response:
    return http.post(ROUTE, files=[("files", ("memo.docx", MEMO))], data=fields)


def test_libreoffice_route_writes_pdfua(client: httpx.Client) -> None:
    reply = _memo(client, pdfua="true")
    assert reply.status_code == 200, reply.text
    assert _identification(reply.content) == ("1", None, True, 1)
    with pikepdf.open(io.BytesIO(reply.content)) as pdf:
        assert bool(pdf.Root.ViewerPreferences.DisplayDocTitle)
        assert pdf.open_metadata().get("dc:title") == "memo"
    plain = _memo(client, pdfua="false")
    assert _identification(plain.content) == (None, None, False, 0)


def test_pdfua_with_pdfa_2b_is_one_export(client: httpx.Client) -> None:
    reply = _memo(client, pdfua="true", pdfa="PDF/A-2b")
    assert reply.status_code == 200, reply.text
    # Ghostscript's PDF/A would have dropped the tags: this is LibreOffice's export of both.
    assert _identification(reply.content) == ("1", "2", True, 1)


@pytest.mark.parametrize(
    "fields",
    [
        {"pdfa": "PDF/A-1b"},
        {"metadata": '{"Title": "Minutes"}'},
        {"watermarkExpression": "DRAFT"},
        {"userPassword": "secret"},
    ],
)
def test_pdfua_after_other_pdf_steps_is_refused(client: httpx.Client, fields: dict[str, str]) -> None:
    reply = _memo(client, pdfua="true", **fields)
    assert reply.status_code == 400
    assert "form field 'pdfua' is not supported by this server" in reply.text
    assert "would not keep its tags" in reply.text


def test_pdfua_of_merged_documents_is_refused(client: httpx.Client) -> None:
    files = [("files", ("a.docx", MEMO)), ("files", ("b.docx", MEMO))]
    reply = client.post(ROUTE, files=files, data={"pdfua": "true", "merge": "true"})
    assert reply.status_code == 400 and "would not keep its tags" in reply.text


def test_an_existing_pdf_is_not_made_pdfua(client: httpx.Client) -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    buffer = io.BytesIO()
    pdf.save(buffer)
    reply = client.post(
        "/forms/pdfengines/convert", files=[("files", ("a.pdf", buffer.getvalue()))], data={"pdfua": "true"}
    )
    assert reply.status_code == 400
    assert "an existing PDF cannot be made PDF/UA" in reply.text
    assert "LibreOffice route's pdfua" in reply.text


def test_chromium_pdfua_is_refused_with_the_tagged_alternative(client: httpx.Client) -> None:
    needs("chromium")
    page = b"<!DOCTYPE html><html><body><h1>Hello</h1></body></html>"
    reply = client.post(
        "/forms/chromium/convert/html", files=[("files", ("index.html", page))], data={"pdfua": "true"}
    )
    assert reply.status_code == 400
    assert "Chromium tags its PDF (generateTaggedPdf) but does not make it PDF/UA" in reply.text
