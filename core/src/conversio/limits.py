"""Limits that keep hostile or oversized input in check."""

from __future__ import annotations

import ctypes
import os
import resource
import signal
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from conversio.errors import InvalidOption

_MIB = 1024 * 1024
_PR_SET_PDEATHSIG = 1

#: Each family's step timeout in seconds, used when ``Limits.timeout`` is not set. A family is
#: the first part of a converter's id (``office`` in ``office.libreoffice:docx->pdf``).
FAMILY_TIMEOUTS: Mapping[str, float] = {
    "image": 60.0,
    "pdf": 120.0,
    "archive": 120.0,
    "office": 120.0,
    "chromium": 120.0,
    "pandoc": 120.0,
    "pdf2docx": 300.0,
    "ocr": 600.0,
    "media": 1800.0,
}
#: The step timeout of a family not in ``FAMILY_TIMEOUTS``.
DEFAULT_TIMEOUT = 300.0
#: A media step gets this many seconds, plus ``MEDIA_SECONDS_PER_SECOND`` per second of input,
#: up to the media family's timeout.
MEDIA_BASE_SECONDS = 60.0
MEDIA_SECONDS_PER_SECOND = 2.0


@attrs.frozen
class Limits:
    """Bounds every converter honours; each may be set with ``CONVERSIO_<NAME>``.

    ``timeout`` is per step, in seconds: unset, each family has its own
    (:data:`FAMILY_TIMEOUTS`, media scaled to the input's duration); set, it applies to
    every step. Sizes are in bytes. ``max_memory`` caps the address space of a worker
    process while it runs a task; ``max_engine_memory`` that of each process of an external
    engine (LibreOffice, ffmpeg) the worker starts (0: no cap).
    """

    timeout: float | None = None
    max_memory: int = 4096 * _MIB
    max_engine_memory: int = 2048 * _MIB
    max_pixels: int = 100_000_000
    max_frames: int = 10_000
    max_pages: int = 2_000
    max_members: int = 10_000
    max_unpacked_size: int = 2048 * _MIB
    max_compression_ratio: float = 200.0

    def step_timeout(self, family: str, duration: float | None = None) -> float:
        """Seconds a step of ``family`` may run: ``timeout`` if set, else the family's own.

        A media step with a known ``duration`` (seconds of input) gets
        ``MEDIA_BASE_SECONDS + MEDIA_SECONDS_PER_SECOND * duration``, at most the media timeout.
        """
        if self.timeout is not None:
            return self.timeout
        default = FAMILY_TIMEOUTS.get(family, DEFAULT_TIMEOUT)
        if family == "media" and duration is not None:
            return min(default, MEDIA_BASE_SECONDS + MEDIA_SECONDS_PER_SECOND * max(duration, 0.0))
        return default

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Limits:
        """Defaults, then ``CONVERSIO_*`` environment variables, then ``overrides``."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in attrs.fields(cls):
            raw = env.get(f"CONVERSIO_{field.name.upper()}")
            if raw is None:
                continue
            try:
                values[field.name] = float(raw) if "float" in str(field.type) else int(raw)
            except ValueError:
                raise InvalidOption(
                    f"CONVERSIO_{field.name.upper()}={raw!r} is not a number",
                    option=field.name,
                ) from None
        values.update(overrides)
        return cls(**values)


#: The environment an engine under an address-space cap also gets: glibc's malloc reserves 64 MiB
#: of address space for each arena, up to eight arenas a core, which on a many-core host would
#: take an idle engine's address space past its cap.
ENGINE_ENV: Mapping[str, str] = {"MALLOC_ARENA_MAX": "2"}


def engine_preexec(max_engine_memory: int) -> Callable[[], None]:
    """A ``preexec_fn`` for an external engine (LibreOffice, ffmpeg): in the child before exec,
    cap its address space at ``max_engine_memory`` bytes (0: lift the worker's cap to the hard
    limit) and have it killed when its parent dies (``PR_SET_PDEATHSIG``, Linux; elsewhere only
    the cap). It only calls ``setrlimit`` and ``prctl``: no locks, safe in a threaded parent.
    """

    def limit_and_tie() -> None:
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = hard
        if max_engine_memory > 0:
            cap = max_engine_memory if hard == resource.RLIM_INFINITY else min(max_engine_memory, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass

    return limit_and_tie
