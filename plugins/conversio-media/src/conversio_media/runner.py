"""Run one ffmpeg command: progress from ``-progress``, errors with codes, and no process left behind.

ffmpeg runs as a child of this process, in its process group: when the engine kills
a worker's group on timeout or cancellation, ffmpeg goes with it. Here, whatever
stops the Python side (an exception, an interrupt, this function's own deadline)
stops ffmpeg too: SIGTERM, a short grace, then SIGKILL (ffmpeg may ignore SIGTERM
while it finishes writing). With ``PR_SET_PDEATHSIG`` ffmpeg is also killed if its
parent dies without cleaning up. It runs under an address-space cap of its own
(``Limits.max_engine_memory``): an input that needs more is ``FILE_TOO_LARGE``.
"""

from __future__ import annotations

import collections
import ctypes
import logging
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from typing import IO

from conversio.errors import (
    ConversioError,
    ConversionFailed,
    CorruptFile,
    FileTooLarge,
    InvalidOption,
    Timeout,
    engine_stopped,
)
from conversio.limits import ENGINE_ENV, Limits, engine_preexec
from conversio.stores.space import out_of_space
from conversio_media.sandbox import GLOBAL_ARGS, clean_message

#: Seconds ffmpeg gets to exit after SIGTERM before SIGKILL.
TERMINATE_GRACE = 2.0
#: At most this many progress reports a second.
PROGRESS_INTERVAL = 0.25
#: Outputs shorter than this share of the input's duration mean a damaged input ...
MIN_SHARE = 0.5
#: ... for inputs of at least this many seconds (shorter ones: container durations are rough).
MIN_CHECKED = 0.2
_PR_SET_PDEATHSIG = 1
logger = logging.getLogger(__name__)
_EOF = None

#: ffmpeg messages that say an encoder refused its settings (anything else it fails on is the input).
_OPTION_MARKS = (
    "error while opening encoder",
    "error initializing output stream",
    "incorrect parameters such as",
    "not supported by the",
    "invalid encoder",
    "not divisible by",
)
#: ffmpeg messages about the machine, not the input.
#: What ffmpeg prints when the disk is full: ``INSUFFICIENT_STORAGE``, the input is not at fault.
_FULL_MARKS = ("no space left", "disk quota exceeded")
_SYSTEM_MARKS = ("permission denied", "read-only file system")
#: What ffmpeg prints when an allocation fails (under its cap: the input needs too much memory).
_MEMORY_MARK = "cannot allocate memory"
#: ffmpeg's address-space cap unless the conversion's limits say otherwise.
DEFAULT_MEMORY_CAP = Limits().max_engine_memory
#: What a decoder prints when a frame is over the ``max_pixels`` input option.
_PIXELS_MARK = "exceeds specified max pixel count"


