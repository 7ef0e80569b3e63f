"""Playwright helpers that drive the page as a person would."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import ConsoleMessage, FilePayload, Locator, Page, expect

#: Seconds a conversion of the small samples may take, however busy the machine.
JOB_TIMEOUT_MS = 90_000


def sign_in(page: Page, url: str, key: str) -> None:
    """Sign in on ``url``'s sign-in page with ``key`` and wait for the convert page."""
    page.goto(f"{url}/sign-in")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(re.escape(url) + r"/?$"))
    page.wait_for_load_state()  # the page's modules have run: its controls answer


def record_policy_violations(page: Page) -> list[str]:
    """The Content-Security-Policy violations the page reports from now on (a list that fills up)."""
    violations: list[str] = []

    def record(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    page.on("console", record)
    return violations


def choose_and_upload(page: Page, files: list[Path] | list[FilePayload]) -> None:
    """Choose ``files`` through the page's file input (as a drop or the file dialog would) and wait
    until the server has stored and recognised each one."""
    page.get_by_label("Choose files to convert").set_input_files(files)
    rows = page.get_by_role("list", name="Chosen files").get_by_role("listitem")
    expect(rows).to_have_count(len(files))
    expect(page.locator("#file-list li[data-state=ready]")).to_have_count(len(files), timeout=30_000)


def pick_target(page: Page, target: str, *, via: str | None = None) -> None:
    """Choose the target format (its radio button, ``"ZIP"``) and the format to go through."""
    page.get_by_role("radio", name=target, exact=True).check()
    if via is not None:
        page.get_by_label("Go through").select_option(via)


def add_step(page: Page, operation: str) -> None:
    """Add the step ``operation`` (``"merge"``) after the conversion."""
    choice = page.get_by_label("Step to add")
    value = choice.locator("option", has_text=re.compile(f"^{operation}:")).get_attribute("value")
    assert value is not None, f"no step {operation} offered"
    choice.select_option(value)
    page.get_by_role("button", name="Add the step").click()


def plan_steps(page: Page, files: list[Path], target: str, *operations: str) -> None:
    """Choose ``files``, the ``target`` (``"Keep PDF"``) and add ``operations`` as steps after it."""
    choose_and_upload(page, files)
    pick_target(page, target)
    for operation in operations:
        add_step(page, operation)


def convert(page: Page, label: str) -> Locator:
    """Press Convert; the new job's card, named ``label`` (``"report.docx → pdf"``)."""
    page.get_by_role("button", name="Convert", exact=True).click()
    card = page.get_by_role("article", name=label)
    expect(card).to_be_visible()
    return card


def expect_done(card: Locator) -> None:
    """Wait until the job of ``card`` is done (its results shown)."""
    expect(card.locator(".job-status")).to_have_text(re.compile(r"^Done"), timeout=JOB_TIMEOUT_MS)


def download_result(page: Page, card: Locator, name: str | re.Pattern[str]) -> Path:
    """Download the result of ``card`` whose Download link is named ``name``; the saved file."""
    with page.expect_download() as download:
        card.get_by_role("link", name=name).click()
    return Path(download.value.path())
