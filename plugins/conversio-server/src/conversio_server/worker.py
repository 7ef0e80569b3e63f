"""Job workers: processes that claim durable jobs with leases, run them and record the outcome.

``conversio worker`` runs one :class:`Worker` loop; ``conversio serve`` starts ``job_workers`` of them
as child processes and replaces any that dies (:mod:`conversio_server.supervisor`). A worker claims a
job (see :meth:`JobStore.claim`), renews its lease every ``heartbeat`` seconds from a thread that also
polls the job's cancel flag (and then sets the ``cancel`` event given to the engine, which kills the
engine's worker process), writes progress at most every ``progress_interval`` seconds, and ends the job
only while it still holds the lease. A worker killed mid-job leaves its lease to expire, or its
supervisor hands the job back at once; another worker then runs the job again (the engine's result
cache makes finished steps free). An idle worker sleeps until the server that queues a
job wakes it (:mod:`conversio_server.wakeup`), or ``job_poll_interval`` has passed.

A worker needs nothing of another host: its jobs' inputs are read from the store (a local copy in
scratch space when the store is remote) and their results written to it. It keeps a row in the
registry of live workers (:mod:`conversio_server.fleet`) while it runs. Stopping drains: the worker
claims nothing more, lets its running jobs finish for up to ``job_drain_timeout`` seconds and then
hands those still running back to the queue, for another worker to resume.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import secrets
import signal
import threading
import time
from collections.abc import Callable, Collection, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from conversio.errors import ConversioError
from conversio.outbound import ALLOW_ENV
from conversio_server.conversions import Conversions, Order
from conversio_server.deliveries import of_job
from conversio_server.fleet import Fleet, Member, Presence
from conversio_server.jobstore import Claimed, JobStore
from conversio_server.lanes import Lanes
from conversio_server.leases import JobProgress, LeaseKeeper, Outcome, run_job
from conversio_server.metrics import Metrics
from conversio_server.outbound import OutboundClient
from conversio_server.ownership import FileOwners, claim_result, step_artifacts
from conversio_server.settings import ServerSettings
from conversio_server.signing import SignedLinks
from conversio_server.wakeup import JOBS_CHANNEL, SOCKET_SUFFIX, NotifyListener, WakeListener
from conversio_server.webhooks import OutputInfo

if TYPE_CHECKING:
    from conversio.api import Conversio
    from conversio.stores.base import Artifact

log = logging.getLogger("conversio_server.worker")


class OutputDeliveryFailed(ConversioError):
    """A result could not be PUT to the job's ``output.url``."""

    code = "OUTPUT_DELIVERY_FAILED"


def make_conversio(settings: ServerSettings, workers: int | None = None) -> Conversio:
    """A conversio instance on the settings' store, with the settings' extra plugin modules; its
    worker processes get the server's allow list, so that what they fetch (a web page's requests)
    may reach what the server's own fetches may."""
    from conversio.api import Conversio
    from conversio.engine.executors import ProcessPoolExecutor

    plugins = {name.rsplit(".", 1)[-1]: importlib.import_module(name) for name in settings.extra_plugins}
    allow = {ALLOW_ENV: settings.outbound.allow.to_env()}
    pool = ProcessPoolExecutor(workers if workers is not None else settings.workers, env=allow)
    try:
        return Conversio(plugins=plugins, store=settings.store_url, executor=pool, cache=settings.cache)
    except BaseException:
        pool.close()  # no worker started yet (the store was refused): only its pipe to close
        raise


