"""The page options: waiting, scripts, media, user agent, the fail_on_* refusals and bad values."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from conftest import Convert, pdf_pages, refused
from web_servers import Answer, web_server

#: Writes "ready" into the page a moment after it loaded, and sets window.ready.
LATE = (
    "<p id=out>waiting</p><script>setTimeout(() => {"
    "document.getElementById('out').textContent = 'ready'; window.ready = true;"
    "const p = document.createElement('p'); p.id = 'late'; p.textContent = 'late'; document.body.append(p);"
    "}, 300)</script>"
)


def text_of(convert: Convert, html: str, name: str = "page.html", **options: object) -> str:
    return "".join(text for *_, text in pdf_pages(convert(html, "pdf", name=name, **options)))


@pytest.mark.parametrize(
    "options",
    [{"wait_delay": 1.0}, {"wait_for_expression": "window.ready === true"}, {"wait_for_selector": "#late"}],
)
def test_waiting_for_the_page(convert: Convert, options: dict[str, Any]) -> None:
    assert "ready" in text_of(convert, LATE, **options)


def test_without_waiting_the_page_is_printed_at_once(convert: Convert) -> None:
    assert "waiting" in text_of(convert, LATE)


def test_javascript_can_be_turned_off(convert: Convert) -> None:
    page = "<p id=out>static</p><script>document.getElementById('out').textContent = 'scripted'</script>"
    assert "scripted" in text_of(convert, page)
    assert "static" in text_of(convert, page, javascript=False)


def test_media_and_user_agent(convert: Convert) -> None:
    page = (
        "<style>@media screen{.print{display:none}} @media print{.screen{display:none}}</style>"
        "<p class=print>on paper</p><p class=screen>on screen</p>"
        "<p id=agent></p><script>document.getElementById('agent').textContent = navigator.userAgent</script>"
    )
    assert "on paper" in text_of(convert, page)
    text = text_of(convert, page, media="screen", user_agent="conversio-test/1.0")
    assert "on screen" in text and "on paper" not in text
    assert "conversio-test/1.0" in text


def test_a_script_error_is_refused_when_asked(convert: Convert) -> None:
    page = "<p>body</p><script>throw new Error('boom in the page')</script>"
    assert "body" in text_of(convert, page)
    error = refused(convert, page, fail_on_console_exceptions=True)
    assert error.code == "CONVERSION_FAILED"
    assert "boom in the page" in error.message and "page.html" in error.message


def test_a_missing_resource_is_refused_when_asked(convert: Convert) -> None:
    page = "<p>body</p><img src='missing.png'>"
    assert "body" in text_of(convert, page)
    error = refused(convert, page, fail_on_resource_status=["400-499"])
    assert error.code == "CONVERSION_FAILED"
    assert "missing.png (404)" in error.message


def test_a_refused_resource_is_refused_when_asked(convert: Convert) -> None:
    page = "<p>body</p><img src='http://169.254.169.254/latest/meta-data/'>"
    assert "body" in text_of(convert, page)
    error = refused(convert, page, fail_on_resource_loading_failed=True)
    assert error.code == "CONVERSION_FAILED"
    assert "169.254.169.254" in error.message


@pytest.mark.parametrize(
    ("options", "option"),
    [
        ({"paper_width": "wide"}, "paper_width"),
        ({"margin_top": "-1cm"}, "margin_top"),
        ({"margin_left": "15cm", "margin_right": "15cm"}, "margin_left"),
        ({"paper_height": "0mm"}, "paper_height"),
        ({"pages": "1-x"}, "pages"),
        ({"pages": "3-1"}, "pages"),
        ({"pages": "0"}, "pages"),
        ({"fail_on_status": ["4xx"]}, "fail_on_status"),
        ({"fail_on_resource_status": ["700"]}, "fail_on_resource_status"),
        ({"wait_for_selector": "p[["}, "wait_for_selector"),
        ({"wait_for_expression": "1 +* 2"}, "wait_for_expression"),
        ({"wait_for_expression": "window.ready", "javascript": False}, "wait_for_expression"),
        ({"wait_delay": 30.0}, None),
    ],
)
def test_bad_values_are_refused(convert: Convert, options: dict[str, Any], option: str | None) -> None:
    error = refused(convert, "<p>x</p>", **options)
    if option is None:  # a wait longer than the time a conversion has
        assert error.code == "TIMEOUT"
        return
    assert error.code == "INVALID_OPTION"
    assert error.details["option"] == option
    assert "Page." not in error.message and "wait_for_function" not in error.message  # no driver calls


@pytest.mark.parametrize("clip", ["1,2,3", "a,b,c,d", "0,0,0,10", "-1,0,10,10"])
def test_bad_clips_are_refused(convert: Convert, clip: str) -> None:
    error = refused(convert, "<p>x</p>", "png", clip=clip)
    assert error.code == "INVALID_OPTION" and error.details["option"] == "clip"


@pytest.fixture
def allow_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVERSIO_URL_ALLOW", "127.0.0.1")


@pytest.mark.usefixtures("allow_loopback")
def test_the_page_status(convert: Convert) -> None:
    answers = {"/gone": Answer(b"<p>not here</p>", status=404), "/fine": Answer(b"<p>fine</p>")}
    with web_server(answers) as server:
        error = refused(convert, f"{server.url}/gone\n", name="site.url")
        assert error.code == "CONVERSION_FAILED"
        assert error.message == f"site.url: {server.url}/gone answered HTTP 404"
        assert "not here" in text_of(convert, f"{server.url}/gone\n", name="site.url", fail_on_status=[])
        error = refused(convert, f"{server.url}/fine\n", name="site.url", fail_on_status=["200", "500-599"])
        assert (error.details["status"], error.details["final"]) == (200, True)


@pytest.mark.usefixtures("allow_loopback")
def test_an_address_nobody_answers(convert: Convert) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, not listening: connections are refused
        error = refused(convert, f"http://127.0.0.1:{port}/\n", name="site.url")
    assert error.code == "INVALID_REQUEST"
    assert error.details["reason"] == "URL_UNREACHABLE"
    assert "site.url" in error.message
