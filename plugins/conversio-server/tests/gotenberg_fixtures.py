"""A pytest plugin of the Gotenberg client test modules (their ``pytest_plugins``): one conversio
server for the session, the official client pointed at it, the inputs written once, and the web host.

When the client raises :class:`~gotenberg_client.HttpStatusError`, the report shows the answer's
status and body (the exception itself says nothing)."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from conftest import LiveServer, dev_settings, needs, start_server
from gotenberg_client import GotenbergClient, HttpStatusError
from gotenberg_inputs import (
    MARKDOWN,
    MARKDOWN_INDEX,
    PAGE,
    STYLE,
    TIMEOUT,
    document,
    locked_odt,
    site,
    text_pdf,
)
from gotenberg_web import DOWNLOADS, WebHost

from conversio.testing.documents import pages_docx


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if call.excinfo is not None and isinstance(call.excinfo.value, HttpStatusError):
        response = call.excinfo.value.response
        report.sections.append(("Gotenberg answer", f"{response.status_code}: {response.content[:2000]!r}"))
    return report


@pytest.fixture(scope="session")
def gotenberg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A development server (no keys) whose pages and webhooks may reach 127.0.0.1."""
    needs("chromium", "office", "pdf", "image")
    running = start_server(dev_settings(tmp_path_factory.mktemp("gotenberg"), url_allow=("127.0.0.1",)))
    yield running
    running.stop()


@pytest.fixture(scope="session")
def gotenberg(gotenberg_server: LiveServer) -> Iterator[GotenbergClient]:
    """The official client, as its README builds it; ``http2=False`` because HTTP/2 needs the ``h2``
    package, which only the client's ``[httpx]`` extra brings (over plain http it is HTTP/1.1 anyway)."""
    with GotenbergClient(gotenberg_server.url, timeout=TIMEOUT, http2=False) as client:
        yield client


@pytest.fixture(scope="session")
def web(inputs: Path) -> Iterator[WebHost]:
    """The web host, serving the report page with its assets, pages that fail Gotenberg's checks
    (a missing image, an image at a refused address, a script that throws), and two PDFs to download."""
    host = WebHost()
    host.pages["/report.html"] = (200, "text/html; charset=utf-8", PAGE.encode())
    host.pages["/style.css"] = (200, "text/css", STYLE.encode())
    host.pages["/logo.png"] = (200, "image/png", (inputs / "logo.png").read_bytes())
    for name in ("first.pdf", "second.pdf"):
        host.pages[f"{DOWNLOADS}{name}"] = (200, "application/pdf", (inputs / name).read_bytes())
    for name, body in (
        ("broken-image", '<p>Hi</p><img src="/nothing.png">'),
        ("refused-image", '<p>Hi</p><img src="http://169.254.169.254/logo.png">'),
        ("throws", "<p>Boom</p><script>throw new Error('boom');</script>"),
    ):
        host.pages[f"/{name}.html"] = (200, "text/html", document(body).encode())
    yield host
    host.close()


@pytest.fixture(scope="session")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The input files, written once: a site, Markdown, PDFs and Word documents."""
    folder = tmp_path_factory.mktemp("gotenberg-inputs")
    site(folder)
    (folder / "harvest.md").write_text(MARKDOWN)
    (folder / "markdown-index.html").write_text(MARKDOWN_INDEX)
    (folder / "three.pdf").write_bytes(text_pdf("alpha page", "beta page", "gamma page"))
    for name in ("first", "second", "third"):
        (folder / f"{name}.pdf").write_bytes(text_pdf(f"{name} document"))
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\nthis is not a PDF at all")
    (folder / "letters.docx").write_bytes(pages_docx(["letter one", "letter two", "letter three"]))
    (folder / "memo.docx").write_bytes(pages_docx(["memo one", "memo two"]))
    (folder / "minutes.odt").write_bytes(locked_odt("secret minutes", "s3cret"))
    (folder / "broken.docx").write_bytes(b"PK\x03\x04 definitely not a word document")
    return folder
