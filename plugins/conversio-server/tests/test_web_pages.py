"""The web page's shells against a real server: each page renders with the element ids the page's
modules rely on and the strict headers, has no inline script or style, and every script and stylesheet
it names is served with its own type and ``nosniff``. With keys the sign-in page asks for one; in
``--dev`` mode it says none is needed."""

from __future__ import annotations

import queue
import re
import subprocess
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import attrs
import httpx
import pytest
from conftest import LiveServer, start_server
from conversio_server.errors import STATUS_BY_CODE
from conversio_server.serving import page_url
from conversio_server.settings import ServerSettings
from conversio_server.web.security import PAGE_HEADERS
from test_jobs_durability import CONVERSIO, stop
from test_tenancy import keyed_settings

PAGES = {"/": "convert", "/history": "history", "/sign-in": "sign-in"}
#: The modules a module imports from beside it (``import … from "./x.js"``, ``import "./x.js"``).
IMPORT = re.compile(r"""(?:from|import)\s*["']\./([\w-]+\.js)["']""")


@attrs.define
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""


class Page(HTMLParser):
    """Every element of a page with its attributes (and the text of scripts and styles)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.elements: list[Element] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, {name: value or "" for name, value in attrs}))

    def handle_data(self, data: str) -> None:
        if self.elements and self.elements[-1].tag in ("script", "style"):
            self.elements[-1].text += data

    def all(self, tag: str) -> list[Element]:
        return [e for e in self.elements if e.tag == tag]

    def by_id(self, element_id: str) -> Element:
        found = [e for e in self.elements if e.attrs.get("id") == element_id]
        assert len(found) == 1, f"{len(found)} elements with id {element_id!r}"
        return found[0]


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(keyed_settings(tmp_path_factory.mktemp("web-pages"), job_workers=0))
    yield live
    live.stop()


def page(http: httpx.Client, path: str) -> Page:
    response = http.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"
    for name, value in PAGE_HEADERS.items():
        assert response.headers[name] == value, name
    return Page(response.text)


@pytest.mark.parametrize("path", PAGES)
def test_pages_render_the_contract_with_strict_headers(client: httpx.Client, path: str) -> None:
    html = page(client, path)
    body = html.all("body")[0]
    assert body.attrs == {"data-auth": "none", "data-page": PAGES[path]}
    skip = html.all("a")[0]
    assert skip.attrs == {"class": "skip", "href": "#main"}
    assert html.by_id("main").tag == "main"
    assert html.by_id("announcer").attrs["aria-live"] == "polite"
    assert html.all("html")[0].attrs["lang"] == "en"
    assert {a.attrs["href"] for a in html.all("a")} >= {"/", "/history"}


def test_the_convert_and_history_pages_hold_their_sections(client: httpx.Client) -> None:
    convert = page(client, "/")
    for section in ("pick", "plan", "jobs"):
        assert convert.by_id(section).tag == "section"
    assert convert.by_id("job-list").tag == "ol"
    history = page(client, "/history")
    for section in ("history-jobs", "history-files"):
        assert history.by_id(section).tag == "section"


@pytest.mark.parametrize("path", PAGES)
def test_no_inline_script_or_style(client: httpx.Client, path: str) -> None:
    html = page(client, path)
    scripts = html.all("script")
    assert scripts, "a page without its module"
    for script in scripts:
        assert script.attrs.get("type") == "module" and script.attrs["src"].startswith("/static/js/")
        assert not script.text.strip()
    assert not html.all("style")
    for element in html.elements:
        assert "style" not in element.attrs, element
        assert not [name for name in element.attrs if name.startswith("on")], element
        assert not element.attrs.get("href", "").lower().startswith("javascript:"), element


@pytest.mark.parametrize("path", PAGES)
def test_every_script_and_stylesheet_is_served_with_its_type(client: httpx.Client, path: str) -> None:
    html = page(client, path)
    wanted = {s.attrs["src"]: "text/javascript" for s in html.all("script")}
    wanted |= {
        link.attrs["href"]: "text/css" for link in html.all("link") if link.attrs["rel"] == "stylesheet"
    }
    for url, media_type in wanted.items():
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["content-type"].split(";")[0] == media_type, url
        assert response.headers["x-content-type-options"] == "nosniff", url


def test_modules_import_only_served_modules(client: httpx.Client) -> None:
    """Every module a page loads, and every module those import (``from "./x.js"``), is served."""
    queue = [s.attrs["src"] for path in PAGES for s in page(client, path).all("script")]
    seen: set[str] = set()
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        assert response.status_code == 200, url
        queue += [f"/static/js/{name}" for name in IMPORT.findall(response.text)]
    assert {"/static/js/api.js", "/static/js/dom.js", "/static/js/errors.js"} <= seen


def test_static_files_outside_the_folder_are_not_served(client: httpx.Client) -> None:
    for path in ("/static/nope.js", "/static/../routes.py", "/static/%2e%2e/security.py"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["x-content-type-options"] == "nosniff"


def test_head_of_a_page(client: httpx.Client) -> None:
    response = client.head("/")
    assert response.status_code == 200 and not response.content
    assert response.headers["x-frame-options"] == "DENY"


def test_sign_in_asks_for_a_key_when_the_server_has_keys(keyed: LiveServer) -> None:
    with keyed.client() as http:
        html = page(http, "/sign-in")
        assert html.all("body")[0].attrs["data-auth"] == "key"
        field = html.by_id("api-key")
        assert field.tag == "input" and field.attrs["type"] == "password"
        assert [label.attrs["for"] for label in html.all("label")] == ["api-key"]
        assert html.by_id("sign-in-form").tag == "form"
        assert html.by_id("sign-out").tag == "button"
        # the pages themselves need no key: their modules ask for one
        assert http.get("/history").status_code == 200


def test_sign_in_in_development_mode_says_no_key_is_needed(client: httpx.Client) -> None:
    response = client.get("/sign-in")
    assert "no API key is needed" in response.text
    html = Page(response.text)
    assert not html.all("form") and not html.all("input")
    assert not [e for e in html.elements if e.attrs.get("id") == "sign-out"]


def test_a_page_names_no_data_of_any_key(keyed: LiveServer) -> None:
    """The shells are the same for everyone: nothing of a key is rendered into them."""
    with keyed.client() as anonymous:
        first = anonymous.get("/").text
    with keyed.client(headers={"Authorization": "Bearer cv_whatever"}) as http:
        assert http.get("/").text == first


def test_conversio_serve_says_where_the_page_is(tmp_path: Path) -> None:
    """On an address it chose itself (port 0), ``conversio serve`` names the page's URL once it listens."""
    command = [CONVERSIO, "serve", "--dev", "--port", "0", "--data-dir", str(tmp_path)]
    serve = subprocess.Popen(
        [*command, "--workers", "1", "--job-workers", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def read_stderr() -> None:
        for line in serve.stderr or ():
            lines.put(line.decode(errors="replace"))

    threading.Thread(target=read_stderr, daemon=True).start()
    try:
        said = ""
        while "web page" not in said:
            said = lines.get(timeout=60)
        url = said.removeprefix("conversio: the web page is at ").strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:[1-9][0-9]*/", url), said
        answer = httpx.get(url, timeout=30)
        assert answer.status_code == 200 and 'data-page="convert"' in answer.text
    finally:
        stop(serve)


@pytest.mark.parametrize(
    ("host", "public_url", "url"),
    [
        ("127.0.0.1", None, "http://127.0.0.1:8000/"),
        ("0.0.0.0", None, "http://127.0.0.1:8000/"),
        ("::", None, "http://[::1]:8000/"),
        ("0.0.0.0", "https://convert.example.org/base", "https://convert.example.org/base/"),
    ],
)
def test_the_page_url_is_one_a_browser_can_open(host: str, public_url: str | None, url: str) -> None:
    settings = ServerSettings.load(environ={}, host=host, public_url=public_url, data_dir=Path("unused"))
    assert page_url(settings, 8000) == url


def test_every_error_code_has_advice_for_people(client: httpx.Client) -> None:
    """The page says what to do about any code the server answers with (errors.js's table)."""
    script = client.get("/static/js/errors.js").text
    advised = set(re.findall(r"^\s+([A-Z_]+): \"", script, re.MULTILINE))
    assert set(STATUS_BY_CODE) | {"NETWORK"} == advised
