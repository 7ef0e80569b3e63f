"""What the network guard lets through, and how its proxy behaves: a web address on an allowed
local server renders with its style and image, extra headers and cookies reach that server and
no other, a page's own files come from memory with their types, and the proxy carries one
request per connection, checks every tunnel and bounds its connections."""

from __future__ import annotations

import base64
import io
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import Convert, image, pdf_pages, refused
from conversio_chromium import network
from conversio_chromium.inputs import Source
from conversio_chromium.proxy import Proxy
from guarded_browser import guarded_browser, guarded_page, site
from PIL import Image
from playwright.sync_api import Browser
from web_servers import Answer, self_signed, web_server

from conversio.errors import InvalidOption, InvalidRequest

BLUE = (0, 0, 255)
GREEN = (0, 160, 0)


def png(colour: tuple[int, int, int], size: int = 8) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(out, "PNG")
    return out.getvalue()


PAGE = (
    b"<html><head><link rel=stylesheet href='style.css'></head><body>"
    b"<h1>Quarterly figures</h1><img src='dot.png' style='width:200px;height:200px'></body></html>"
)
STYLE = b"body { background: rgb(0, 160, 0); margin: 0 } h1 { margin: 0; height: 100px }"


@pytest.fixture
def allow_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVERSIO_URL_ALLOW", "127.0.0.1,localhost")


@pytest.mark.usefixtures("allow_loopback")
def test_an_allowed_web_address_renders_with_its_style_and_image(convert: Convert) -> None:
    answers = {
        "/index.html": Answer(PAGE),
        "/style.css": Answer(STYLE, "text/css"),
        "/dot.png": Answer(png(BLUE), "image/png"),
    }
    with web_server(answers) as server:
        address = f"{server.url}/index.html\n"
        shot = image(convert(address, "png", name="site.url", width=400, height=400, full_page=False))
        [(_, _, text)] = pdf_pages(convert(address, "pdf", name="site.url"))
    assert "Quarterly figures" in text
    assert shot.convert("RGB").getpixel((100, 200)) == BLUE  # the image, below the heading
    assert shot.convert("RGB").getpixel((300, 50)) == GREEN  # the style's background
    assert sorted(set(server.paths())) == ["/dot.png", "/index.html", "/style.css"]


@pytest.mark.usefixtures("allow_loopback")
def test_headers_and_cookies_reach_the_address_and_no_other(convert: Convert) -> None:
    with web_server(
        {"/pixel.png": Answer(png(BLUE), "image/png"), "/landing": Answer(b"<p>landed</p>")}
    ) as other:
        page = (
            f"<p>home</p><img src='own.png'><img src='http://localhost:{other.port}/pixel.png'>"
            "<iframe src='/go'></iframe>"
        )
        answers = {
            "/index.html": Answer(page.encode()),
            "/own.png": Answer(png(BLUE), "image/png"),
            "/go": Answer(status=302, location=f"http://localhost:{other.port}/landing"),
        }
        with web_server(answers) as home:
            convert(
                f"{home.url}/index.html\n",
                "pdf",
                name="site.url",
                headers=["X-Token: abc"],
                cookies=["sid=42"],
            )
    assert sorted(hit.path for hit in home.hits) == ["/go", "/index.html", "/own.png"]
    assert all(
        hit.headers.get("x-token") == "abc" and hit.headers.get("cookie") == "sid=42" for hit in home.hits
    )
    assert sorted(hit.path for hit in other.hits) == ["/landing", "/pixel.png"]
    assert all("x-token" not in hit.headers and "cookie" not in hit.headers for hit in other.hits)


def test_a_refused_resource_is_named_in_the_error(convert: Convert) -> None:
    error = refused(
        convert, "<img src='http://169.254.169.254/latest/meta-data/'>", fail_on_resource_loading_failed=True
    )
    assert "http://169.254.169.254/latest/meta-data/ (169.254.169.254 is a cloud metadata address)" in str(
        error
    )


def test_a_web_address_on_loopback_is_refused_unless_allowed(convert: Convert) -> None:
    with web_server({"/index.html": Answer(PAGE)}) as server, pytest.raises(InvalidRequest) as info:
        convert(f"{server.url}/index.html\n", "pdf", name="site.url")
    assert server.hits == []
    assert info.value.details["why"] == "127.0.0.1 is loopback"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with guarded_browser() as browser:
        yield browser


def test_the_sites_files_come_from_memory_with_their_types(browser: Browser) -> None:
    source = site(
        "<link rel=stylesheet href='css/a%20b.css'><p id=out>none</p>"
        f"<img id=inline src='data:image/png;base64,{base64.b64encode(png(BLUE)).decode()}'>"
        "<script type=module src='app.mjs'></script>",
        **{
            "css/a b.css": b"p { color: rgb(1, 2, 3) }",
            "app.mjs": b"document.getElementById('out').textContent = 'module ran'",
        },
    )
    with guarded_page(browser, source) as (page, watch):
        assert page.inner_text("#out") == "module ran"
        assert page.eval_on_selector("#out", "e => getComputedStyle(e).color") == "rgb(1, 2, 3)"
        assert page.eval_on_selector("#inline", "e => e.naturalWidth") == 8  # data: needs no network
    assert watch.refused == [] and watch.failed == []
    assert set(watch.statuses.values()) == {200}


