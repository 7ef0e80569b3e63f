"""One warm LibreOffice per worker process.

Each conversio worker process lazily starts one headless ``soffice.bin`` with a
throw-away profile, listening on a named pipe (no network socket), and keeps it
for the next conversions, with one long-lived UNO bridge process beside it
(``bridge.py``, run by the Python that has pyuno) that keeps its connection open:
jobs go to the bridge as JSON lines on its stdin, one JSON line answers each on its
stdout. Both are replaced together after ``CONVERSIO_OFFICE_MAX_CONVERSIONS``
conversions (default 50), whenever it died, and after any failure that may have
left it in a bad state. Each runs in its own process group, under an address-space cap
of its own (``Limits.max_engine_memory``, instead of the worker's), and is killed with
its parent (``PR_SET_PDEATHSIG``), so a worker killed on timeout leaves no LibreOffice
behind. A job during which soffice came close to its cap and then failed is refused
as too large, and the pair is replaced. The pool size is therefore the worker count.
One module, a little over 450 lines: the pair's whole life (start, health, jobs, stop,
what a killed one leaves) reads best in one place.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from conversio.errors import Cancelled, ConversionFailed, MissingDependency, Timeout
from conversio.limits import ENGINE_ENV, Limits, engine_preexec
from conversio_office.catalogue import INSTALL_HINT
from conversio_office.memory import MemoryWatch

#: soffice.bin exits with this code after creating a fresh profile: start it again.
RESTART_EXIT_CODE = 81
STARTUP_SECONDS = 60.0
#: A warm soffice that does not answer a ping within this is replaced.
PING_SECONDS = 10.0
#: How long a failed job waits to see whether soffice is exiting (crashed) rather than alive.
CRASH_SECONDS = 0.5
BRIDGE = Path(__file__).with_name("bridge.py")
#: The longest answer line read from the bridge; a longer one is a broken bridge, not an answer.
MAX_ANSWER_BYTES = 64 * 1024
#: How much of the bridge's stderr log is quoted when it fails.
STDERR_TAIL_BYTES = 4096
#: Profile folders and pipe names start with this, then the pid of the process that owns them.
PREFIX = "conversio-office-"
_STALE = re.compile(rf"^{PREFIX}(\d+)-")
#: The address-space cap of soffice and its bridge unless the conversion's limits say otherwise.
DEFAULT_MEMORY_CAP = Limits().max_engine_memory

#: Written into each fresh profile: macros off, no recalculation (WEBSERVICE) on
#: load, links blocked, and every protocol through a proxy that does not exist.
PROFILE_SETTINGS = {
    ("org.openoffice.Office.Common/Security/Scripting", "MacroSecurityLevel"): "3",
    ("org.openoffice.Office.Common/Security/Scripting", "DisableMacrosExecution"): "true",
    ("org.openoffice.Office.Common/Security/Scripting", "BlockUntrustedRefererLinks"): "true",
    ("org.openoffice.Office.Calc/Formula/Load", "OOXMLRecalcMode"): "1",
    ("org.openoffice.Office.Calc/Formula/Load", "ODFRecalcMode"): "1",
    ("org.openoffice.Inet/Settings", "ooInetProxyType"): "2",
    ("org.openoffice.Inet/Settings", "ooInetNoProxy"): "",
    ("org.openoffice.Inet/Settings", "ooInetHTTPProxyName"): "127.0.0.1",
    ("org.openoffice.Inet/Settings", "ooInetHTTPProxyPort"): "9",
    ("org.openoffice.Inet/Settings", "ooInetHTTPSProxyName"): "127.0.0.1",
    ("org.openoffice.Inet/Settings", "ooInetHTTPSProxyPort"): "9",
    ("org.openoffice.Inet/Settings", "ooInetFTPProxyName"): "127.0.0.1",
    ("org.openoffice.Inet/Settings", "ooInetFTPProxyPort"): "9",
    ("org.openoffice.Office.Common/Misc", "UseOpenCL"): "false",
}


def max_conversions() -> int:
    raw = os.environ.get("CONVERSIO_OFFICE_MAX_CONVERSIONS", "50")
    try:
        return max(1, int(raw))
    except ValueError:
        return 50


def find_soffice() -> Path:
    """``CONVERSIO_OFFICE_SOFFICE``, else the ``soffice.bin`` beside ``soffice`` on PATH."""
    configured = os.environ.get("CONVERSIO_OFFICE_SOFFICE")
    found = configured or shutil.which("soffice") or shutil.which("libreoffice")
    if not found or not Path(found).exists():
        raise MissingDependency(
            f"LibreOffice (soffice) is not installed; {INSTALL_HINT}",
            module="soffice",
            install_hint=INSTALL_HINT,
        )
    path = Path(found).resolve()
    binary = path.with_name("soffice.bin")
    return binary if binary.is_file() else path


def find_python() -> str:
    """The Python that has pyuno: ``CONVERSIO_OFFICE_PYTHON``, else Debian's ``/usr/bin/python3``."""
    python = os.environ.get("CONVERSIO_OFFICE_PYTHON", "/usr/bin/python3")
    try:
        probe = subprocess.run(
            [python, "-I", "-c", "import uno"], capture_output=True, timeout=30, check=False, env=_base_env()
        )
    except OSError:
        probe = None
    if probe is None or probe.returncode != 0:
        raise MissingDependency(
            f"{python} cannot import uno; {INSTALL_HINT}", module="uno", install_hint=INSTALL_HINT
        )
    return python


