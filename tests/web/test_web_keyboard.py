"""The main flow with the keyboard alone (Tab, Shift+Tab, Enter, Space; the file chosen through the
input as the file dialog would), every focused control showing where the focus is."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from web_pages import choose_and_upload, expect_done
from web_samples import Samples
from web_support import Server, save_screenshot

#: The most Tab presses from one control to the next one wanted.
MAX_TABS = 60

#: Whether the focused element shows a focus indicator (an outline, or a box shadow ring).
FOCUS_VISIBLE = """() => {
  const element = document.activeElement;
  if (!element || element === document.body) return false;
  const style = getComputedStyle(element);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  return outline || style.boxShadow !== "none";
}"""


def focused(page: Page, selector: str) -> bool:
    return bool(page.evaluate("selector => document.activeElement?.matches(selector) ?? false", selector))


def tab_to(page: Page, selector: str, *, key: str = "Tab") -> None:
    """Press ``key`` (Tab or Shift+Tab) until the focus is on ``selector``; each control on the way
    must show its focus."""
    for _ in range(MAX_TABS):
        page.keyboard.press(key)
        assert not focused(page, "body"), f"{key} left the page's controls before reaching {selector}"
        described = page.evaluate("() => document.activeElement.outerHTML.slice(0, 120)")
        assert page.evaluate(FOCUS_VISIBLE), f"no visible focus on {described}"
        if focused(page, selector):
            return
    raise AssertionError(f"{selector} not reached in {MAX_TABS} presses of {key}")


def test_the_main_flow_by_keyboard_alone(page: Page, server: Server, samples: Samples) -> None:
    assert server.key
    page.goto(f"{server.url}/sign-in")
    tab_to(page, "#api-key")
    page.keyboard.type(server.key)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Convert files")).to_be_visible()
    page.wait_for_load_state()

    tab_to(page, "a.skip")
    expect(page.get_by_role("link", name="Skip to the content")).to_be_in_viewport()
    page.keyboard.press("Enter")
    assert focused(page, "#main")
    tab_to(page, "#pick-files")
    choose_and_upload(page, [samples.docx])

    tab_to(page, "input[name=target]")
    page.keyboard.press("Space")
    target = page.evaluate("() => document.activeElement.value")
    assert page.get_by_role("radio", checked=True).get_attribute("value") == target
    tab_to(page, "#convert-button")
    tab_to(page, "input[name=target]", key="Shift+Tab")  # back, and forth again
    tab_to(page, "#convert-button")
    page.keyboard.press("Enter")

    card = page.get_by_role("article", name=f"{samples.docx.name} → {target}")
    expect_done(card)
    tab_to(page, "#job-list a[download]")
    save_screenshot(page, "keyboard-download-focused", full_page=True)
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    assert download.value.suggested_filename.endswith(f".{target}")
    assert download.value.path().stat().st_size > 1000
