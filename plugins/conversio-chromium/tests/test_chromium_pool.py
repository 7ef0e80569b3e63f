"""The warm browser: reused, recycled, replaced when killed, isolating conversions, and never
outliving its worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
from conftest import PLUGIN, Convert, pdf_pages
from conversio_chromium import browser
from conversio_chromium.browser import MAX_PAGES_ENV, PREFIX, chromium, sweep_stale
from conversio_chromium.watchdog import kill_group

from conversio.errors import ConversioError
from conversio.limits import Limits
from conversio.testing import make_conversio
from conversio.testing.processes import descendants, gather, left_after

#: Generous, for a loaded machine: Playwright's driver and Chromium starting.
DEADLINE = 60.0
GONE_WITHIN = 15.0


def timed(convert: Convert, name: str) -> float:
    started = time.monotonic()
    convert("<p>timed</p>", "pdf", name=name)
    return time.monotonic() - started


def test_the_browser_stays_warm(convert: Convert) -> None:
    chromium().stop()
    cold = timed(convert, "cold.html")
    pid, starts = chromium().pid, chromium().starts
    warm = min(timed(convert, f"warm{n}.html") for n in range(3))
    assert chromium().pid == pid and chromium().starts == starts
    assert warm < cold, (cold, warm)


def test_driven_over_a_pipe_without_a_devtools_port(convert: Convert) -> None:
    convert("<p>one</p>", "pdf")
    arguments = Path(f"/proc/{chromium().pid}/cmdline").read_bytes().split(b"\0")
    assert b"--remote-debugging-pipe" in arguments
    assert not [a for a in arguments if a.startswith(b"--remote-debugging-port")]


def test_recycled_after_its_pages(convert: Convert, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MAX_PAGES_ENV, "2")
    chromium().stop()
    convert("<p>one</p>", "pdf", name="one.html")
    first = chromium().pid
    convert("<p>two</p>", "pdf", name="two.html")  # its second page: stopped after it
    assert chromium().pid is None
    convert("<p>three</p>", "pdf", name="three.html")
    assert chromium().pid not in (None, first)


def test_recycled_when_it_holds_too_much_memory(convert: Convert, monkeypatch: pytest.MonkeyPatch) -> None:
    convert("<p>one</p>", "pdf", name="one.html")
    assert chromium().pid is not None
    monkeypatch.setattr(browser, "RECYCLE_SHARE", 0.0)  # any memory at all is too much
    convert("<p>two</p>", "pdf", name="two.html")
    assert chromium().pid is None


def test_a_killed_browser_is_replaced(convert: Convert) -> None:
    convert("<p>one</p>", "pdf", name="one.html")
    killed = chromium().pid
    assert killed is not None
    kill_group(killed)
    assert not left_after({killed}, GONE_WITHIN)  # dead, not dying: the next conversion sees it gone
    [(*_, text)] = pdf_pages(convert("<p>after the kill</p>", "pdf", name="two.html"))
    assert "after the kill" in text
    assert chromium().pid != killed


def test_conversions_share_no_storage(convert: Convert) -> None:
    page = (
        "<p id=out></p><script>"
        "document.getElementById('out').textContent ="
        " 'seen:' + localStorage.getItem('k') + ':' + (document.cookie || 'none');"
        "localStorage.setItem('k', 'leaked'); document.cookie = 'c=leaked; max-age=3600';"
        "</script>"
    )
    for name in ("first.html", "second.html"):
        [(*_, text)] = pdf_pages(convert(page, "pdf", name=name))
        assert "seen:null:none" in text, text


def test_in_a_worker_process(tmp_path: Path) -> None:
    """Under a worker's address-space cap (Chromium cannot start under one) and its time limit: a
    hung page ends by the engine's own timeout, before the worker's, so the worker lives on."""
    app = make_conversio(PLUGIN, executor="process", workers=1, cache=False, limits=Limits(timeout=15))
    try:

        def convert(html: str, name: str) -> Path:
            (tmp_path / name).write_text(html)
            [path] = app.convert(tmp_path / name, to="pdf").save(tmp_path / f"{name}.pdf")
            return path

        assert "first" in pdf_pages(convert("<p>first</p>", "first.html"))[0][2]
        with pytest.raises(ConversioError) as info:
            convert("<script>while (true) {}</script>", "loop.html")
        assert info.value.code == "TIMEOUT"
        assert info.value.message == "loop.html took longer than 15 s to load and was stopped"
        assert "after" in pdf_pages(convert("<p>after</p>", "after.html"))[0][2]
    finally:
        app.close()


#: A worker's stand-in: starts the warm browser on a page that never ends, and waits to be killed.
HUNG = textwrap.dedent(
    """
    from conversio_chromium.browser import chromium
    from conversio_chromium.inputs import Site, Source
    from conversio_chromium.page import loaded_page

    source = Source("hung.html", Site({"index.html": b"<script>while (true) {}</script>"}))

    def work(browser, dog):
        print("loading", flush=True)
        with loaded_page(browser, source, {}, dog):
            pass

    chromium().run(work, timeout=600)
    """
)


@pytest.mark.parametrize("group", [True, False], ids=["process-group", "process"])
def test_a_killed_worker_leaves_no_browser(tmp_path: Path, group: bool) -> None:
    """The pool kills a worker's process group on timeout; a lone SIGKILL must do as well."""
    worker = subprocess.Popen(
        [sys.executable, "-c", HUNG], stdout=subprocess.PIPE, start_new_session=True, cwd=tmp_path
    )
    try:
        assert worker.stdout is not None and worker.stdout.readline() == b"loading\n"
        seen = gather(worker.pid, lambda found: list(found.values()).count("chromium") > 3, DEADLINE)
        time.sleep(0.5)
        seen.update(descendants(worker.pid))
        assert "chromium" in seen.values(), seen
    finally:
        if group:
            os.killpg(worker.pid, signal.SIGKILL)
        else:
            worker.kill()
        worker.wait()
    left = left_after(seen, GONE_WITHIN)
    assert not left, f"left running: {[seen[p] for p in left]}"
    folders = Path(tempfile.gettempdir()).glob(f"{PREFIX}{worker.pid}-*")
    assert list(folders), "the worker's browser profile went elsewhere"
    sweep_stale()  # what the next browser to start does
    assert not list(Path(tempfile.gettempdir()).glob(f"{PREFIX}{worker.pid}-*"))
