"""An in-process registry of conversion jobs: what ``GET /v1/jobs/{id}`` reports.

Every conversion the server runs is a job; a synchronous request waits for it and
answers 202 with its id when it takes longer than the sync limit. Jobs live in this
process only (issue 6 brings durable jobs); finished ones are forgotten after the
retention, like their results.
"""

from __future__ import annotations

import secrets
import threading
import time
from enum import Enum
from typing import Any

import attrs

from conversio.events import Event, EventKind
from conversio.stores.base import Artifact
from conversio_server.errors import ApiError


class JobStatus(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


@attrs.define
class Job:
    """One conversion: its status, progress, and outputs or error. Updated by the thread running it."""

    id: str
    owner: str | None
    created: float
    updated: float
    status: JobStatus = JobStatus.QUEUED
    progress: float = 0.0
    step: str = ""
    outputs: tuple[Artifact, ...] = ()
    warnings: tuple[str, ...] = ()
    error: dict[str, Any] | None = None
    #: Steps the plan has (a run may take more: a failed converter is replaced by another route).
    steps_planned: int = 1
    _steps_done: int = attrs.field(default=0, repr=False)
    _items: dict[int, float] = attrs.field(factory=dict, repr=False)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, repr=False)
    _done: threading.Event = attrs.field(factory=threading.Event, repr=False)

    @property
    def finished(self) -> bool:
        return self._done.is_set()

    def start(self, steps_planned: int = 1) -> None:
        self.steps_planned = max(1, steps_planned)
        self.status, self.updated = JobStatus.RUNNING, time.time()

    def observe(self, event: Event) -> None:
        """Follow the engine's events (called from the conversion's threads): the progress is the share
        of planned steps done, the running step counting by the mean progress of its items."""
        with self._lock:
            if event.kind is EventKind.STEP_STARTED:
                self.step, self._items = event.message, {}
            elif event.kind is EventKind.PROGRESS:
                self._items[event.item] = max(self._items.get(event.item, 0.0), min(1.0, event.fraction))
                current = sum(self._items.values()) / max(event.items, 1)
                done = (self._steps_done + current) / self.steps_planned
                self.progress = max(self.progress, min(0.99, done))
            elif event.kind is EventKind.STEP_FINISHED:
                self._steps_done += 1
                self._items = {}
                self.progress = max(self.progress, min(0.99, self._steps_done / self.steps_planned))
            self.updated = time.time()

    def succeed(self, outputs: tuple[Artifact, ...], warnings: tuple[str, ...] = ()) -> None:
        self.outputs, self.warnings = outputs, warnings
        self.status, self.progress, self.updated = JobStatus.COMPLETED, 1.0, time.time()
        self._done.set()

    def fail(self, error: dict[str, Any]) -> None:
        self.error = error
        self.status, self.updated = JobStatus.FAILED, time.time()
        self._done.set()


class JobRegistry:
    """Jobs by id; finished jobs are pruned ``keep`` seconds after they finished."""

    def __init__(self, keep: float) -> None:
        self.keep = keep
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def create(self, owner: str | None = None) -> Job:
        now = time.time()
        job = Job(id="job_" + secrets.token_urlsafe(16), owner=owner, created=now, updated=now)
        with self._lock:
            self._jobs[job.id] = job
        return job

    def get(self, job_id: str, owner: str | None = None) -> Job:
        """The job ``job_id``; ``JOB_NOT_FOUND`` if unknown, pruned, or (with ``owner``) someone else's."""
        job = self._jobs.get(job_id)
        if job is None or (owner is not None and job.owner not in (None, owner)):
            raise ApiError("JOB_NOT_FOUND", f"no job has the id {job_id!r}", details={"jobId": job_id})
        return job

    def discard(self, job_id: str) -> None:
        with self._lock:
            self._jobs.pop(job_id, None)

    def prune(self, now: float | None = None) -> int:
        now = time.time() if now is None else now
        with self._lock:
            old = [j.id for j in self._jobs.values() if j.finished and now - j.updated > self.keep]
            for job_id in old:
                del self._jobs[job_id]
        return len(old)
