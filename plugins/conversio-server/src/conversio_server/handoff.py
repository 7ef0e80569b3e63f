"""Synchronous conversions that become jobs: one that outlived the sync limit goes on here under a
lease the server renews (:meth:`HandOff.adopt`); one still waiting for a place is queued for the job
workers (:meth:`HandOff.queue`)."""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conversio.api import Result
from conversio_server.deliveries import Deliveries, of_job
from conversio_server.jobstore import JobStore, NewJob
from conversio_server.leases import LeaseKeeper, Outcome, run_job

if TYPE_CHECKING:
    from conversio_server.auth import Guard, Principal
    from conversio_server.conversions import Conversions, Order
    from conversio_server.service import Running
    from conversio_server.settings import ServerSettings

log = logging.getLogger("conversio_server.handoff")


class HandOff:
    """Turns synchronous conversions into durable jobs of this server's database."""

    def __init__(
        self, settings: ServerSettings, jobs: JobStore, conversions: Conversions, guard: Guard
    ) -> None:
        self.settings = settings
        self.jobs = jobs
        self.conversions = conversions
        self.guard = guard
        #: The lease owner of the conversions this server goes on with.
        self.name = f"server-{os.getpid()}-{secrets.token_hex(3)}"
        self._keepers: set[threading.Thread] = set()
        self._closing = threading.Event()

    def close(self) -> None:
        """Stop the conversions handed off here: their jobs are queued again for the workers."""
        self._closing.set()
        for keeper in list(self._keepers):
            keeper.join(timeout=10)

    def adopt(
        self,
        running: Running[Any],
        order: Order,
        principal: Principal,
        leftovers: Sequence[Path] = (),
        delivery: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Make a running conversion that outlived the sync limit a durable job (blocking).

        The conversion goes on here under a lease this server renews; ``DELETE /v1/jobs/{id}`` stops it,
        and if the server dies a worker runs the job again once the lease expires. ``leftovers`` (the
        request's uploads, which the conversion may still read) are removed when it ends. ``delivery``
        is what the job sends when it ends (:mod:`conversio_server.deliveries`), whoever ends it.
        """
        spec = order.spec() if delivery is None else {**order.spec(), "delivery": dict(delivery)}
        row = self.jobs.adopt(
            NewJob(spec=spec, key_id=principal.key_id), self.name, self.settings.job_lease, running.started
        )
        deliveries = of_job(spec, self.conversions.conversio, row["id"])
        keeper = threading.Thread(
            target=self._keep,
            args=(row["id"], running, leftovers, deliveries),
            name=f"keep-{row['id']}",
            daemon=True,
        )
        self._keepers.add(keeper)
        keeper.start()
        return row

    def queue(self, order: Order, principal: Principal) -> dict[str, Any]:
        """Make a conversion still waiting for a place at the sync limit a queued job, for the job
        workers to run (blocking). It is checked and counted against the quota as ``POST /v1/jobs``
        would; beyond the job queue's limits 429 or 503."""
        self.conversions.check(order)
        new = NewJob(spec=order.spec(), key_id=principal.key_id, max_running=principal.tier.concurrent_jobs)
        self.guard.consume_conversions(principal)
        try:
            (row,) = self.jobs.create(
                [new], limits=(self.settings.max_jobs_per_key, self.settings.max_queued_jobs)
            )
        except BaseException:
            self.guard.refund_conversions(principal)
            raise
        return row

    def _keep(
        self, job_id: str, running: Running[Any], leftovers: Sequence[Path], deliveries: Deliveries | None
    ) -> None:
        progress = running.progress

        def work() -> Outcome:
            result = self._wait(running)
            return Outcome(result, [{"artifactId": a.id, "deliveredTo": None} for a in result.artifacts])

        try:
            with LeaseKeeper(self.jobs, self.settings, job_id, self.name, progress, running.cancel) as lease:
                run_job(self.jobs, job_id, self.name, progress, lease, work, self._closing.is_set, deliveries)
        except Exception:
            log.exception("recording the outcome of job %s failed", job_id)
        finally:
            for path in leftovers:
                path.unlink(missing_ok=True)
            self._keepers.discard(threading.current_thread())

    def _wait(self, running: Running[Any]) -> Result:
        """The conversion's result; on closing its work is stopped (then ``Cancelled``)."""
        while True:
            try:
                return running.future.result(timeout=0.2).result
            except TimeoutError:
                if self._closing.is_set():
                    running.cancel.set()
