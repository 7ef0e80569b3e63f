"""The application's state: one ``Server`` lives as long as the app and holds its parts, each in a
module of its own (signed links, intake, tenancy, conversions, hand-off to jobs); it runs the
synchronous conversions (:meth:`Server.start`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import ExitStack
from typing import TYPE_CHECKING, Generic, TypeVar

import attrs

from conversio.api import Result
from conversio.ingest import Arriving
from conversio.stores.base import Artifact
from conversio_server.auth import Guard, Principal
from conversio_server.conversions import Conversions, Order
from conversio_server.handoff import HandOff
from conversio_server.intake import Intake
from conversio_server.jobstore import JobStore
from conversio_server.leases import JobProgress
from conversio_server.metrics import Metrics
from conversio_server.outbound import OutboundClient
from conversio_server.ownership import FileOwners, Tenancy, claim_result, step_artifacts
from conversio_server.runner import ConversionRunner
from conversio_server.settings import ServerSettings
from conversio_server.signing import SignedLinks

if TYPE_CHECKING:
    from conversio.api import Conversio

A = TypeVar("A")


@attrs.frozen
class Finished(Generic[A]):
    """A finished conversion's result, and what its request made of it on the conversion's thread."""

    result: Result
    answer: A


def no_answer(result: Result) -> None:
    """For :meth:`Server.start` when the response needs nothing read from the result."""


@attrs.frozen(eq=False)
class Running(Generic[A]):
    """A conversion the server runs itself (:meth:`Server.start`): what a synchronous request waits for."""

    #: the order, once its inputs are stored
    order: Future[Order]
    future: Future[Finished[A]]
    progress: JobProgress
    cancel: threading.Event
    started: float

    def inputs(self) -> tuple[Artifact | Arriving, ...]:
        """The order's inputs, if it was made (none when making it failed or has not begun)."""
        made = self.order.done() and not self.order.cancelled() and self.order.exception() is None
        return self.order.result().inputs if made else ()


class Server:
    """Settings, the conversio instance, metrics and the parts of one app."""

    def __init__(self, settings: ServerSettings, conversio: Conversio, guard: Guard | None = None) -> None:
        self.settings = settings
        self.guard = guard if guard is not None else Guard(settings.auth)
        self.conversio = conversio
        self.store = conversio.store
        self.metrics = Metrics()
        # four conversions in flight per worker: while some wait on the disk (storing, syncing), the others
        # keep every worker busy; the worker pool itself queues those beyond its size
        self.runner = ConversionRunner(4 * settings.concurrency, settings.max_queued, self.metrics)
        self.started = time.time()
        self._scratch = ExitStack()
        #: Where requests write their temporary files (uploads, bundles): on the store's filesystem,
        #: kept for the server's life (a folder a request, made and removed, costs more than its files).
        self.scratch_folder = self._scratch.enter_context(self.store.scratch_dir())
        self.jobstore = JobStore(settings.database_url, wake_workers=settings.job_wake_dir)
        self.links = SignedLinks.of(settings, self.jobstore.engine, conversio)
        self.outbound = OutboundClient(settings.outbound)
        self.intake = Intake(conversio, self.metrics, self.outbound)
        #: Which key owns each stored file (:mod:`conversio_server.ownership`).
        self.owners = FileOwners(settings.database_url)
        self.tenancy = Tenancy(self.store, self.owners)
        self.conversions = Conversions(conversio, self.metrics)
        self.handoff = HandOff(settings, self.jobstore, self.conversions, self.guard)

    def close(self) -> None:
        self.handoff.close()
        self.jobstore.close()
        self.owners.close()
        self.runner.close()
        self.guard.close()
        self.outbound.close()
        self.intake.close()
        self._scratch.close()

    def sweep(self) -> int:
        """Delete expired files and their owners' records (blocking); returns how many went."""
        deleted = self.store.sweep()
        listed = time.time()
        self.owners.prune({a.id for a in self.store.list()}, listed)
        return deleted

    def start(
        self, prepare: Callable[[], Order], principal: Principal, answer: Callable[[Result], A]
    ) -> Running[A]:
        """Queue a conversion (503 ``SERVICE_UNAVAILABLE`` when the server is full), then on one runner
        thread, so that a synchronous request costs one thread hop:

        - ``prepare`` makes the order, storing its inputs (blocking);
        - the conversion is checked, counts one against the principal's monthly quota (403
          ``QUOTA_EXCEEDED``; given back if it fails) and takes one of its concurrent-job slots until
          it ends (429 ``RATE_LIMITED``; the quota lives in the key database);
        - ``answer`` makes what the response needs of the result (a small file's content, say).
        """
        guard = self.guard
        progress, cancel, order = JobProgress(), threading.Event(), Future[Order]()

        def work() -> Finished[A]:
            try:
                made = prepare()
            except BaseException as exc:
                order.set_exception(exc)
                raise
            order.set_result(made)
            planned = self.conversions.check(made)
            guard.consume_conversions(principal)
            try:
                guard.acquire_job(principal)
            except BaseException:
                guard.refund_conversions(principal)
                raise
            try:
                result = self.conversions.execute(planned, progress, cancel)
                result = claim_result(self.owners, principal.key_id, result, progress.snapshot())
            except BaseException:
                guard.refund_conversions(principal)
                # the steps it finished are the key's too (a job it became shows them)
                self.owners.record(principal.key_id, step_artifacts(progress.snapshot()))
                raise
            finally:
                guard.release_job(principal)
            return Finished(result, answer(result))

        future = self.runner.submit(work)
        future.add_done_callback(lambda done: done.cancelled() and order.cancel())  # dropped unstarted
        return Running(order, future, progress, cancel, time.time())
