"""Running OCRmyPDF safely: a subprocess in its own process group, under limits.

OCRmyPDF starts worker processes and Tesseract (and unpaper) under them, so it runs in a new
session (through :mod:`conversio_ocr.launch`): on a timeout the whole group is killed, and
the whole group dies with the worker that started it. ``engine_preexec`` caps its address
space, a cap every process it starts inherits. Its temporary files go to the private folder
of the call (``TMPDIR``); its log goes to a file there and is read only to tell what went
wrong (:mod:`conversio_ocr.failures`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import attrs

from conversio.converters import ConversionRequest
from conversio.errors import Timeout
from conversio.limits import ENGINE_ENV, engine_preexec
from conversio_ocr.failures import failure
from conversio_ocr.languages import checked_languages
from conversio_ocr.launch import PARENT_VARIABLE

#: The family of every OCR converter (its timeout: ``FAMILY_TIMEOUTS``, else the default).
FAMILY = "ocr"


@attrs.frozen
class Job:
    """One OCRmyPDF call: what it does (``action``, in the user's words: "OCR of"), the input
    it reads, the file it writes (``output``, or ``sidecar`` text only) and its own flags."""

    action: str
    source: Path
    output: Path | None
    flags: tuple[str, ...] = ()
    sidecar: Path | None = None


def cores() -> int:
    """How many cores this process may use (its CPU affinity), at least one."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not Linux
        return max(os.cpu_count() or 1, 1)


def command(job: Job, request: ConversionRequest, timeout: float) -> list[str]:
    """OCRmyPDF's command line for ``job``: languages checked, page-preparing options, limits."""
    options = request.options
    args = [
        sys.executable,
        "-m",
        "conversio_ocr.launch",
        "--jobs",
        str(cores()),
        "--language",
        checked_languages(options["language"], request.input.name),
        "--tesseract-timeout",  # never a page left without text: the step's timeout comes first
        f"{timeout + 60:g}",
        "--max-image-mpixels",  # Pillow refuses twice this: the limit itself
        f"{max(request.limits.max_pixels / 2, 1) / 1_000_000:g}",
        "--output-type",
        "pdf" if job.output is not None else "none",
    ]
    args += [
        flag
        for name, flag in (("rotate", "--rotate-pages"), ("deskew", "--deskew"), ("clean", "--clean"))
        if options.get(name)
    ]
    if job.sidecar is not None:
        args += ["--sidecar", str(job.sidecar)]
    return [*args, *job.flags, "--", str(job.source.absolute()), str(job.output or "-")]


def run(job: Job, request: ConversionRequest, folder: Path) -> None:
    """Run ``job`` in ``folder`` under the engine's memory cap and the ocr family's timeout."""
    timeout = request.limits.step_timeout(FAMILY)
    cmd = command(job, request, timeout)
    log = folder / "ocrmypdf.log"
    env = {
        **os.environ,
        **ENGINE_ENV,
        "TMPDIR": str(folder),
        "PYTHONWARNINGS": "ignore",
        PARENT_VARIABLE: str(os.getpid()),
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=output,
            cwd=folder,
            env=env,
            start_new_session=True,
            preexec_fn=engine_preexec(request.limits.max_engine_memory),  # noqa: PLW1509 -- setrlimit, prctl
        )
        try:
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Timeout(
                f"{job.action} {request.input.name} took longer than {timeout:g} s and was stopped; "
                "OCR fewer pages at a time (split the file) or raise the time limit",
                timeout=timeout,
                file=request.input.name,
            ) from None
        finally:
            _kill_group(process)
    if returncode != 0:
        text = log.read_bytes()[-8192:].decode("utf-8", "replace")
        raise failure(job.action, request.input.name, returncode, text, request.options)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL what is left of OCRmyPDF's process group (its workers, Tesseract), then reap it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()
