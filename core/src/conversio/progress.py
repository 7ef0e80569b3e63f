"""Progress bars for the CLI, fed by engine events (rich, on stderr, only on a terminal)."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn, TimeRemainingColumn

from conversio.events import Event, EventKind


class ProgressView:
    """One bar per step; a mapped step advances by item, a long item by its fraction."""

    def __init__(self, *, enabled: bool = True, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.enabled = enabled and self.console.is_terminal
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
            disable=not self.enabled,
        )
        self._tasks: dict[int, TaskID] = {}
        self._fractions: dict[int, dict[int, float]] = {}

    def __enter__(self) -> ProgressView:
        self._progress.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._progress.__exit__(kind, exc, tb)

    def handle(self, event: Event) -> None:
        if not self.enabled:
            return
        if event.kind is EventKind.STEP_STARTED:
            self._tasks[event.step] = self._progress.add_task(event.converter, total=max(event.items, 1))
            self._fractions[event.step] = {}
        elif event.kind in (EventKind.PROGRESS, EventKind.STEP_CACHED) and event.step in self._tasks:
            fractions = self._fractions[event.step]
            fractions[event.item] = event.fraction
            self._progress.update(self._tasks[event.step], completed=sum(fractions.values()))
        elif event.kind is EventKind.STEP_FINISHED and event.step in self._tasks:
            task = self._tasks[event.step]
            self._progress.update(task, completed=self._progress.tasks[task].total)
