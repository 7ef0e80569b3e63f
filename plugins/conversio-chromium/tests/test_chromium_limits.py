"""Hostile pages against the limits: endless scripts, memory, page counts.

Each is refused with its own code, naming the file, and the next conversion works."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import PLUGIN, pdf_pages
from conversio_chromium.browser import chromium

import conversio
from conversio.errors import ConversioError
from conversio.limits import Limits
from conversio.testing import make_conversio

MIB = 1024 * 1024
#: Time a conversion has in these tests.
TIMEOUT = 5.0


@pytest.fixture
def strict() -> Iterator[conversio.Conversio]:
    chromium().run(lambda browser, dog: None, timeout=60)  # started: a cold start counts in the time
    instance = make_conversio(
        PLUGIN, cache=False, limits=Limits(timeout=TIMEOUT, max_engine_memory=1024 * MIB, max_pages=3)
    )
    yield instance
    instance.close()


def convert(app: conversio.Conversio, tmp_path: Path, html: str, name: str, **options: Any) -> Path:
    source = tmp_path / name
    source.write_text(html)
    [path] = app.convert(source, to="pdf", options=options or None).save(tmp_path / f"{name}.pdf")
    return path


def refusal(app: conversio.Conversio, tmp_path: Path, html: str, name: str, **options: Any) -> ConversioError:
    started = time.monotonic()
    with pytest.raises(ConversioError) as info:
        convert(app, tmp_path, html, name, **options)
    assert time.monotonic() - started < app.limits.step_timeout("chromium") + 10
    assert name in info.value.message
    assert "Traceback" not in info.value.message
    return info.value


def still_works(app: conversio.Conversio, tmp_path: Path) -> None:
    [(*_, text)] = pdf_pages(convert(app, tmp_path, "<p>after</p>", "after.html"))
    assert "after" in text


@pytest.mark.parametrize(
    ("script", "options"),
    [
        ("<script>while (true) {}</script><p>never</p>", {}),  # the load event never comes
        # loaded, then hung while it waits: the printing never gets its turn
        (
            "<p>loaded</p><script>onload = () => setTimeout(() => { while (true) {} }, 100)</script>",
            {"wait_delay": 0.5},
        ),
    ],
)
def test_an_endless_script_times_out_and_the_browser_is_replaced(
    strict: conversio.Conversio, tmp_path: Path, script: str, options: dict[str, Any]
) -> None:
    convert(strict, tmp_path, "<p>warm</p>", "warm.html")
    before = chromium().pid
    error = refusal(strict, tmp_path, script, "loop.html", **options)
    assert error.code == "TIMEOUT"
    still_works(strict, tmp_path)
    assert chromium().pid != before


def test_a_page_eating_memory_is_killed(tmp_path: Path) -> None:
    # Time enough to reach the cap on a loaded machine: the cap, not the clock, must stop it.
    app = make_conversio(PLUGIN, cache=False, limits=Limits(timeout=30, max_engine_memory=1024 * MIB))
    page = "<script>const kept = []; while (true) { kept.push(new Float64Array(1 << 23).fill(1)) }</script>"
    try:
        error = refusal(app, tmp_path, page, "hungry.html")
        assert error.code == "FILE_TOO_LARGE"
        assert error.details["limit"] == "max_engine_memory"
        still_works(app, tmp_path)
    finally:
        app.close()


def test_more_pages_than_allowed(strict: conversio.Conversio, tmp_path: Path) -> None:
    error = refusal(strict, tmp_path, "<div style='height:100000px'>tall</div>", "tall.html")
    assert error.code == "FILE_TOO_LARGE"
    assert error.details["limit"] == "max_pages"
    still_works(strict, tmp_path)
