"""Running Pandoc: the binary the ``pypandoc-binary`` wheel ships, sandboxed, capped and timed.

Every run has ``--sandbox`` (readers and writers read only the files named on the command
line: no ``\\input``, ``.. include::``, ``#+INCLUDE:``, ``include::``, no image fetched from
the disk or the network), an empty data folder (no user templates, filters or defaults), no
filter, Lua filter or template the user could name, a heap cap (``+RTS -M``) below the
engine's address-space cap, the family's timeout, and a private working folder. Pandoc's own
words name server paths, so they go to the log; the user gets coded errors and warnings that
name their file.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from conversio.converters import ConversionRequest
from conversio.errors import (
    ConversioError,
    ConversionFailed,
    CorruptFile,
    FileTooLarge,
    MissingDependency,
    Timeout,
    engine_stopped,
)
from conversio.limits import ENGINE_ENV, engine_preexec
from conversio_pandoc.specs import FAMILY, INSTALL_HINT

_MIB = 1024 * 1024
#: Pandoc's heap never grows past this, whatever the engine's cap (Pandoc's working set for a
#: large book is a few hundred MiB; more is a nesting bomb).
MAX_HEAP = 1024 * _MIB
MIN_HEAP = 64 * _MIB
#: How much of Pandoc's warnings is read: its first and last bytes.
_LOG_HEAD, _LOG_TAIL = 32 * 1024, 8 * 1024
#: Pandoc's exit codes (``Text.Pandoc.Error``) that mean "this input cannot be read".
_UNREADABLE = {63, 64, 65, 92, 93, 94}
#: Pandoc's exit code for a file it was told to read and could not (an asciidoc ``include::``).
_RESOURCE_NOT_FOUND = 99
#: Pandoc's warnings that the sandbox refused a file, and what the user is told instead.
_REFUSED = {
    "Could not load include file": "an included file was left out (only the document itself is read)",
    "Could not fetch resource": "an image or file it refers to outside the document was left out",
}
logger = logging.getLogger(__name__)


def pandoc_binary() -> str:
    """The path of the ``pandoc`` binary of the ``pypandoc-binary`` wheel (found without
    importing ``pypandoc``); ``MISSING_DEPENDENCY`` when it is absent."""
    spec = importlib.util.find_spec("pypandoc")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        binary = Path(folder) / "files" / "pandoc"
        if binary.is_file() and os.access(binary, os.X_OK):
            return str(binary)
    raise MissingDependency(
        f"Pandoc is not installed; {INSTALL_HINT}", module="pandoc", install_hint=INSTALL_HINT
    )


def heap_limit(max_engine_memory: int) -> int:
    """Pandoc's heap cap in bytes: half the engine's address-space cap, within bounds."""
    if max_engine_memory <= 0:
        return MAX_HEAP
    return max(MIN_HEAP, min(MAX_HEAP, max_engine_memory // 2))


def run_pandoc(arguments: Sequence[str], request: ConversionRequest, folder: Path) -> None:
    """Run Pandoc with ``arguments`` in ``folder`` on ``request``'s input; the files the
    sandbox refused become warnings, a failure a coded error naming the user's file."""
    name, limits = request.input.name, request.limits
    timeout = limits.step_timeout(FAMILY)
    data = folder / "pandoc-data"
    data.mkdir(exist_ok=True)
    command = [
        pandoc_binary(),
        "+RTS",
        f"-M{heap_limit(limits.max_engine_memory) // _MIB}m",
        "-RTS",
        "--RTS",  # no argument after this one is read as options of Haskell's runtime
        "--sandbox",
        f"--data-dir={data}",
        *arguments,
    ]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(folder), "LANG": "C.UTF-8", **ENGINE_ENV}
    log = folder / "pandoc.log"
    with log.open("wb") as errors:
        try:
            process = subprocess.run(
                command,
                cwd=folder,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=errors,
                timeout=timeout,
                preexec_fn=engine_preexec(limits.max_engine_memory),
                env=env,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise Timeout(
                f"converting {name} to {request.target} took longer than {timeout:g} s and was stopped",
                timeout=timeout,
            ) from None
    said = _ends_of(log)
    if process.returncode != 0:
        raise failure(name, request.source, request.target, process.returncode, said)
    for message in refusals(said):
        request.warn(f"{name}: {message}")


def _ends_of(log: Path) -> str:
    """The start and the end of what Pandoc printed (a document can make it print without end)."""
    with log.open("rb") as stream:
        head = stream.read(_LOG_HEAD)
        stream.seek(max(stream.tell(), log.stat().st_size - _LOG_TAIL))
        return (head + b"\n" + stream.read()).decode("utf-8", "replace")


def refusals(said: str) -> list[str]:
    """What the user is told of the files Pandoc's sandbox refused, once each."""
    return [told for mark, told in _REFUSED.items() if mark in said]


def failure(name: str, source: str, target: str, returncode: int, said: str) -> ConversioError:
    """The error for a Pandoc that exited with ``returncode`` after printing ``said``."""
    logger.info("Pandoc failed on %s (exit code %d): %s", name, returncode, said.strip()[-500:])
    lowered = said.lower()
    if returncode == 251 or "heap exhausted" in lowered or "out of memory" in lowered:
        return FileTooLarge(f"{name}: converting it needs more memory than the limit allows", limit="memory")
    if "stack overflow" in lowered:
        return FileTooLarge(f"{name}: it is nested too deeply to convert", limit="memory")
    if returncode < 0:
        return engine_stopped(f"converting {name} to {target}", "Pandoc", -returncode, file=name)
    if returncode == _RESOURCE_NOT_FOUND:
        return ConversionFailed(
            f"{name} includes another file, which conversio does not read: "
            "put that file's content into the document",
            file=name,
            final=True,
        )
    if returncode in _UNREADABLE:
        return CorruptFile(f"{name} is damaged or is not a {source} file conversio can read", file=name)
    return ConversionFailed(f"{name} could not be converted to {target} by Pandoc", file=name, final=True)
