"""One warm headless Chromium per worker process.

Each conversio worker process lazily starts Playwright's driver and one Chromium (Debian's, as
the system browser), talking over a pipe (``--remote-debugging-pipe``: no DevTools port), and
keeps them for the next conversions. Playwright's sync API belongs to the thread that started
it, so a thread of this module's own runs every conversion, one at a time, each in a fresh
browser context (its own cookies, cache and storage). A :class:`~conversio_chromium.watchdog.
Watchdog` kills the browser under a conversion past its time or memory; the browser is then
replaced, as it is after ``CONVERSIO_CHROMIUM_MAX_PAGES`` conversions (default 100) or once it
holds more than half its memory cap between conversions.

Nothing outlives the worker: the driver runs in the worker's process group (killed with it),
and Chromium, in a group of its own, exits when its pipe to the driver closes. The driver's
temporary files (the browser profiles) go to a folder named after the worker's pid, removed at
exit or, after a kill, by the next worker that starts a browser.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import re
import resource
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

import attrs

from conversio.errors import ConversionFailed, MissingDependency, Timeout
from conversio.limits import Limits
from conversio_chromium import network
from conversio_chromium.plugin import INSTALL_HINT
from conversio_chromium.watchdog import Watchdog, kill_group, running, tree_memory

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

T = TypeVar("T")
log = logging.getLogger("conversio.chromium")

EXECUTABLE_ENV = "CONVERSIO_CHROMIUM_EXECUTABLE"
MAX_PAGES_ENV = "CONVERSIO_CHROMIUM_MAX_PAGES"
DEFAULT_MAX_PAGES = 100
#: Debian's browser itself, beneath its ``/usr/bin/chromium`` launcher script (which adds flags
#: of its own: extensions, GPU rasterization, Google API keys).
DEBIAN_BINARY = Path("/usr/lib/chromium/chromium")
STARTUP_SECONDS = 60.0
#: Between conversions, a browser holding more than this share of its memory cap is replaced.
RECYCLE_SHARE = 0.5
#: The driver's temporary folders start with this, then the pid of the worker that owns them.
PREFIX = "conversio-chromium-"
_STALE = re.compile(rf"^{PREFIX}(\d+)-")

#: What a headless converter needs and nothing more: no GPU, no shared-memory file system (often
#: tiny in containers), no extensions, sound or scrollbars. The switches that keep the browser
#: from calling home (updates, sync, first-run tasks) are the network guard's.
FLAGS = (
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--mute-audio",
    "--hide-scrollbars",
)

Work = Callable[["Browser", Watchdog], T]


def find_chromium() -> Path:
    """``CONVERSIO_CHROMIUM_EXECUTABLE``, else Debian's Chromium, else ``chromium`` on PATH."""
    configured = os.environ.get(EXECUTABLE_ENV)
    found = configured or (str(DEBIAN_BINARY) if DEBIAN_BINARY.is_file() else None)
    found = found or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found or not Path(found).is_file():
        raise MissingDependency(
            f"Chromium is not installed; {INSTALL_HINT}", module="chromium", install_hint=INSTALL_HINT
        )
    return Path(found)


def max_pages() -> int:
    try:
        return max(1, int(os.environ.get(MAX_PAGES_ENV, DEFAULT_MAX_PAGES)))
    except ValueError:
        return DEFAULT_MAX_PAGES


def launch_flags() -> list[str]:
    # Chromium refuses to start its sandbox as root (containers run as root); each page is still
    # confined by the network guard, and the browser by the watchdog and its worker.
    root = ["--no-sandbox"] if os.geteuid() == 0 else []
    return [*FLAGS, *root, *network.launch_arguments()]