def die_with_parent() -> None:
    """In the child before exec: SIGKILL when the parent dies (Linux; elsewhere nothing)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def command(compiled: Sequence[str]) -> list[str]:
    """ffmpeg-python's command with the global settings and ``-progress pipe:1`` (four times a
    second) after the binary."""
    return [compiled[0], *GLOBAL_ARGS, "-progress", "pipe:1", "-stats_period", "0.25", *compiled[1:]]


def run_ffmpeg(
    cmd: Sequence[str],
    *,
    expected: float | None,
    progress: Callable[[float, str], None],
    timeout: float,
    what: str,
    max_memory: int = DEFAULT_MEMORY_CAP,
) -> float:
    """Run ``cmd`` with its address space capped at ``max_memory`` bytes; report progress as
    the share of ``expected`` seconds written.

    Returns the seconds of media written (ffmpeg's last ``out_time``). A failure raises
    ``CORRUPT_FILE`` (unreadable input), ``INVALID_OPTION`` (an encoder refused the settings)
    or ``CONVERSION_FAILED`` (ffmpeg's last message is logged, not shown); past
    ``timeout`` seconds, ``TIMEOUT``.
    """
    process = subprocess.Popen(
        list(cmd),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=engine_preexec(max_memory),  # noqa: PLW1509 -- only setrlimit and prctl
        env={**os.environ, **ENGINE_ENV},
    )
    assert process.stdout is not None and process.stderr is not None
    lines: queue.Queue[str | None] = queue.Queue()
    errors: collections.deque[str] = collections.deque(maxlen=30)
    over_pixels: list[str] = []  # a decoder's first frame over max_pixels (skipped, maybe with exit 0)

    def on_error(line: str) -> None:
        errors.append(line)
        if not over_pixels and _PIXELS_MARK in line.lower():
            over_pixels.append(line)

    readers = [
        threading.Thread(
            target=_pump, args=(process.stdout, lines.put, lambda: lines.put(_EOF)), daemon=True
        ),
        threading.Thread(target=_pump, args=(process.stderr, on_error, lambda: None), daemon=True),
    ]
    for reader in readers:
        reader.start()
    deadline = time.monotonic() + timeout
    last_report = written = 0.0
    try:
        while True:
            try:
                line = lines.get(timeout=0.2)
            except queue.Empty:
                line = ""
            if line is _EOF:
                break
            if time.monotonic() > deadline:
                raise Timeout(f"{what} took longer than {timeout:g} s and was stopped", timeout=timeout)
            key, _, value = line.partition("=")
            if key == "out_time_us" and value.strip().lstrip("-").isdigit():
                written = max(int(value), 0) / 1e6
                now = time.monotonic()
                if expected and now - last_report >= PROGRESS_INTERVAL:
                    last_report = now
                    progress(min(written / expected, 0.99), f"{written:.1f} of {expected:.1f} s")
        try:
            returncode = process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            raise Timeout(f"{what} took longer than {timeout:g} s and was stopped", timeout=timeout) from None
        for reader in readers:
            reader.join(timeout=1.0)
    finally:
        stop(process)
    if returncode != 0 or over_pixels:
        raise failure(returncode, [*over_pixels, *errors], what)
    return written


def check_complete(written: float, expected: float | None, what: str) -> None:
    """ffmpeg can exit happily after decoding little of a damaged file: less than half of the
    ``expected`` seconds written is ``CORRUPT_FILE``."""
    if expected is not None and expected >= MIN_CHECKED and written < expected * MIN_SHARE:
        raise CorruptFile(
            f"{what}: only {written:.2f} s of {expected:.2f} s could be decoded; the input is damaged",
            decoded=round(written, 3),
            expected=round(expected, 3),
        )


def _pump(stream: IO[bytes], sink: Callable[[str], None], at_end: Callable[[], None]) -> None:
    """Pass each non-empty line of ``stream`` to ``sink``, then call ``at_end``."""
    try:
        for raw in stream:
            text = raw.decode("utf-8", "replace").strip()
            if text:
                sink(text)
    finally:
        stream.close()
        at_end()


def stop(process: subprocess.Popen[bytes]) -> None:
    """Make sure ``process`` has exited: SIGTERM, ``TERMINATE_GRACE`` seconds, SIGKILL."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=TERMINATE_GRACE)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def failure(returncode: int, errors: list[str], what: str) -> ConversioError:
    """The error for an ffmpeg that exited with ``returncode`` after printing ``errors``.

    Killed by a signal: ``CONVERSION_FAILED`` with ``crashed=True`` (the engine retries it);
    a full disk: ``INSUFFICIENT_STORAGE``; failing for another reason of the machine's:
    ``CONVERSION_FAILED``; an allocation failing under its memory cap, or a frame over the
    pixel limit (ffmpeg skips it and may exit 0): ``FILE_TOO_LARGE``; an encoder refusing its
    settings: ``INVALID_OPTION``; anything else: the input could not be read, ``CORRUPT_FILE``.
    ffmpeg's own words (which name its internals and the server's paths) go to the log only.
    """
    last = clean_message(errors[-1]) if errors else f"ffmpeg exit code {returncode}"
    logger.info("ffmpeg failed on %s (exit code %d): %s", what, returncode, last)
    text = " ".join(errors).lower()
    if returncode < 0:
        return engine_stopped(what, "ffmpeg", -returncode)
    if any(mark in text for mark in _FULL_MARKS):
        return out_of_space(f"the result of converting {what}")
    if any(mark in text for mark in _SYSTEM_MARKS):
        return ConversionFailed(
            f"{what}: the server could not write the result (out of disk space or memory, or not "
            "allowed to write); try again later"
        )
    if _MEMORY_MARK in text:
        return FileTooLarge(f"{what}: converting it needs more memory than the limit allows", limit="memory")
    if _PIXELS_MARK in text:
        return FileTooLarge(f"{what}: a frame has more pixels than the limit allows", limit="max_pixels")
    if any(mark in text for mark in _OPTION_MARKS):
        return InvalidOption(
            f"{what}: the encoder refused these settings; try another codec, bitrate, size, frame rate "
            "or sample rate"
        )
    return CorruptFile(f"{what}: the input cannot be decoded; it is damaged or cut short")
