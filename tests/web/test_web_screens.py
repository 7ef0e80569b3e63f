"""Each main screen of the page checked by axe-core (no serious or critical violation; the others are
printed) and saved as a screenshot in ``artifacts/``. With ``CONVERSIO_WEB_SCREENSHOTS=docs/images``
three of them also become the documentation's ``web-*.png``."""

from __future__ import annotations

import re
from typing import cast

import pytest
from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-not-found,unused-ignore]
from playwright.sync_api import FloatRect, Page, expect
from web_pages import choose_and_upload, convert, expect_done, pick_target, plan_steps
from web_samples import DOCX_PAGES, Samples
from web_support import Server, publish_screenshot, save_screenshot

BLOCKING_IMPACTS = ("serious", "critical")


def check_accessibility(page: Page, screen: str) -> None:
    """Run axe-core on the page as it is; fail on serious or critical violations, print the rest."""
    violations = Axe().run(page).response["violations"]
    for violation in violations:
        targets = [node["target"] for node in violation["nodes"]]
        print(f"{screen}: {violation['impact']} {violation['id']}: {violation['help']} {targets}")
    blocking = [v["id"] for v in violations if v["impact"] in BLOCKING_IMPACTS]
    assert blocking == [], f"{screen}: serious or critical accessibility violations {blocking}"


def test_the_checker_sees_violations(page: Page) -> None:
    """The check above fails on a page with an unnamed button and an image without text."""
    page.set_content('<html><body><img src="data:,"><button></button></body></html>')
    with pytest.raises(AssertionError, match="button-name"):
        check_accessibility(page, "a broken page")


def region(page: Page, first: str, last: str) -> FloatRect:
    """The part of the page from the top of ``first`` to the bottom of ``last``, in page coordinates."""
    return cast(
        FloatRect,
        page.evaluate(
            """([first, last]) => {
              const top = document.querySelector(first).getBoundingClientRect();
              const bottom = document.querySelector(last).getBoundingClientRect();
              const width = document.documentElement.clientWidth;
              return {x: 0, y: top.top + scrollY, width, height: bottom.bottom - top.top + 24};
            }""",
            [first, last],
        ),
    )


def test_sign_in(page: Page, server: Server) -> None:
    page.goto(f"{server.url}/sign-in")
    expect(page.get_by_label("API key")).to_be_visible()
    check_accessibility(page, "sign-in")
    publish_screenshot(page, "sign-in", clip=region(page, "header", "#sign-in-form"))
    page.get_by_label("API key").fill("cv_wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#sign-in-error code")).to_have_text("UNAUTHORIZED")
    check_accessibility(page, "sign-in with an error")
    save_screenshot(page, "sign-in-error")


def test_convert_with_files_targets_and_a_route(signed_in: Page, samples: Samples) -> None:
    page = signed_in
    check_accessibility(page, "convert, empty")
    choose_and_upload(page, [samples.docx])
    pick_target(page, "ZIP", via="jpg")
    expect(page.locator("#route-view")).to_contain_text("docx → pdf → jpg (×pages) → zip")
    check_accessibility(page, "convert with a route")
    publish_screenshot(page, "convert", full_page=True, clip=region(page, "#pick", "#route-view"))


def test_convert_with_steps_and_their_options(signed_in: Page, samples: Samples) -> None:
    page = signed_in
    plan_steps(page, list(samples.pdfs), "Keep PDF", "merge", "encrypt")
    expect(page.get_by_role("group", name="Step 2: encrypt")).to_be_visible()
    check_accessibility(page, "convert with steps and their options")
    save_screenshot(page.locator("#plan"), "convert-steps")


def test_finished_and_failed_jobs(signed_in: Page, samples: Samples) -> None:
    page = signed_in
    choose_and_upload(page, [samples.docx])
    pick_target(page, "JPG")
    card = convert(page, f"{samples.docx.name} → jpg")
    expect_done(card)
    expect(card.locator(".file-name")).to_have_count(DOCX_PAGES)
    previews = card.get_by_role("img", name=re.compile("^Preview of"))
    for index in range(DOCX_PAGES):  # each made when it scrolls into view
        card.locator(".preview").nth(index).scroll_into_view_if_needed()
        expect(previews.nth(index)).to_have_js_property("complete", True)
        assert previews.nth(index).evaluate("image => image.naturalWidth") > 0
    check_accessibility(page, "a finished job")
    publish_screenshot(card, "results")

    page.get_by_role("button", name=f"Remove {samples.docx.name}").click()
    choose_and_upload(page, [samples.corrupt_pdf])
    pick_target(page, "PNG")
    failed = convert(page, f"{samples.corrupt_pdf.name} → png")
    expect(failed.locator(".error-box code")).to_have_text("CORRUPT_FILE", timeout=60_000)
    check_accessibility(page, "a failed job")
    save_screenshot(failed, "failed-job")


def test_history(signed_in: Page, samples: Samples) -> None:
    page = signed_in
    choose_and_upload(page, [samples.png])
    pick_target(page, "WEBP")
    expect_done(convert(page, f"{samples.png.name} → webp"))
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="History").click()
    expect(page.locator("#history-jobs")).to_contain_text(f"{samples.png.name} → webp")
    expect(page.locator("#history-files")).to_contain_text("picture.webp")
    check_accessibility(page, "history")
    save_screenshot(page, "history", full_page=True)


def test_dark_colours(signed_in: Page, samples: Samples) -> None:
    """The dark colour scheme (prefers-color-scheme: dark) keeps its contrast, results included."""
    page = signed_in
    page.emulate_media(color_scheme="dark")
    choose_and_upload(page, [samples.png])
    pick_target(page, "JPG")
    expect_done(convert(page, f"{samples.png.name} → jpg"))
    check_accessibility(page, "convert, dark")
    save_screenshot(page, "convert-dark", full_page=True)
