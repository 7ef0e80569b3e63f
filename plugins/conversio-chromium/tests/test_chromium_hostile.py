"""Hostile pages against a real Chromium: whatever they ask for, nothing outside the policy is
reached. Each test has a recording server on 127.0.0.1 that must never be hit, and looks at the
guard's records and at the printed text (the secret never shows)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from conftest import Convert
from conversio_chromium import network
from conversio_chromium.inputs import SITE_ORIGIN, Source
from guarded_browser import guarded_browser, guarded_page, pdf_text, site
from playwright.sync_api import Browser, Download
from playwright.sync_api import Error as PlaywrightError
from web_servers import Answer, WebServer, self_signed, udp_listener, web_server

from conversio.errors import InvalidRequest

SECRET = "SECRET-7f3a"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with guarded_browser() as browser:
        yield browser


@pytest.fixture
def secret() -> Iterator[WebServer]:
    """A loopback server holding a secret: no test may reach it."""
    with web_server({"/secret": Answer(SECRET.encode(), "text/plain")}) as server:
        yield server


def reasons(watch: network.Watch) -> dict[str, str]:
    return dict(watch.refused)


def test_files_and_pages_of_the_host_are_refused(browser: Browser) -> None:
    source = site(
        "<p>page</p><iframe src='file:///etc/passwd'></iframe><iframe src='refresh.html'></iframe>"
        "<iframe src='chrome://version'></iframe>",
        **{"refresh.html": b"<meta http-equiv=refresh content='0;url=file:///etc/passwd'>"},
    )
    with guarded_page(browser, source) as (page, watch):
        assert reasons(watch)["file:///etc/passwd"] == "a local file or browser page"
        assert reasons(watch)["chrome://version/"] == "a local file or browser page"
        assert "root:" not in pdf_text(page)
        assert not [frame.url for frame in page.frames if frame.url.startswith(("file:", "chrome:"))]


def test_the_page_cannot_go_to_a_file_itself(browser: Browser) -> None:
    source = site("<p>start</p><script>location.href = 'file:///etc/passwd'</script>")
    with guarded_page(browser, source) as (page, watch):
        assert page.url == f"{SITE_ORIGIN}/index.html"
        assert "file:///etc/passwd" in reasons(watch)
        assert "root:" not in pdf_text(page)


def test_the_metadata_address_is_refused_and_named(browser: Browser) -> None:
    source = site("<img src='http://169.254.169.254/latest/meta-data/'>")
    with guarded_page(browser, source) as (_, watch):
        assert reasons(watch)["http://169.254.169.254/latest/meta-data/"] == (
            "169.254.169.254 is a cloud metadata address"
        )


def test_a_fetch_to_loopback_never_reaches_the_server(browser: Browser, secret: WebServer) -> None:
    source = site(
        f"<p id=out>none</p><script>fetch('{secret.url}/secret').then(r => r.text())"
        ".then(t => { document.getElementById('out').textContent = t })</script>"
    )
    with guarded_page(browser, source) as (page, watch):
        assert secret.hits == []
        assert reasons(watch)[f"{secret.url}/secret"] == "127.0.0.1 is loopback"
        assert SECRET not in pdf_text(page)


def test_a_host_name_of_loopback_is_refused(browser: Browser, secret: WebServer) -> None:
    url = f"http://localhost:{secret.port}/secret"
    with guarded_page(browser, site(f"<img src='{url}'><iframe src='{url}'></iframe>")) as (page, watch):
        assert secret.hits == []
        assert reasons(watch)[url].startswith("localhost resolves to ")
        assert reasons(watch)[url].endswith("which is loopback")
        assert SECRET not in pdf_text(page)


def test_a_web_address_redirecting_to_loopback_is_refused(
    convert: Convert, monkeypatch: pytest.MonkeyPatch, secret: WebServer
) -> None:
    monkeypatch.setenv("CONVERSIO_URL_ALLOW", "localhost")  # the host name only, not its address
    redirect = Answer(status=302, location=f"{secret.url}/secret")
    with web_server({"/go": redirect}) as start, pytest.raises(InvalidRequest) as info:
        convert(f"http://localhost:{start.port}/go\n", "pdf", name="site.url")
    assert start.paths() == ["/go"]
    assert secret.hits == []
    assert info.value.details["reason"] == "URL_NOT_ALLOWED"
    assert info.value.details["why"] == "127.0.0.1 is loopback"
    assert f"site.url: {secret.url}/secret may not be loaded: 127.0.0.1 is loopback" in str(info.value)


def test_a_websocket_to_loopback_is_refused(browser: Browser, secret: WebServer) -> None:
    url = f"ws://127.0.0.1:{secret.port}/secret"
    with guarded_page(browser, site(f"<script>new WebSocket('{url}')</script>")) as (_, watch):
        assert secret.hits == []
        assert reasons(watch)[url] == "127.0.0.1 is loopback"


def test_a_worker_and_a_beacon_meet_the_same_proxy(browser: Browser, secret: WebServer) -> None:
    worker = f"fetch('{secret.url}/secret?worker')".encode()
    source = site(
        f"<script>new Worker('worker.js'); navigator.sendBeacon('{secret.url}/secret?beacon', 'x');"
        f"</script><link rel=prefetch href='{secret.url}/secret?prefetch'>",
        **{"worker.js": worker},
    )
    with guarded_page(browser, source) as (_, watch):
        assert secret.hits == []
        refused = reasons(watch)
        assert {f"{secret.url}/secret?{k}" for k in ("worker", "beacon", "prefetch")} <= refused.keys()


def test_no_service_worker_is_registered(browser: Browser) -> None:
    source = site(
        "<script>navigator.serviceWorker.register('sw.js')</script>",
        **{"sw.js": b"self.addEventListener('fetch', e => e.respondWith(new Response('x')))"},
    )
    with guarded_page(browser, source) as (page, _):
        assert page.evaluate("navigator.serviceWorker.getRegistrations().then(r => r.length)") == 0


def test_windows_opened_are_closed_and_their_requests_refused(browser: Browser, secret: WebServer) -> None:
    source = site(
        f"<script>window.open('http://10.0.0.1/'); window.open('{secret.url}/secret', '_blank', 'noopener')"
        "</script>"
    )
    with guarded_page(browser, source) as (page, watch):
        assert page.context.pages == [page]
        assert secret.hits == []
        assert reasons(watch)["http://10.0.0.1/"] == "10.0.0.1 is private (RFC 1918)"


def test_a_download_is_never_saved(browser: Browser) -> None:
    source = site(
        "<a id=get download href='data.bin'>get</a><script>document.getElementById('get').click()</script>",
        **{"data.bin": b"\0" * 64},
    )
    with guarded_page(browser, source) as (page, _):
        downloads: list[Download] = []

        def keep(download: Download) -> None:
            downloads.append(download)

        page.on("download", keep)
        page.click("#get")
        page.wait_for_timeout(500)
        assert all(download.failure() for download in downloads)


def test_another_conversions_files_cannot_be_read(browser: Browser) -> None:
    other = site("<p>other</p>", **{"secret.txt": SECRET.encode()})
    reader = site(
        "<p id=out>none</p><script>fetch('secret.txt').then(r => r.text())"
        ".then(t => { document.getElementById('out').textContent = t })</script>"
    )
    with guarded_page(browser, other), guarded_page(browser, reader) as (page, watch):
        assert watch.statuses[f"{SITE_ORIGIN}/secret.txt"] == 404
        assert SECRET not in pdf_text(page)


@pytest.mark.parametrize(
    "path",
    [
        "../../etc/passwd",
        "%2e%2e/%2e%2e/etc/passwd",
        "..%2f..%2fetc%2fpasswd",
        "/etc/passwd",
        "..%5cindex.html",
    ],
)
def test_a_path_outside_the_site_is_not_found(browser: Browser, path: str) -> None:
    source = site(
        f"<p id=out>none</p><script>fetch('{path}').then(r => r.status + ' ' + r.url)"
        ".then(t => { document.getElementById('out').textContent = t })</script>"
    )
    with guarded_page(browser, source) as (page, _):
        assert page.inner_text("#out").startswith(f"404 {SITE_ORIGIN}/")
        assert "root:" not in pdf_text(page)


def test_webrtc_sends_nothing(browser: Browser) -> None:
    with udp_listener() as (port, received):
        script = (
            f"const pc = new RTCPeerConnection({{iceServers: [{{urls: 'stun:127.0.0.1:{port}'}}]}});"
            "pc.createDataChannel('x'); pc.createOffer().then(o => pc.setLocalDescription(o));"
            "window.found = [];"
            "pc.onicecandidate = e => e.candidate && window.found.push(e.candidate.candidate);"
        )
        with guarded_page(browser, site(f"<script>{script}</script>"), settle_ms=2500) as (page, _):
            assert page.evaluate("window.found") == []
        assert received == []


def test_no_permission_is_granted(browser: Browser) -> None:
    with guarded_page(browser, site("<p>page</p>")) as (page, _):
        assert page.evaluate("Notification.requestPermission()") == "denied"
        error = page.evaluate(
            "new Promise(done => navigator.geolocation.getCurrentPosition(() => done('granted'),"
            " e => done(e.code), {timeout: 2000}))"
        )
        assert error != "granted"


def test_the_browser_listens_on_no_port(browser: Browser) -> None:
    listening, chromium = [], 0
    for process in psutil.Process().children(recursive=True):
        try:
            if "chrom" in process.name():
                chromium += 1
                listening += [c for c in process.net_connections("inet") if c.status == psutil.CONN_LISTEN]
        except psutil.NoSuchProcess:
            continue
    assert chromium
    assert listening == []


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
def test_the_proxy_serves_no_other_user(
    browser: Browser, secret: WebServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CONVERSIO_URL_ALLOW", "127.0.0.1")
    port = int(network.launch_proxy()["server"].rsplit(":", 1)[1])
    script = (
        f"exec 3<>/dev/tcp/127.0.0.1/{port};"
        f"printf 'CONNECT 127.0.0.1:{secret.port} HTTP/1.1\\r\\n\\r\\n' >&3; head -c 12 <&3"
    )

    def answer(user: int | None) -> bytes:
        command = ["bash", "-c", script]
        return subprocess.run(
            command, user=user, cwd=tmp_path, capture_output=True, timeout=20, check=False
        ).stdout

    assert answer(None) == b"HTTP/1.1 200"  # this process's user: the tunnel opens
    assert answer(65534) == b"HTTP/1.1 403"  # nobody: refused


@pytest.mark.parametrize("tls", [False, True])
def test_extra_headers_open_no_way_around_the_proxy(browser: Browser, tmp_path: Path, tls: bool) -> None:
    # The web address's own requests are fetched by Playwright to carry the headers: through the proxy too.
    answers = {"/secret": Answer(SECRET.encode(), "text/plain")}
    with web_server(answers, tls=self_signed(tmp_path) if tls else None) as server:
        source = Source("site.url", url=f"{server.url}/secret")
        with (
            pytest.raises(PlaywrightError),
            guarded_page(browser, source, headers=["X-Token: abc"], ignore_https_errors=tls),
        ):
            pass
    assert server.hits == []
