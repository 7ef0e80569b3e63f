"""The main flow on a phone-sized screen (360 × 740, touch): it works, and nothing scrolls sideways."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect
from web_pages import choose_and_upload, convert, download_result, expect_done, pick_target, sign_in
from web_samples import DOCX_PAGES, Samples
from web_support import Server, save_screenshot

PHONE: ViewportSize = {"width": 360, "height": 740}


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def expect_no_sideways_scroll(page: Page, screen: str) -> None:
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    if overflow > 0:
        save_screenshot(page, f"phone-{screen}-overflow", full_page=True)
        wide = page.evaluate(
            """() => [...document.querySelectorAll("body *")]
              .filter((element) => element.getBoundingClientRect().right > window.innerWidth + 1)
              .slice(0, 5).map((element) => element.outerHTML.slice(0, 100))"""
        )
        raise AssertionError(f"{screen}: the page is {overflow} px wider than the screen: {wide}")


def test_the_main_flow_on_a_phone(phone: Page, server: Server, samples: Samples) -> None:
    assert server.key
    page = phone
    page.goto(f"{server.url}/sign-in")
    expect_no_sideways_scroll(page, "sign-in")
    sign_in(page, server.url, server.key)
    choose_and_upload(page, [samples.docx])
    pick_target(page, "ZIP", via="jpg")
    expect(page.locator("#route-view")).to_contain_text("docx → pdf → jpg (×pages) → zip")
    expect_no_sideways_scroll(page, "convert")
    card = convert(page, f"{samples.docx.name} → zip via jpg")
    expect_done(card)
    expect_no_sideways_scroll(page, "results")
    save_screenshot(page, "phone-results", full_page=True)
    with zipfile.ZipFile(download_result(page, card, "Download quarterly report.zip")) as archive:
        assert len(archive.namelist()) == DOCX_PAGES
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="History").click()
    expect(page.locator("#history-jobs")).to_contain_text(f"{samples.docx.name} → zip via jpg")
    expect_no_sideways_scroll(page, "history")
