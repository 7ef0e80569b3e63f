"""Running a durable job while holding its lease: follow the engine's progress, renew the lease, write
the progress down, notice a cancel request or a lost lease, and record how the job ended.

Used by the job workers (:mod:`conversio_server.worker`) and by the server for a synchronous conversion
that outlived the sync limit and became a job.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

import attrs

from conversio.errors import Cancelled, ConversioError
from conversio.events import Event, EventKind
from conversio.stores.space import is_full, out_of_space
from conversio_server.deliveries import CANCELLED as CANCELLED_ERROR
from conversio_server.deliveries import Deliveries
from conversio_server.errors import ApiError
from conversio_server.jobstore import CANCELLED, COMPLETED, FAILED, JobStore
from conversio_server.settings import ServerSettings
from conversio_server.webhooks import OutputInfo

if TYPE_CHECKING:
    from conversio.api import Result

log = logging.getLogger("conversio_server.leases")


class JobProgress:
    """Follows the engine's events: the steps (converter, status, artifacts), percent done and ETA."""

    def __init__(self) -> None:
        self.steps: list[dict[str, Any]] = []
        self.planned = 1
        self.done = 0
        self.items: dict[int, float] = {}
        self.fraction = 0.0
        self.eta: float | None = None
        self.step = ""
        self.lock = threading.Lock()
        self.changed = False

    def observe(self, event: Event) -> None:
        with self.lock:
            self.changed = True
            if event.kind is EventKind.STEP_STARTED:
                self.step, self.items = event.message, {}
                self._set(event, "running")
            elif event.kind is EventKind.STEP_CACHED:
                self._set(event, "cached", event.artifacts)
                self.done += 1
            elif event.kind is EventKind.STEP_FINISHED:
                if any(s["index"] == event.step and s["status"] == "cached" for s in self.steps):
                    return  # the engine reports a reused step as cached, then finished
                self._set(event, "completed", event.artifacts)
                self.done, self.items = self.done + 1, {}
            elif event.kind is EventKind.STEP_FAILED:
                self._set(event, "failed")
            elif event.kind is EventKind.PROGRESS:
                self.items[event.item] = max(self.items.get(event.item, 0.0), min(1.0, event.fraction))
                current = sum(self.items.values()) / max(event.items, 1)
                self.fraction = max(self.fraction, min(0.99, (self.done + current) / self.planned))
                self.eta = event.eta
            if event.kind in (EventKind.STEP_FINISHED, EventKind.STEP_CACHED):
                self.fraction = max(self.fraction, min(0.99, self.done / self.planned))

    def snapshot(self) -> list[dict[str, Any]]:
        """A copy of the steps so far."""
        with self.lock:
            return [dict(s) for s in self.steps]

    def _set(self, event: Event, status: str, artifacts: tuple[str, ...] = ()) -> None:
        for step in reversed(self.steps):
            if step["index"] == event.step and step["status"] == "running":
                step.update(status=status, converter=event.converter or step["converter"])
                step["artifacts"] = list(artifacts)
                return
        self.steps.append(
            {
                "index": event.step,
                "converter": event.converter,
                "status": status,
                "artifacts": list(artifacts),
            }
        )


class LeaseKeeper:
    """While entered: renews ``owner``'s lease on ``job_id`` every ``job_heartbeat`` seconds and writes
    ``progress`` down at most every ``job_progress_interval`` seconds, from two daemon threads.

    A cancel request sets ``cancel``; a lost lease (another owner took the job) sets ``lost`` and
    ``cancel``, and the outcome must then be dropped.
    """

    def __init__(
        self,
        store: JobStore,
        settings: ServerSettings,
        job_id: str,
        owner: str,
        progress: JobProgress,
        cancel: threading.Event,
    ) -> None:
        self.store, self.settings, self.job_id, self.owner = store, settings, job_id, owner
        self.progress, self.cancel = progress, cancel
        self.lost = threading.Event()
        self._done = threading.Event()
        self._threads = [
            threading.Thread(target=self._beat, name=f"{owner}-heartbeat", daemon=True),
            threading.Thread(target=self._write_progress, name=f"{owner}-progress", daemon=True),
        ]

    def __enter__(self) -> LeaseKeeper:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._done.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def _beat(self) -> None:
        while not self._done.wait(self.settings.job_heartbeat):
            try:
                state = self.store.heartbeat(self.job_id, self.owner, self.settings.job_lease)
            except Exception:
                log.exception("heartbeat of job %s failed", self.job_id)
                continue
            if state is None:
                self.lost.set()
                self.cancel.set()
            elif state:
                self.cancel.set()

    def _write_progress(self) -> None:
        progress = self.progress
        while not self._done.wait(self.settings.job_progress_interval):
            with progress.lock:
                if not progress.changed:
                    continue
                progress.changed = False
                fraction, eta, step = progress.fraction, progress.eta, progress.step
                steps = [dict(s) for s in progress.steps]
            try:
                self.store.progress(
                    self.job_id, self.owner, progress=fraction, eta=eta, step=step, steps=steps
                )
            except Exception:
                log.exception("recording the progress of job %s failed", self.job_id)


@attrs.frozen
class Outcome:
    """What a finished job leaves: its result, where each result went, and (for webhooks) the
    results' download links."""

    result: Result
    outputs: list[dict[str, Any]]
    output_info: Sequence[OutputInfo] = ()


def run_job(
    store: JobStore,
    job_id: str,
    owner: str,
    progress: JobProgress,
    lease: LeaseKeeper,
    work: Callable[[], Outcome],
    handing_back: Callable[[], bool],
    deliveries: Deliveries | None = None,
) -> None:
    """Do a job's ``work`` under ``lease`` and record how it ended, the one way for the job workers
    and the server: completed; failed with its error's code (a full disk is ``INSUFFICIENT_STORAGE``,
    anything unforeseen ``INTERNAL_ERROR``); cancelled; or, when ``handing_back()`` says the process is
    stopping, queued again for another worker. With the lease lost, nothing is recorded. The job's
    ``deliveries`` go with its end, in the same transaction."""
    try:
        outcome = work()
        uploads = deliveries.succeeded(outcome.result) if deliveries else ()
    except Cancelled:
        if lease.lost.is_set():
            return
        if handing_back():
            store.release(job_id, owner)
        else:
            uploads = deliveries.failed(CANCELLED_ERROR) if deliveries else ()
            store.finish(job_id, owner, CANCELLED, steps=progress.snapshot(), uploads=uploads)
        return
    except (ConversioError, ApiError) as exc:
        error = exc.to_dict()
    except Exception as exc:
        log.exception("job %s failed unexpectedly", job_id)
        error = {"code": "INTERNAL_ERROR", "message": "an unexpected error occurred", "details": {}}
        if is_full(exc):  # a write found the disk full: the job may be submitted again later
            error = out_of_space("the job's result").to_dict()
    else:
        if not store.finish(
            job_id,
            owner,
            COMPLETED,
            outputs=outcome.outputs,
            steps=progress.snapshot(),
            warnings=outcome.result.warnings,
            output_info=outcome.output_info,
            uploads=uploads,
        ):
            log.warning("job %s: the lease was lost; its outcome here is dropped", job_id)
        return
    if not lease.lost.is_set():
        uploads = deliveries.failed(error) if deliveries else ()
        store.finish(job_id, owner, FAILED, steps=progress.snapshot(), error=error, uploads=uploads)
