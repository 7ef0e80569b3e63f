"""The live job workers of every host, and what ``/metrics`` reads of the cluster at each scrape.

Each job worker keeps a row of the ``workers`` table (:class:`Fleet`): it registers at its start,
refreshes the row with its heartbeat (its running jobs, whether it drains) and removes it when it
ends cleanly. A row says until when it counts (``expires_at``: a few heartbeats ahead), so a worker
that was killed or lost its host stops counting without anybody's help, whatever its heartbeat; the
refreshes of the others delete such rows. Times are seconds since the epoch, as the jobs' leases.

:meth:`Fleet.census` reads the queue and the workers from the shared database, so any API node
answers for the whole cluster. Every read is bounded: queue depth counts through the index on the
jobs' status, claim latency reads the jobs first claimed in the last ``CLAIM_WINDOW`` seconds
through the index on ``started_at`` declared here (at most ``CLAIM_SAMPLE`` of them), and the
workers table has a row per live worker.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType

import attrs
import sqlalchemy as sa

from conversio_server.database import metadata
from conversio_server.jobstore import PROCESSING, QUEUED, jobs

log = logging.getLogger("conversio_server.fleet")

workers = sa.Table(
    "workers",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("seen_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("running", sa.Integer, nullable=False),
    sa.Column("draining", sa.Boolean, nullable=False),
)

#: Claim latency reads the jobs claimed lately through this index (created by revision 0003).
jobs_by_start = sa.Index("ix_jobs_started_at", jobs.c.started_at)

#: Heartbeats a worker may miss before its row stops counting.
MISSED_BEATS = 3
#: Seconds of claims the claim latency is computed over, and the most recent claims it reads.
CLAIM_WINDOW = 300.0
CLAIM_SAMPLE = 5000


@attrs.frozen
class Member:
    """Who a worker is: its lease-owner name, its host and process."""

    name: str
    host: str = attrs.field(factory=socket.gethostname)
    pid: int = attrs.field(factory=os.getpid)
    started_at: float = attrs.field(factory=time.time)


@attrs.frozen
class HostLoad:
    """A host's live workers, how many of them drain, and the jobs they run."""

    workers: int
    draining: int
    running: int


@attrs.frozen
class Census:
    """The cluster as the database shows it: jobs queued and running, each host's workers, and how
    long the jobs first claimed in the last ``CLAIM_WINDOW`` seconds waited (sorted; the newest
    ``CLAIM_SAMPLE``), out of ``claimed`` such jobs."""

    queued: int
    processing: int
    hosts: dict[str, HostLoad]
    claimed: int
    waits: tuple[float, ...]


class Fleet:
    """The ``workers`` table of the database of ``engine``."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def register(self, member: Member, *, running: int, draining: bool, ttl: float) -> None:
        """Add ``member``'s row (replacing one of the same name), counting for ``ttl`` seconds."""
        now = time.time()
        row = attrs.asdict(member) | {
            "seen_at": now,
            "expires_at": now + ttl,
            "running": running,
            "draining": draining,
        }
        with self.engine.begin() as db:
            db.execute(
                workers.delete().where(sa.or_(workers.c.name == member.name, workers.c.expires_at < now))
            )
            db.execute(workers.insert().values(**row))

    def refresh(self, member: Member, *, running: int, draining: bool, ttl: float) -> None:
        """Renew ``member``'s row for ``ttl`` seconds more (registering again if it was pruned after a
        long pause) and prune the rows of workers gone."""
        now = time.time()
        with self.engine.begin() as db:
            renewed = db.execute(
                workers.update()
                .where(workers.c.name == member.name)
                .values(seen_at=now, expires_at=now + ttl, running=running, draining=draining)
            ).rowcount
            db.execute(workers.delete().where(workers.c.expires_at < now))
        if not renewed:
            self.register(member, running=running, draining=draining, ttl=ttl)

    def leave(self, name: str) -> None:
        """Remove the row of ``name`` (a clean exit)."""
        with self.engine.begin() as db:
            db.execute(workers.delete().where(workers.c.name == name))

    def census(self) -> Census:
        """The queue, the live workers by host and the recent claims' waits, in one read transaction."""
        now = time.time()
        since = now - CLAIM_WINDOW
        recent = sa.and_(jobs.c.started_at >= since, jobs.c.started_at > jobs.c.created_at)
        with self.engine.connect() as db:
            statuses = {
                str(status): int(count)
                for status, count in db.execute(
                    sa.select(jobs.c.status, sa.func.count())
                    .where(jobs.c.status.in_((QUEUED, PROCESSING)))
                    .group_by(jobs.c.status)
                )
            }
            hosts = {
                str(host): HostLoad(int(count), int(draining or 0), int(running or 0))
                for host, count, draining, running in db.execute(
                    sa.select(
                        workers.c.host,
                        sa.func.count(),
                        sa.func.sum(sa.case((workers.c.draining, 1), else_=0)),
                        sa.func.sum(workers.c.running),
                    )
                    .where(workers.c.expires_at >= now)
                    .group_by(workers.c.host)
                )
            }
            claimed = int(db.execute(sa.select(sa.func.count()).select_from(jobs).where(recent)).scalar_one())
            waits = db.execute(
                sa.select(jobs.c.started_at - jobs.c.created_at)
                .where(recent)
                .order_by(jobs.c.started_at.desc())
                .limit(CLAIM_SAMPLE)
            ).scalars()
            return Census(
                queued=statuses.get(QUEUED, 0),
                processing=statuses.get(PROCESSING, 0),
                hosts=hosts,
                claimed=claimed,
                waits=tuple(sorted(float(w) for w in waits)),
            )


class Presence:
    """While entered: ``member``'s row, registered, refreshed every ``interval`` seconds (and at once
    on :meth:`beat`) with what ``state()`` says (running jobs, draining), removed at the exit. The
    registry only shows the workers: a write that fails is logged and tried again at the next beat,
    and the row counts for ``MISSED_BEATS`` intervals."""

    def __init__(
        self, fleet: Fleet, member: Member, interval: float, state: Callable[[], tuple[int, bool]]
    ) -> None:
        self.fleet, self.member, self.interval, self.state = fleet, member, interval, state
        self._wake = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"{member.name}-presence", daemon=True)

    def __enter__(self) -> Presence:
        running, draining = self.state()
        try:
            self.fleet.register(self.member, running=running, draining=draining, ttl=self._ttl)
        except sa.exc.SQLAlchemyError as exc:  # the worker works all the same; the next beat registers
            log.warning("could not add worker %s to the registry: %s", self.member.name, exc)
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._done.set()
        self._wake.set()
        self._thread.join(timeout=10)
        try:
            self.fleet.leave(self.member.name)
        except sa.exc.SQLAlchemyError as exc:  # its row then expires by itself
            log.warning("could not remove worker %s from the registry: %s", self.member.name, exc)

    @property
    def _ttl(self) -> float:
        return MISSED_BEATS * self.interval

    def beat(self) -> None:
        """Refresh the row now (the worker's state changed)."""
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._done.is_set():
                return
            running, draining = self.state()
            try:
                self.fleet.refresh(self.member, running=running, draining=draining, ttl=self._ttl)
            except sa.exc.SQLAlchemyError as exc:
                log.warning("could not refresh worker %s in the registry: %s", self.member.name, exc)
