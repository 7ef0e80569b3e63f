"""The memory of the browsers conversio's workers run, sampled from the process that owns them."""

from __future__ import annotations

import threading

import attrs
import psutil

MB = 1024 * 1024


def browsers() -> dict[int, int]:
    """The browsers conversio's workers run: each Chromium main process (not its renderers, GPU
    or utility processes) under a worker of this process, by pid, with its worker's pid."""
    found = {}
    for worker in psutil.Process().children():
        try:
            if "conversio.engine.worker" not in worker.cmdline():
                continue
            for process in worker.children(recursive=True):
                if _is_chromium(process) and not _is_chromium(process.parent()):  # not a child forking
                    found[process.pid] = worker.pid
        except psutil.Error:  # gone meanwhile
            continue
    return found


def _is_chromium(process: psutil.Process | None) -> bool:
    """``process`` is Chromium's own: its browser, or one of the processes the browser starts."""
    cmdline = process.cmdline() if process is not None else []
    return bool(cmdline) and cmdline[0].endswith("/chromium")


def tree_memory(pid: int) -> tuple[int, int]:
    """RSS and PSS (shared pages divided among their processes) of a browser's whole tree, bytes."""
    rss = pss = 0
    try:
        root = psutil.Process(pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0, 0
    for process in tree:
        try:
            memory = process.memory_full_info()
        except psutil.Error:
            continue
        rss += memory.rss
        pss += memory.pss
    return rss, pss


@attrs.define
class Span:
    """A size at its first and last sample, and its peak, in bytes."""

    first: int
    peak: int
    last: int

    def add(self, size: int) -> None:
        self.peak, self.last = max(self.peak, size), size

    def cells(self) -> list[str]:
        return [f"{size / MB:.0f}" for size in (self.first, self.peak, self.last)]


@attrs.define
class Browser:
    """What the sampler saw of one browser's tree: its worker, its RSS and PSS."""

    worker: int
    rss: Span
    pss: Span
    samples: int = 1


@attrs.define
class MemorySampler:
    """Samples every browser's tree in a thread; ``stage`` names what runs now (its peak per stage)."""

    interval: float = 0.25
    seen: dict[int, Browser] = attrs.Factory(dict)
    stage_peaks: dict[int, int] = attrs.Factory(dict)
    stage: int = 0
    _stop: threading.Event = attrs.Factory(threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> MemorySampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            total = 0
            for pid, worker in browsers().items():
                rss, pss = tree_memory(pid)
                if not rss:
                    continue
                total += pss
                known = self.seen.get(pid)
                if known is None:
                    self.seen[pid] = Browser(worker, Span(rss, rss, rss), Span(pss, pss, pss))
                    continue
                known.rss.add(rss)
                known.pss.add(pss)
                known.samples += 1
            self.stage_peaks[self.stage] = max(self.stage_peaks.get(self.stage, 0), total)

    def table(self) -> list[str]:
        """A markdown table: each browser's worker, then its RSS and PSS at start, peak and end (MB)."""
        header = [
            "browser pid",
            "worker pid",
            "samples",
            "RSS MB: start",
            "peak",
            "end",
            "PSS MB: start",
            "peak",
            "end",
        ]
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for pid, b in self.seen.items():
            cells = [str(pid), str(b.worker), str(b.samples), *b.rss.cells(), *b.pss.cells()]
            lines.append("| " + " | ".join(cells) + " |")
        return lines

    def stage_line(self) -> str:
        """The peak PSS of all browsers together in each stage, in MB."""
        return ", ".join(f"{self.stage_peaks.get(i, 0) / MB:.0f}" for i in range(self.stage))
