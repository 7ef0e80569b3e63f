"""The browser tests' fixtures: real `conversio serve` processes on 127.0.0.1 (one with an API key, one
in `--dev` mode), Debian's Chromium driven by pytest-playwright, the sample files and a screenshot of
each failed test's page under ``tests/web/artifacts``.

Every test module is skipped, saying why, when Playwright, axe or Chromium is missing.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import web_samples
from web_support import Server, chromium_executable, save_screenshot

#: Importable modules the tests need, and what to install for each.
NEEDED = {
    "playwright": "Playwright",
    "pytest_playwright": "pytest-playwright",
    "axe_playwright_python": "axe-playwright-python",
}


def _missing() -> str | None:
    """Why the browser tests cannot run here, or ``None``."""
    for module, distribution in NEEDED.items():
        if importlib.util.find_spec(module) is None:
            return f"{distribution} is not installed (`tox -e web` installs it)"
    if chromium_executable() is None:
        return "no Chromium: install Debian's chromium, or name one in CONVERSIO_CHROMIUM_EXECUTABLE"
    return None


MISSING = _missing()


class _SkippedModule(pytest.Module):
    """A test module not even imported (its imports need what is missing): skipped, saying why."""

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        pytest.skip(str(MISSING))


if MISSING is not None:

    def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> pytest.Module:
        return _SkippedModule.from_parent(parent, path=module_path)


#: Seconds a server may take to answer /healthz after it starts.
START_TIMEOUT = 60.0
#: Seconds a stopped server may take to exit before its process group is killed.
STOP_TIMEOUT = 20.0
#: Each browser test's time limit (pytest-timeout), seconds.
TEST_TIMEOUT = 120


def _conversio() -> str:
    """The `conversio` command of the Python running the tests."""
    return str(Path(sys.executable).with_name("conversio"))


def _child_environment() -> dict[str, str]:
    """This environment without the server settings of the machine (the tests choose them)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CONVERSIO_SERVER_")}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _create_key(data_dir: Path) -> str:
    """A key for the server of ``data_dir``, made as an administrator would: `conversio keys create`."""
    command = [_conversio(), "keys", "create", "--name", "browser-tests", "--tier", "enterprise"]
    made = subprocess.run(
        [*command, "--data-dir", str(data_dir), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env=_child_environment(),
        check=True,
    )
    return str(json.loads(made.stdout)["key"])


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"conversio serve exited with {process.returncode}:\n{log.read_text()[-3000:]}"
            )
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"conversio serve did not answer /healthz in {START_TIMEOUT:.0f} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group (its workers and engines too), SIGKILL if it lingers."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pass
    except ProcessLookupError:
        return
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=STOP_TIMEOUT)


@pytest.fixture(scope="session")
def _serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Server]]:
    """Start servers on demand; stop every one at the end of the session."""
    processes: list[subprocess.Popen[bytes]] = []

    def serve(*, dev: bool) -> Server:
        data_dir = tmp_path_factory.mktemp("dev-server" if dev else "server")
        key = None if dev else _create_key(data_dir)
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        log = data_dir / "serve.log"
        command = [_conversio(), "serve", "--host", "127.0.0.1", "--port", str(port)]
        command += ["--data-dir", str(data_dir), "--workers", "2", "--job-workers", "1"]
        command += ["--log-level", "warning"] + (["--dev"] if dev else [])
        with log.open("wb") as out:
            process = subprocess.Popen(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=_child_environment(),
                start_new_session=True,
            )
        processes.append(process)
        _wait_until_healthy(url, process, log)
        return Server(url, key, data_dir)

    yield serve
    for process in processes:
        _stop(process)


@pytest.fixture(scope="session")
def server(_serve: Callable[..., Server]) -> Server:
    """The shared server: API keys required; ``server.key`` is one (enterprise tier: no rate limit)."""
    return _serve(dev=False)


@pytest.fixture(scope="session")
def dev_server(_serve: Callable[..., Server]) -> Server:
    """A `conversio serve --dev` server: no key needed."""
    return _serve(dev=True)


@pytest.fixture
def signed_in(page: Any, server: Server) -> Any:
    """The test's page, signed in with the server's key, on the convert page."""
    from web_pages import sign_in

    assert server.key
    sign_in(page, server.url, server.key)
    return page


@pytest.fixture(scope="session")
def samples(tmp_path_factory: pytest.TempPathFactory) -> web_samples.Samples:
    """The input files, made once per session (the long video only when a test asks for it)."""
    return web_samples.Samples(tmp_path_factory.mktemp("samples"))


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Debian's Chromium (Playwright's own download is not used); no sandbox when run as root."""
    args = list(browser_type_launch_args.get("args", []))
    if os.geteuid() == 0:
        args.append("--no-sandbox")
    return {**browser_type_launch_args, "executable_path": chromium_executable(), "args": args}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": {"width": 1280, "height": 900}}


@pytest.fixture(autouse=True)
def _bounded_waits(request: pytest.FixtureRequest) -> None:
    """Every Playwright wait of a test that uses a page is bounded."""
    if "page" in request.fixturenames:
        from playwright.sync_api import expect

        page = request.getfixturevalue("page")
        page.set_default_timeout(15_000)
        expect.set_options(timeout=15_000)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A time limit for each browser test (the tests' own waits are shorter)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.timeout(TEST_TIMEOUT))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Save the page of a failed test as ``artifacts/<test>-failed.png``."""
    report = yield
    if not (report.failed and report.when == "call"):
        return report
    pages = [value for value in getattr(item, "funcargs", {}).values() if type(value).__name__ == "Page"]
    for page in pages[:1]:
        try:
            save_screenshot(page, f"{item.name}-failed", full_page=True)
        except Exception as exc:  # the report matters more than the picture
            print(f"no screenshot of {item.name}: {exc}", file=sys.stderr)
    return report


def pytest_configure(config: pytest.Config) -> None:
    # pytest-base-url (a pytest-playwright dependency) defines a fixture pytest 9 deprecates.
    config.addinivalue_line(
        "filterwarnings", "ignore:Session-scoped fixtures defined as instance methods:DeprecationWarning"
    )
