"""The page's protections, seen from the browser: strict headers, no inline script, no dialog from a
hostile file name or a user's HTML, and a cross-site form refused by a --dev server."""

from __future__ import annotations

import html
import json
import re

import pytest
from playwright.sync_api import Dialog, FilePayload, Page, expect
from web_pages import choose_and_upload, convert, expect_done, pick_target, record_policy_violations
from web_samples import Samples
from web_support import Server

PAGE_POLICY = (
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
)
HOSTILE_NAME = "<img src=x onerror=alert(1)>.png"
#: Elements with an inline event handler attribute (onclick=…, onerror=…).
INLINE_HANDLERS = """() => [...document.querySelectorAll("*")]
  .filter((element) => [...element.attributes].some((attribute) => attribute.name.startsWith("on")))
  .map((element) => element.outerHTML.slice(0, 80))"""


def _record_dialogs(page: Page) -> list[str]:
    dialogs: list[str] = []

    def record(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    return dialogs


@pytest.mark.parametrize("path", ["/", "/history", "/sign-in"])
def test_every_page_has_strict_headers_and_no_inline_script(
    signed_in: Page, server: Server, path: str
) -> None:
    page = signed_in  # signed in: no page sends the browser on to /sign-in while it is checked
    response = page.goto(f"{server.url}{path}")
    assert response is not None
    headers = response.headers
    for directive in PAGE_POLICY:
        assert directive in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    inline = page.eval_on_selector_all("script", "scripts => scripts.filter(s => !s.src).length")
    assert inline == 0
    assert page.evaluate(INLINE_HANDLERS) == []
    assert page.locator("style, [style]").count() == 0
    assert page.locator("script[type=module][src^='/static/']").count() >= 1


def test_a_hostile_file_name_is_shown_as_text(signed_in: Page, server: Server, samples: Samples) -> None:
    """A file named like markup is listed, converted and offered for download as plain text."""
    page = signed_in
    dialogs = _record_dialogs(page)
    violations = record_policy_violations(page)
    hostile = FilePayload(name=HOSTILE_NAME, mimeType="image/png", buffer=samples.png.read_bytes())
    choose_and_upload(page, [hostile])
    expect(page.locator("#file-list")).to_contain_text(HOSTILE_NAME)
    pick_target(page, "JPG")
    card = convert(page, f"{HOSTILE_NAME} → jpg")
    expect_done(card)
    # the server may make the result's name safe for file systems (<, > as _): it stays text either way
    expect(card.locator(".file-name")).to_have_text(re.compile(r"img src=x onerror=alert\(1\).?\.jpg$"))
    assert page.locator("img[src='x']").count() == 0
    assert page.evaluate(INLINE_HANDLERS) == []
    assert html.escape(HOSTILE_NAME, quote=False) in page.content()
    page.goto(f"{server.url}/history")
    expect(page.locator("#history-jobs")).to_contain_text(f"{HOSTILE_NAME} → jpg")
    expect(page.locator("#history-files")).to_contain_text("img src=x onerror=alert(1)")
    assert page.locator("img[src='x']").count() == 0
    assert dialogs == []
    assert violations == []


def test_a_users_html_opened_from_its_link_cannot_run(page: Page, dev_server: Server) -> None:
    """A stored HTML file's signed link is a sandboxed download: its script never runs in the page."""
    script = b"<!doctype html><title>t</title><script>alert('from the file')</script>"
    with dev_server.client() as api:
        stored = api.post("/v1/files", files={"file": ("page.html", script, "text/html")}).json()["files"][0]
    response = page.request.get(stored["downloadUrl"])
    assert response.body() == script
    assert "sandbox" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    dialogs = _record_dialogs(page)
    page.goto(f"{dev_server.url}/")
    with page.expect_download() as download:
        page.evaluate("url => location.assign(url)", stored["downloadUrl"])
    assert download.value.suggested_filename == "page.html"
    assert dialogs == []


def test_a_cross_site_form_cannot_use_a_dev_server(page: Page, dev_server: Server, samples: Samples) -> None:
    """--dev needs no key: another site's form posting a file to it is refused with a coded 403."""
    page.set_content(
        f'<form method="post" action="{dev_server.url}/v1/files" enctype="multipart/form-data">'
        '<input type="file" name="file" aria-label="file"><button>send</button></form>'
    )
    page.get_by_label("file").set_input_files(samples.png)
    with page.expect_navigation():
        page.get_by_role("button", name="send").click()
    body = json.loads(page.locator("body").inner_text())
    assert body["error"]["code"] == "FORBIDDEN"
