"""Playwright helpers that drive the page as a person would. Importing this module skips the test
module that does when Playwright or Chromium is missing."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (tox -e web installs it)")
pytest.importorskip("pytest_playwright", reason="pytest-playwright is not installed")

from playwright.sync_api import Page, expect
from web_support import chromium_executable

if chromium_executable() is None:
    pytest.skip(
        "no Chromium (install Debian's chromium, or name one in CONVERSIO_CHROMIUM_EXECUTABLE)",
        allow_module_level=True,
    )


def sign_in(page: Page, url: str, key: str) -> None:
    """Sign in on ``url``'s sign-in page with ``key`` and wait for the convert page."""
    page.goto(f"{url}/sign-in")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(re.escape(url) + r"/?$"))
