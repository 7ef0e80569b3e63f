"""Signing in with an API key: the right key opens the page, a wrong one is refused with its code, and
the key travels only in the Authorization header: never in a URL, the page source or a cookie."""

from __future__ import annotations

import re

from playwright.sync_api import Page, Request, expect
from web_pages import sign_in
from web_support import Server


def test_the_key_opens_the_convert_page_and_stays_out_of_urls(page: Page, server: Server) -> None:
    assert server.key
    requests: list[Request] = []

    def record(request: Request) -> None:  # a bound list method cannot be a Playwright handler
        requests.append(request)

    page.on("request", record)
    sign_in(page, server.url, server.key)
    expect(page.get_by_role("heading", name="Convert files")).to_be_visible()
    page.goto(f"{server.url}/history")
    expect(page.get_by_role("heading", name="History")).to_be_visible()
    api_calls = [r for r in requests if "/v1/" in r.url]
    assert api_calls, "the page made no API request"
    assert all(r.all_headers().get("authorization") == f"Bearer {server.key}" for r in api_calls)
    assert not [r.url for r in requests if server.key in r.url]
    assert server.key not in page.content()
    assert page.context.cookies() == []


def test_a_wrong_key_shows_its_coded_error(page: Page, server: Server) -> None:
    wrong = "cv_0000000000000000_not-a-key-of-this-server"
    page.goto(f"{server.url}/sign-in")
    page.get_by_label("API key").fill(wrong)
    page.get_by_role("button", name="Sign in").click()
    error = page.locator("#sign-in-error")
    expect(error).to_be_visible()
    expect(error.locator("code")).to_have_text("UNAUTHORIZED")
    expect(error).to_contain_text("Sign in again with a valid API key")
    expect(page.get_by_label("API key")).to_have_attribute("aria-invalid", "true")
    assert page.url.startswith(f"{server.url}/sign-in")
    assert wrong not in page.url
    assert page.evaluate("Object.keys(sessionStorage).length") == 0


def test_a_page_without_a_key_sends_to_sign_in_and_back(page: Page, server: Server) -> None:
    assert server.key
    page.goto(f"{server.url}/history")
    expect(page).to_have_url(f"{server.url}/sign-in?next=%2Fhistory")
    page.get_by_label("API key").fill(server.key)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{server.url}/history")
    expect(page.get_by_role("heading", name="History")).to_be_visible()


def test_sign_in_never_leaves_for_another_site(page: Page, server: Server) -> None:
    assert server.key
    page.goto(f"{server.url}/sign-in?next=//example.com/")
    page.get_by_label("API key").fill(server.key)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{server.url}/")


def test_sign_out_forgets_the_key(page: Page, server: Server) -> None:
    assert server.key
    sign_in(page, server.url, server.key)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("API key")).to_be_visible()
    assert server.key not in page.evaluate("JSON.stringify(sessionStorage)")
    page.goto(f"{server.url}/")
    expect(page).to_have_url(re.compile(r"/sign-in"))


def test_dev_mode_needs_no_key(page: Page, dev_server: Server) -> None:
    page.goto(f"{dev_server.url}/sign-in")
    expect(page.get_by_text("no API key is needed")).to_be_visible()
    page.goto(f"{dev_server.url}/")
    expect(page.get_by_role("heading", name="Convert files")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