@pytest.mark.usefixtures("allow_loopback")
def test_https_through_the_proxys_tunnel_with_headers_and_an_upload(browser: Browser, tmp_path: Path) -> None:
    page = (
        "<h1>Over TLS</h1><img src='dot.png'><p id=out>none</p><script>"
        "fetch('upload', {method: 'POST', body: new Uint8Array(1000000)}).then(r => r.text())"
        ".then(t => { document.getElementById('out').textContent = t })</script>"
    )
    answers = {
        "/index.html": Answer(page.encode()),
        "/dot.png": Answer(png(BLUE), "image/png"),
        "/upload": Answer(b"stored", "text/plain"),
    }
    with web_server(answers, tls=self_signed(tmp_path)) as server:
        source = Source("site.url", url=f"{server.url}/index.html")
        with guarded_page(browser, source, headers=["X-Token: abc"], ignore_https_errors=True) as (
            loaded,
            watch,
        ):
            assert loaded.inner_text("#out") == "stored"
            assert loaded.eval_on_selector("img", "e => e.naturalWidth") == 8
    assert watch.refused == [] and watch.failed == []
    assert sorted(server.paths()) == ["/dot.png", "/index.html", "/upload"]
    assert all(hit.headers.get("x-token") == "abc" for hit in server.hits)
    assert [hit.size for hit in server.hits if hit.path == "/upload"] == [1_000_000]


@pytest.mark.usefixtures("allow_loopback")
def test_a_plain_http_upload_is_carried_whole(browser: Browser) -> None:
    with web_server({"/upload": Answer(b"stored", "text/plain")}) as server:
        script = f"fetch('{server.url}/upload', {{method: 'POST', body: new Uint8Array(1000000)}})"
        with guarded_page(browser, site(f"<script>{script}</script>")):
            pass
    assert [(hit.path, hit.size) for hit in server.hits] == [("/upload", 1_000_000)]


@pytest.mark.parametrize(
    ("headers", "cookies"),
    [
        (["X-Token abc"], []),
        (["Bad Name: x"], []),
        (["X: a\r\nInjected: b"], []),
        ([], ["novalue"]),
        ([], ["a=b; Domain=evil"]),
    ],
)
def test_malformed_headers_and_cookies_are_invalid_options(headers: list[str], cookies: list[str]) -> None:
    source = Source("site.url", url="https://example.org/")
    with pytest.raises(InvalidOption):
        network.attach(object(), source, headers=headers, cookies=cookies)  # type: ignore[arg-type]


def test_a_malformed_allow_list_is_an_invalid_option(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVERSIO_URL_ALLOW", "10.0.0.0/8,not/a/network")
    with pytest.raises(InvalidOption):
        network.launch_proxy()


# -- the proxy on its own ------------------------------------------------------------------------


def loopback_only(host: str, port: int) -> socket.socket:
    """A connector reaching 127.0.0.1 and refusing everything else."""
    if host != "127.0.0.1":
        raise InvalidRequest(f"{host} is not allowed here", why="not allowed here")
    return socket.create_connection(("127.0.0.1", port), timeout=5)


@contextmanager
def started_proxy(max_connections: int) -> Iterator[Proxy]:
    started = Proxy(loopback_only, max_connections=max_connections, head_timeout=0.5)
    started.start()
    try:
        yield started
    finally:
        started.close()


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    with started_proxy(max_connections=8) as started:
        yield started


def exchange(proxy: Proxy, data: bytes) -> bytes:
    """Everything the proxy answers ``data`` until it closes the connection."""
    port = int(proxy.server.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        return answer


def test_a_connection_carries_one_request(proxy: Proxy) -> None:
    with web_server({"/one": Answer(b"first")}) as first, web_server({"/two": Answer(b"second")}) as second:
        answer = exchange(
            proxy,
            f"GET {first.url}/one HTTP/1.1\r\nHost: elsewhere.example\r\nConnection: keep-alive\r\n\r\n"
            f"GET {second.url}/two HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode(),
        )
    head, _, body = answer.partition(b"\r\n\r\n")
    assert body == b"first"
    assert b"\r\nConnection: close" in head
    assert first.paths() == ["/one"]
    assert first.hits[0].headers["host"] == f"127.0.0.1:{first.port}"  # the URL's, not the one sent
    assert second.hits == []


def test_a_tunnel_carries_bytes_both_ways(proxy: Proxy) -> None:
    with socket.create_server(("127.0.0.1", 0)) as echo:

        def serve() -> None:
            connection, _ = echo.accept()
            with connection:
                connection.sendall(connection.recv(100).upper())

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        answer = exchange(proxy, f"CONNECT 127.0.0.1:{echo.getsockname()[1]} HTTP/1.1\r\n\r\nhello".encode())
        thread.join(timeout=5)
    assert answer == b"HTTP/1.1 200 Connection established\r\n\r\nHELLO"


def test_refusals(proxy: Proxy) -> None:
    assert exchange(proxy, b"CONNECT 10.0.0.1:443 HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 403 ")
    assert exchange(proxy, b"GET http://10.0.0.1/ HTTP/1.1\r\n\r\n") == b""  # the browser sees it fail
    assert exchange(proxy, b"GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    assert exchange(proxy, b"GET ftp://127.0.0.1/ HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 400 ")


def test_a_slow_head_is_cut_and_connections_are_bounded() -> None:
    with started_proxy(max_connections=2) as proxy:
        port = int(proxy.server.rsplit(":", 1)[1])
        idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(2)]
        try:
            time.sleep(0.1)
            assert exchange(proxy, b"").startswith(b"HTTP/1.1 503 ")  # both slots are taken
            started = time.monotonic()
            assert idle[0].recv(100) == b""  # closed when its head did not come in time
            assert time.monotonic() - started < 2
        finally:
            for sock in idle:
                sock.close()