@contextmanager
def _driver_environment(folder: Path) -> Iterator[None]:
    """While Playwright's driver starts: its temporary files in ``folder``, and no address-space
    cap (the worker's cap is inherited by the driver, then by Chromium, which cannot start under
    one). The environment is the process's own: only this module's thread starts drivers."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    before = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(folder)
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        if before is None:
            del os.environ["TMPDIR"]
        else:
            os.environ["TMPDIR"] = before


def sweep_stale() -> None:
    """Remove the temporary folders of workers that were killed (they could not)."""
    for entry in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        match = _STALE.match(entry.name)
        if match and entry.is_dir() and not entry.is_symlink() and not running(int(match.group(1))):
            shutil.rmtree(entry, ignore_errors=True)


@attrs.define
class _Job(Generic[T]):
    work: Work[T]
    timeout: float
    memory_cap: int
    started: float = attrs.Factory(time.monotonic)
    done: threading.Event = attrs.Factory(threading.Event)
    result: T | None = None
    error: BaseException | None = None


class Chromium:
    """A warm browser and the thread that drives it; one per process (:func:`chromium`)."""

    def __init__(self) -> None:
        self.browser: Browser | None = None
        self.pid: int | None = None
        self.pages = 0
        self.starts = 0
        self._playwright: Playwright | None = None
        self._folder: Path | None = None
        self._jobs: queue.SimpleQueue[_Job[object]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()

    def run(self, work: Work[T], *, timeout: float, memory_cap: int = Limits().max_engine_memory) -> T:
        """``work(browser, watchdog)`` on the engine's thread, after the conversions queued before
        it; the browser is killed under it shortly before ``timeout`` seconds from now (the
        browser's start included) or past ``memory_cap`` bytes (0: no cap): ``watchdog.fired``
        tells ``work`` why its call failed."""
        job: _Job[T] = _Job(work, timeout, memory_cap)
        with self._thread_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, name="conversio-chromium", daemon=True)
                self._thread.start()
        self._jobs.put(job)  # type: ignore[arg-type]
        job.done.wait()
        if job.error is not None:
            raise job.error
        return job.result  # type: ignore[return-value]

    def _serve(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                job.result = self._run(job)
            except BaseException as exc:  # handed to the caller's thread, raised there
                job.error = exc
            finally:
                job.done.set()

    def _run(self, job: _Job[T]) -> T:
        browser = self._ensure()
        assert self.pid is not None
        hung = False
        with Watchdog(self.pid, job.timeout, job.memory_cap, job.started) as dog:
            try:
                return job.work(browser, dog)
            except Timeout:
                hung = True  # a renderer that stopped answering stays hung
                raise
            finally:
                self.pages += 1
                if hung or dog.fired or not self._reusable(job.memory_cap):
                    self.stop()

    def alive(self) -> bool:
        """The browser runs: connected (as far as the driver has told yet) and its process there,
        not a zombie (killed a moment ago, the driver may not have noticed)."""
        if self.browser is None or self.pid is None or not self.browser.is_connected():
            return False
        return running(self.pid)

    def _reusable(self, memory_cap: int) -> bool:
        if self.pid is None or not self.alive() or self.pages >= max_pages():
            return False
        return memory_cap <= 0 or tree_memory(self.pid) <= memory_cap * RECYCLE_SHARE

    def _ensure(self) -> Browser:
        if self.browser is not None and self.alive():
            return self.browser
        self.stop()
        executable = find_chromium()
        if self._playwright is None:
            from playwright.sync_api import sync_playwright

            sweep_stale()
            self._folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
            with _driver_environment(self._folder):
                self._playwright = sync_playwright().start()
        from playwright.sync_api import Error

        try:
            self.browser = self._playwright.chromium.launch(
                executable_path=executable,
                args=launch_flags(),
                proxy=network.launch_proxy(),  # type: ignore[arg-type]
                timeout=STARTUP_SECONDS * 1000,
                handle_sigint=False,
                handle_sigterm=False,
                handle_sighup=False,
            )
        except Error as exc:
            log.error("Chromium (%s) failed to start: %s", executable, exc.message)
            raise ConversionFailed("Chromium failed to start; the service's log says why") from None
        session = self.browser.new_browser_cdp_session()
        processes = session.send("SystemInfo.getProcessInfo")["processInfo"]
        session.detach()
        self.pid = next(int(p["id"]) for p in processes if p["type"] == "browser")
        self.pages = 0
        self.starts += 1
        return self.browser

    def stop(self) -> None:
        """Kill the browser, from any thread (the driver sees it go, and stays for the next one)."""
        if self.pid is not None:
            kill_group(self.pid)
        self.browser = None
        self.pid = None

    def close(self) -> None:
        """At exit: kill the browser, remove the driver's folder (the driver ends with this
        process, its pipe closed)."""
        self.stop()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)


_CHROMIUM: Chromium | None = None


def chromium() -> Chromium:
    """This process's warm Chromium (created on first use, stopped at exit)."""
    global _CHROMIUM
    if _CHROMIUM is None:
        _CHROMIUM = Chromium()
        atexit.register(_CHROMIUM.close)
    return _CHROMIUM