def server_base_url(settings: ServerSettings) -> str:
    return (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")


class Worker:
    """One worker: claims and runs jobs until :meth:`stop` or :meth:`abandon`. ``host`` names its host
    in the registry of live workers (default: the host name)."""

    def __init__(
        self,
        settings: ServerSettings,
        *,
        name: str | None = None,
        host: str | None = None,
        conversio: Conversio | None = None,
    ) -> None:
        self.settings = settings
        self.name = name or f"worker-{os.getpid()}-{secrets.token_hex(3)}"
        self.store = JobStore(
            settings.database_url, wake_path=settings.webhook_wake_path, wake_workers=settings.job_wake_dir
        )
        self.member = Member(self.name) if host is None else Member(self.name, host)
        self.fleet = Fleet(self.store.engine)
        self._conversio = conversio
        #: Who owns the files the jobs produce (the job's key).
        self.owners = FileOwners(settings.database_url)
        self.outbound = OutboundClient(settings.outbound)
        self.links = SignedLinks.of(settings, self.store.engine, self.conversio)
        self._stop = threading.Event()
        self._wake = threading.Event()  # set by the server when it queues a job, and to stop
        self._running: dict[str, threading.Event] = {}  # the running jobs' cancel events
        self._lock = threading.Lock()
        self._abandoning = threading.Event()
        self._presence: Presence | None = None
        self._lanes: Lanes | None = None
        self._conversions: Conversions | None = None

    @property
    def conversio(self) -> Conversio:
        if self._conversio is None:
            self._conversio = make_conversio(self.settings, workers=self.settings.job_concurrency)
        return self._conversio

    @property
    def conversions(self) -> Conversions:
        """Checks, plans and runs the jobs' conversions, as the server does its own."""
        if self._conversions is None:
            self._conversions = Conversions(self.conversio, Metrics())
        return self._conversions

    @property
    def lanes(self) -> Lanes:
        """The lanes of the jobs running here (one slow kind of work never takes every place)."""
        if self._lanes is None:
            self._lanes = Lanes(self.conversions, self.settings.job_concurrency)
        return self._lanes

    @property
    def stopping(self) -> bool:
        """Whether the worker was told to stop (it claims nothing more)."""
        return self._stop.is_set()

    def stop(self) -> None:
        """Drain: claim nothing more, let the running jobs finish for up to ``job_drain_timeout``
        seconds, then hand those still running back to the queue. :meth:`abandon` hands them back now."""
        self._stop.set()
        self._wake.set()
        if self._presence is not None:
            self._presence.beat()  # the registry shows it draining

    def abandon(self) -> None:
        """Stop now: the running jobs' work is stopped and the jobs queued again for other workers."""
        self._abandoning.set()
        self._stop.set()
        self._wake.set()
        with self._lock:
            for cancel in self._running.values():
                cancel.set()

    def close(self) -> None:
        if self._conversio is not None:
            self._conversio.close()
        self.outbound.close()
        self.store.close()
        self.owners.close()

    def run(self, on_ready: Callable[[], None] | None = None) -> int:
        """Claim and run jobs, up to ``job_concurrency`` at once (a thread each), until stopped, then
        drain; returns how many were started. ``on_ready`` is called once the plugins are loaded, the
        worker is registered and listens for wake-ups, before its first claim."""
        self.conversio  # noqa: B018 - load the plugins before the first job, not during it
        with Presence(self.fleet, self.member, self.settings.job_heartbeat, self._state) as presence:
            self._presence = presence
            return self._claim_until_stopped(on_ready)

    def _claim_until_stopped(self, on_ready: Callable[[], None] | None) -> int:
        """The body of :meth:`run`, while the worker is registered."""
        count = 0
        threads: list[threading.Thread] = []
        listener = WakeListener(self.settings.job_wake_dir / f"{self.name}{SOCKET_SUFFIX}", self._wake.set)
        listener.start()
        notified = NotifyListener(self.store.engine, JOBS_CHANNEL, self._wake.set)  # other hosts' jobs
        notified.start()
        if on_ready is not None:
            on_ready()
        try:
            while not self._stop.is_set():
                self._wake.clear()  # before claiming: a job queued or ended meanwhile wakes the wait
                threads = [t for t in threads if t.is_alive()]
                claimed = None
                if len(threads) < self.settings.job_concurrency:
                    claimed = self.store.claim(self.name, self.settings.job_lease, self.lanes.admits)
                if claimed is None:
                    if not self._stop.is_set():  # a stop before the clear left no wake-up behind
                        self._wake.wait(self.settings.job_poll_interval)
                    continue
                self.lanes.enter(claimed.id, claimed.spec)
                thread = threading.Thread(target=self.run_job, args=(claimed,), name=f"job-{claimed.id}")
                thread.start()
                threads.append(thread)
                count += 1
        finally:
            listener.stop()
            notified.stop()
            self._drain(threads)
        return count

    def _state(self) -> tuple[int, bool]:
        """What the registry shows of this worker: its running jobs, and whether it drains."""
        with self._lock:
            return len(self._running), self._stop.is_set()

    def _drain(self, threads: Collection[threading.Thread]) -> None:
        """Let the running jobs finish for up to ``job_drain_timeout`` seconds; hand the rest back."""
        deadline = time.monotonic() + self.settings.job_drain_timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        left = sum(thread.is_alive() for thread in threads)
        if left:
            log.warning("worker %s: handing %d running job(s) back to the queue", self.name, left)
            self.abandon()
        for thread in threads:
            thread.join()

    def run_job(self, job: Claimed) -> None:
        """Run one claimed job while holding its lease; wakes :meth:`run` when done (a slot is free)."""
        cancel = threading.Event()
        with self._lock:
            self._running[job.id] = cancel
        if self._abandoning.is_set():  # claimed while the worker was told to stop
            cancel.set()
        progress = JobProgress()
        try:
            key_id = self.store.get(job.id)["key_id"]
            with LeaseKeeper(self.store, self.settings, job.id, self.name, progress, cancel) as lease:
                work = functools.partial(self._execute, job, key_id, progress, cancel)
                deliveries = of_job(job.spec, self.conversio, job.id)
                handing_back = self._abandoning.is_set
                run_job(self.store, job.id, self.name, progress, lease, work, handing_back, deliveries)
        finally:
            with self._lock:
                del self._running[job.id]
            self.lanes.leave(job.id)
            self._wake.set()

    def _execute(self, job: Claimed, key_id: str, progress: JobProgress, cancel: threading.Event) -> Outcome:
        """Run the job's conversion, the way the server runs its own (:class:`Conversions`)."""
        spec = job.spec
        inputs = [self.conversio.store.get(file_id) for file_id in spec["inputs"]]
        planned = self.conversions.check(Order.of_spec(spec, inputs))
        try:
            result = self.conversions.execute(planned, progress, cancel)
        except BaseException:  # the steps it finished are the key's too (a retry resumes there)
            self.owners.record(key_id, step_artifacts(progress.snapshot()))
            raise
        result = claim_result(self.owners, key_id, result, progress.snapshot())
        outputs = [{"artifactId": a.id, "deliveredTo": None} for a in result.artifacts]
        target = (spec.get("output") or {}).get("url")
        if target:
            for record, artifact in zip(outputs, result.artifacts, strict=True):
                record["deliveredTo"] = self._deliver(artifact, str(target))
        base = server_base_url(self.settings)
        info = [
            OutputInfo(
                url=self.links.content_url(a, base),
                format=a.format,
                size=a.size,
                expires_at=None if a.expires is None else datetime.fromtimestamp(a.expires, UTC),
                filename=a.name,
            )
            for a in result.artifacts
        ]
        return Outcome(result, outputs, info)

    def _deliver(self, artifact: Artifact, url: str) -> str:
        """PUT ``artifact`` to ``url`` through the SSRF-safe client; ``OUTPUT_DELIVERY_FAILED`` unless 2xx."""
        store = self.conversio.store

        def chunks() -> Iterator[bytes]:
            with store.open(artifact.id) as reader:
                while chunk := reader.read(1 << 20):
                    yield chunk

        reply = self.outbound.request(
            "PUT",
            url,
            content=chunks(),
            headers={"Content-Length": str(artifact.size), "Content-Type": "application/octet-stream"},
        )
        if not 200 <= reply.status_code < 300:
            raise OutputDeliveryFailed(
                f"the output URL answered {reply.status_code}", status=reply.status_code
            )
        return url.split("?", 1)[0]


def run_worker(
    worker: Worker,
    *,
    on_ready: Callable[[], None] | None = None,
    signals: Collection[signal.Signals] = (signal.SIGTERM, signal.SIGINT),
) -> None:
    """The body of a worker process: run ``worker`` (``on_ready``: see :meth:`Worker.run`) until one of
    ``signals``, which drains it (:meth:`Worker.stop`); another signal hands its running jobs back at once
    (:meth:`Worker.abandon`)."""

    def on_signal(*_: object) -> None:
        if worker.stopping:
            worker.abandon()
        else:
            worker.stop()

    for number in signals:
        signal.signal(number, on_signal)
    try:
        worker.run(on_ready=on_ready)
    finally:
        worker.close()