def _base_env() -> dict[str, str]:
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": os.environ.get("LANG", "C.UTF-8"), **ENGINE_ENV}


def write_profile(profile: Path) -> None:
    user = profile / "user"
    user.mkdir(parents=True)
    items = "".join(
        f'<item oor:path="/{path}"><prop oor:name="{name}" oor:op="fuse">'
        f"<value>{value}</value></prop></item>\n"
        for (path, name), value in PROFILE_SETTINGS.items()
    )
    (user / "registrymodifications.xcu").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<oor:items xmlns:oor="http://openoffice.org/2001/registry" '
        'xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n' + items + "</oor:items>\n",
        encoding="utf-8",
    )


def sweep_stale() -> None:
    """Remove what killed soffices leave behind: profiles of dead processes, pipes nobody listens on.

    A worker killed on timeout cannot clean up; neither can its soffice, which leaves its
    pipes in ``/tmp`` (ours and LibreOffice's ``SingleOfficeIPC_*``). A pipe file that no
    socket in ``/proc/net/unix`` is bound to any more is stale.
    """
    tmp = Path(tempfile.gettempdir())
    for entry in tmp.glob(f"{PREFIX}*"):
        match = _STALE.match(entry.name)
        if match and entry.is_dir() and not entry.is_symlink() and not _pid_alive(int(match.group(1))):
            shutil.rmtree(entry, ignore_errors=True)
    try:
        bound = {line.rsplit(None, 1)[-1] for line in Path("/proc/net/unix").read_text().splitlines()[1:]}
    except OSError:
        return
    for pipe in Path("/tmp").glob(f"OSL_PIPE_{os.getuid()}_*"):
        if str(pipe) not in bound and pipe.is_socket():
            pipe.unlink(missing_ok=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class BridgeUnreachable(ConversionFailed):
    """A freshly started soffice and bridge whose first ping failed."""


class Office:
    """A warm ``soffice`` and the long-lived bridge that drives it; one pair per process."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        self.bridge: subprocess.Popen[bytes] | None = None
        self.profile: Path | None = None
        self.pipe = ""
        self.conversions = 0
        self.starts = 0
        self.memory_cap = DEFAULT_MEMORY_CAP
        self._python: str | None = None
        self._lock = threading.Lock()  # one conversion at a time per soffice (inline executor, threads)
        self._closed = False

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def bridge_pid(self) -> int | None:
        return self.bridge.pid if self.bridge is not None else None

    def listening(self) -> bool:
        """soffice runs and its pipe is there."""
        return (
            self.process is not None
            and self.process.poll() is None
            and Path(f"/tmp/OSL_PIPE_{os.getuid()}_{self.pipe}").exists()
        )

    def alive(self) -> bool:
        """soffice listens and its bridge runs."""
        return self.listening() and self.bridge is not None and self.bridge.poll() is None

    def ensure(self, memory_cap: int = DEFAULT_MEMORY_CAP) -> None:
        """Start soffice and its bridge unless a healthy pair with conversions left is running
        under the address-space cap ``memory_cap`` (bytes; 0: none of its own).

        Healthy: both processes run, soffice's pipe is there, and a ping through the bridge makes
        a round trip to soffice (a soffice killed a moment ago may not have been reaped yet).
        """
        if (
            self.alive()
            and self.memory_cap == memory_cap
            and self.conversions < max_conversions()
            and self._answers_ping()
        ):
            return
        self.stop()
        self.memory_cap = memory_cap
        try:
            self.start()
        except BridgeUnreachable:  # a fresh pair that cannot talk: one more fresh pair, then give up
            self.start()

    def start(self) -> None:
        soffice = find_soffice()
        if self._python is None:
            self._python = find_python()
        sweep_stale()
        self.profile = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
        if self._closed:  # closed meanwhile (the process is exiting): leave no profile behind
            self.stop()
            raise Cancelled("LibreOffice is shutting down with its worker")
        write_profile(self.profile)
        self.pipe = f"{PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}"
        env = {**_base_env(), "HOME": str(self.profile)}
        command = [
            str(soffice),
            "--headless",
            "--invisible",
            "--nologo",
            "--norestore",
            "--nolockcheck",
            "--nodefault",
            "--nofirststartwizard",
            f"-env:UserInstallation={self.profile.as_uri()}",
            f"--accept=pipe,name={self.pipe};urp;StarOffice.ComponentContext",
        ]
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
                cwd=self.profile,
                start_new_session=True,
                preexec_fn=engine_preexec(self.memory_cap),  # noqa: PLW1509 -- only setrlimit and prctl
            )
            code = self._wait_until_listening(deadline)
            if code is None:
                break
            if code != RESTART_EXIT_CODE or time.monotonic() > deadline:
                self.stop()
                raise ConversionFailed(f"LibreOffice failed to start (exit code {code})", exit_code=code)
        self._start_bridge(env)
        try:
            answer = self._call({"action": "ping"}, max(1.0, deadline - time.monotonic()))
        except Timeout:
            answer = {"error": "TIMEOUT", "message": "no answer before the start-up deadline"}
        if "ok" not in answer:
            self.stop()
            raise BridgeUnreachable(f"the UNO bridge cannot reach LibreOffice: {answer.get('message', '')}")
        self.conversions = 0
        self.starts += 1

    def _answers_ping(self) -> bool:
        try:
            return "ok" in self._call({"action": "ping"}, PING_SECONDS)
        except Timeout:
            return False

    def _start_bridge(self, env: dict[str, str]) -> None:
        """The bridge: its own process group, dies with us; stderr to a log in the profile."""
        assert self._python is not None and self.profile is not None
        with (self.profile / "bridge.log").open("wb") as log:
            self.bridge = subprocess.Popen(
                [self._python, "-I", str(BRIDGE)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=env,
                cwd=self.profile,
                bufsize=0,
                start_new_session=True,
                preexec_fn=engine_preexec(self.memory_cap),  # noqa: PLW1509 -- only setrlimit and prctl
            )

    def _wait_until_listening(self, deadline: float) -> int | None:
        """None once the pipe is there; the exit code if soffice exited first."""
        while not self.listening():
            process = self.process
            if process is None:  # stopped meanwhile by close(): the worker is exiting
                raise Cancelled("LibreOffice is shutting down with its worker")
            code = process.poll()
            if code is not None:
                return code
            if time.monotonic() > deadline:
                self.stop()
                raise ConversionFailed("LibreOffice did not start in time")
            time.sleep(0.05)
        return None

    def stop(self) -> None:
        """Kill the process groups of the bridge and soffice, and remove the profile."""
        for process in (self.bridge, self.process):
            if process is None:
                continue
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    stream.close()
        self.bridge = None
        self.process = None
        if self.profile is not None:
            shutil.rmtree(self.profile, ignore_errors=True)
            self.profile = None
        if self.pipe:
            Path(f"/tmp/OSL_PIPE_{os.getuid()}_{self.pipe}").unlink(missing_ok=True)

    def close(self) -> None:
        """Stop for good (at exit, perhaps from another thread while a job runs): a job that sees
        its soffice gone starts no other one, so no profile outlives the process."""
        self._closed = True
        self.stop()

    def run(
        self, job: dict[str, Any], timeout: float, memory_cap: int = DEFAULT_MEMORY_CAP
    ) -> dict[str, Any]:
        """Run one bridge job; soffice is (re)started as needed and replaced after a failure.

        A job that fails after soffice came close to ``memory_cap`` answers ``TOO_LARGE``."""
        with self._lock:
            return self._run(job, timeout, memory_cap)

    def _run(self, job: dict[str, Any], timeout: float, memory_cap: int) -> dict[str, Any]:
        for attempt in (1, 2):
            self.ensure(memory_cap)
            with MemoryWatch(self.pid) as watch:
                answer = self._call(job, timeout)
            if answer.get("error") == "NO_CONNECTION" and attempt == 1:
                self.stop()
                continue
            self.conversions += 1
            if "error" in answer and watch.near(memory_cap):
                answer = {"error": "TOO_LARGE", "peak": watch.peak}
            elif "error" in answer and self._died(answer):
                answer = {"error": "CRASHED", "exit_code": self.process.returncode if self.process else None}
            if not self.alive() or answer.get("error") in ("FAILED", "CRASHED", "TOO_LARGE"):
                self.stop()
            return answer
        raise AssertionError("unreachable")

    def _died(self, answer: dict[str, Any]) -> bool:
        """soffice exited during the job (it never exits on its own: a crash, an abort, a kill).

        When the bridge says its connection was disposed, soffice may not have exited yet:
        wait up to CRASH_SECONDS for it then (only then: a wrong password stays fast)."""
        if self.process is None or self.process.poll() is not None:
            return True
        if "disposed" not in str(answer.get("message", "")).lower():
            return False
        try:
            self.process.wait(timeout=CRASH_SECONDS)
        except subprocess.TimeoutExpired:
            return False
        return True

    def _call(self, job: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send one job line to the bridge and read its answer line, within ``timeout``."""
        assert self.bridge is not None and self.bridge.stdin is not None
        payload = json.dumps({**job, "pipe": self.pipe}).encode() + b"\n"
        deadline = time.monotonic() + timeout
        try:
            self.bridge.stdin.write(payload)
            line = self._read_answer(deadline)
        except (BrokenPipeError, EOFError, ValueError) as exc:
            return {"error": "FAILED", "message": f"the UNO bridge failed: {exc} {self._stderr_tail()}"}
        except TimeoutError:
            self.stop()
            raise Timeout(
                f"LibreOffice took longer than {timeout:g} s and was stopped", timeout=timeout
            ) from None
        try:
            answer = json.loads(line)
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or ("ok" not in answer and "error" not in answer):
            return {"error": "FAILED", "message": f"the UNO bridge answered nonsense {self._stderr_tail()}"}
        return answer

    def _read_answer(self, deadline: float) -> bytes:
        """One line from the bridge's stdout: at most MAX_ANSWER_BYTES, by ``deadline``.

        TimeoutError when the deadline passes, EOFError when the bridge closed its stdout
        (it died), ValueError when the line is too long or more than one line came.
        """
        assert self.bridge is not None and self.bridge.stdout is not None
        fd = self.bridge.stdout.fileno()
        buffer = b""
        while not buffer.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, MAX_ANSWER_BYTES + 1 - len(buffer))
            if not chunk:
                raise EOFError("it exited")
            buffer += chunk
            if len(buffer) > MAX_ANSWER_BYTES:
                raise ValueError(f"its answer is longer than {MAX_ANSWER_BYTES} bytes")
        if buffer.count(b"\n") != 1:
            raise ValueError("it answered more than one line")
        return buffer

    def _stderr_tail(self) -> str:
        """The last line the bridge wrote to its stderr log, if any (read from a bounded tail)."""
        if self.profile is None:
            return ""
        try:
            with (self.profile / "bridge.log").open("rb") as log:
                log.seek(0, os.SEEK_END)
                log.seek(max(0, log.tell() - STDERR_TAIL_BYTES))
                tail = log.read().decode(errors="replace").strip().splitlines()[-1:]
        except OSError:
            return ""
        return f"({' '.join(tail)})" if tail else ""


_OFFICE: Office | None = None


def office() -> Office:
    """This process's warm LibreOffice (created on first use, stopped at exit)."""
    global _OFFICE
    if _OFFICE is None:
        _OFFICE = Office()
        atexit.register(_OFFICE.close)
    return _OFFICE
