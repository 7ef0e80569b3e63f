"""No network and no local files for LibreOffice: linked images, WEBSERVICE formulas, file:// links.

A test HTTP server on 127.0.0.1 records every request; it must see none. The
control test runs the same documents through a soffice started without
conversio's profile settings and shows that the server and the image count do
notice a fetch, so the checks can fail.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pikepdf
import pytest
from conversio_office import soffice
from office_samples import write_docx, write_ods, write_odt

import conversio
from conversio.testing import make_conversio

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
    b"\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


class Recorder(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()
        self.wfile.write(PNG)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, list[str]]]:
    hits: list[str] = []
    handler = type("Handler", (Recorder,), {"hits": hits})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", hits
    httpd.shutdown()
    httpd.server_close()


def documents(base: str, folder: Path) -> list[Path]:
    local_png = folder / "local.png"
    local_png.write_bytes(PNG)
    links = (f"{base}/image.png", "file:///etc/hostname", local_png.as_uri())
    html = folder / "linked.html"
    html.write_text(
        f'<html><body><p>hi</p><img src="{base}/html.png"><img src="{local_png.as_uri()}"></body></html>'
    )
    return [
        write_docx(folder / "local.docx", ["a local file linked"], (local_png.as_uri(),)),
        write_docx(folder / "linked.docx", ["linked images"], links),
        write_odt(folder / "linked.odt", ["linked images"], links),
        write_ods(folder / "webservice.ods", {"S": [["x", "y"]]}, formula=f'of:=WEBSERVICE("{base}/ws")'),
        html,
    ]


def images_and_text(app: conversio.Conversio, path: Path) -> tuple[int, bytes]:
    [artifact] = app.convert(path, to="pdf").run().artifacts
    data = app.store.open(artifact.id).read()
    with pikepdf.open(app.store.open(artifact.id)) as pdf:
        return sum(len(page.get_images()) for page in pdf.pages), data


def test_no_request_no_linked_file(
    app: conversio.Conversio, server: tuple[str, list[str]], tmp_path: Path
) -> None:
    base, hits = server
    etc_hostname = Path("/etc/hostname")
    hostname = etc_hostname.read_bytes().strip() if etc_hostname.is_file() else b""
    for path in documents(base, tmp_path):
        images, data = images_and_text(app, path)
        assert images == 0, f"{path.name}: a linked image was loaded"
        if len(hostname) >= 6:  # long enough not to turn up by chance in compressed data
            assert hostname not in data
    assert hits == []


def test_control_unhardened_soffice_does_fetch(
    monkeypatch: pytest.MonkeyPatch, server: tuple[str, list[str]], tmp_path: Path
) -> None:
    base, hits = server
    bare = soffice.Office()
    monkeypatch.setattr(soffice, "PROFILE_SETTINGS", {})
    monkeypatch.setattr(soffice, "_OFFICE", bare)
    try:
        app = make_conversio("conversio_office.plugin", cache=False)
        local, docx, odt, _ods, _html = documents(base, tmp_path)
        assert images_and_text(app, local)[0] > 0
        assert not hits
        assert images_and_text(app, docx)[0] > 0
        assert images_and_text(app, odt)[0] > 0
        assert hits, "the server saw nothing even without the hardening: the check above proves nothing"
        app.close()
    finally:
        bare.stop()


@pytest.mark.parametrize("layer", ["proxy", "referer"])
def test_each_layer_alone_stops_the_request(
    monkeypatch: pytest.MonkeyPatch, server: tuple[str, list[str]], tmp_path: Path, layer: str
) -> None:
    """Defence in depth: the dead proxy alone, or BlockUntrustedRefererLinks alone, keeps HTTP out."""
    base, hits = server
    proxy = "org.openoffice.Inet/Settings"
    kept = {
        (path, name): value
        for (path, name), value in soffice.PROFILE_SETTINGS.items()
        if (path == proxy if layer == "proxy" else name == "BlockUntrustedRefererLinks")
    }
    assert kept
    bare = soffice.Office()
    monkeypatch.setattr(soffice, "PROFILE_SETTINGS", kept)
    monkeypatch.setattr(soffice, "_OFFICE", bare)
    try:
        app = make_conversio("conversio_office.plugin", cache=False)
        _local, docx, odt, _ods, _html = documents(base, tmp_path)
        images_and_text(app, docx)
        images_and_text(app, odt)
        app.close()
    finally:
        bare.stop()
    assert hits == []
