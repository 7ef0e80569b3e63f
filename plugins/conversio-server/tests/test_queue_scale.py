"""The job queue at scale, on SQLite and a real PostgreSQL: a claim reads as many rows whatever the
number of jobs queued, and looks at the jobs it looked at before (the oldest five of each key and input
format, and those whose lease expired); submissions are limited by counts every change keeps, exact
even when submissions race; a database of an earlier revision gets its input formats and counts."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from conversio_server.database import create_engine, create_tables
from conversio_server.errors import ApiError
from conversio_server.jobstore import JobStore, NewJob, claim_order, jobs
from conversio_server.jobstore.tables import EVERY_KEY, unfinished
from test_migrations import _alembic

FORMATS = ("png", "pdf")


def spec(fmt: str, **more: Any) -> dict[str, Any]:
    return {"inputs": ["x"], "outputFormat": "jpg", "input": {"format": fmt}, **more}


def queue(store: JobStore, keys: int, per_group: int) -> None:
    """``per_group`` more queued jobs of each of ``keys`` keys and each input format."""
    new = [
        NewJob(spec=spec(fmt), key_id=f"k{k}")
        for k in range(keys)
        for fmt in FORMATS
        for _ in range(per_group)
    ]
    for start in range(0, len(new), 1000):
        store.create(new[start : start + 1000])


#: The rows of ``jobs`` the current transaction read so far: index entries, and rows of whole scans.
_ROWS_READ = sa.text(
    "SELECT (SELECT sum(pg_stat_get_xact_tuples_returned(indexrelid)) FROM pg_index"
    " WHERE indrelid = 'jobs'::regclass), pg_stat_get_xact_tuples_returned('jobs'::regclass)"
)


def rows_a_claim_reads(store: JobStore) -> tuple[int, int]:
    """(index entries, rows of whole-table scans) of ``jobs`` that finding a claim's jobs reads, on a
    connection of its own (a backend's counts so far include what it did before)."""
    with store.engine.begin() as db:
        db.execute(sa.text("ANALYZE jobs"))  # as autovacuum does by and by
    store.engine.dispose()
    with store.engine.connect() as db:
        looked_at = db.execute(claim_order.looked_at("postgresql"), {"now": time.time()}).all()
        assert looked_at
        entries, scanned = db.execute(_ROWS_READ).one()
    return int(entries), int(scanned)


def test_a_claim_reads_as_many_rows_with_ten_times_the_queue(postgres_url: str) -> None:
    """PostgreSQL: 8 groups (4 keys, 2 formats) of 30 queued jobs, then of 330: finding a claim's jobs
    reads the same index entries, and scans no table."""
    store = JobStore(postgres_url)
    try:
        queue(store, keys=4, per_group=30)
        shallow = rows_a_claim_reads(store)
        queue(store, keys=4, per_group=300)
        deep = rows_a_claim_reads(store)
    finally:
        store.close()
    assert shallow[1] == deep[1] == 0, (shallow, deep)
    assert shallow == deep
    assert shallow[0] <= 8 * (claim_order.FIRSTS_PER_GROUP + 4), shallow


def test_sqlite_finds_a_claims_jobs_by_index_searches_alone(tmp_path: Path) -> None:
    """SQLite: every read of ``jobs`` in finding a claim's jobs is an index search, none a scan."""
    store = JobStore(f"sqlite:///{tmp_path / 'server.sqlite3'}")
    try:
        queue(store, keys=3, per_group=20)
        statement = claim_order.looked_at("sqlite").compile(store.engine)
        params = tuple(statement.params[name] for name in statement.positiontup or ())
        with store.engine.connect() as db:
            plan = [
                row.detail for row in db.exec_driver_sql("EXPLAIN QUERY PLAN " + statement.string, params)
            ]
    finally:
        store.close()
    reads = [step for step in plan if step.startswith(("SCAN", "SEARCH")) and " groups" not in step]
    assert reads and all(step.startswith("SEARCH") and " INDEX " in step for step in reads), plan


def test_a_claim_looks_at_the_oldest_five_of_each_key_and_format(database_url: str) -> None:
    """What a claim looks at, oldest first: the oldest five queued jobs of each key and input format
    (not a group's sixth), and the running jobs whose lease expired (not those of a live lease)."""
    store = JobStore(database_url)
    try:
        made = store.create([NewJob(spec=spec("docx"), key_id="a") for _ in range(7)])
        made += store.create([NewJob(spec=spec("png"), key_id="a") for _ in range(2)])
        made += store.create(
            [NewJob(spec=spec("png"), key_id="b"), NewJob(spec={"inputs": ["x"]}, key_id="b")]
        )
        running = store.create([NewJob(spec=spec("png", n=n), key_id="c") for n in range(2)])
        assert store.claim("w0", lease=60, admits=lambda s: s.get("n") == 0) is not None
        assert store.claim("w1", lease=60, admits=lambda s: s.get("n") == 1) is not None
        with store.engine.begin() as db:  # the oldest running job's worker is gone
            db.execute(
                jobs.update().where(jobs.c.id == running[0]["id"]).values(lease_expires=time.time() - 1)
            )
            looked_at = db.execute(claim_order.looked_at(db.dialect.name), {"now": time.time()}).all()
    finally:
        store.close()
    assert [row.id for row in looked_at] == [job["id"] for job in made[:5] + made[7:] + running[:1]]


def counts_kept(store: JobStore) -> dict[str, int]:
    with store.engine.connect() as db:
        return {str(k): int(n) for k, n in db.execute(sa.select(unfinished)) if n}


def counts_of_jobs(store: JobStore) -> dict[str, int]:
    with store.engine.connect() as db:
        keys = db.execute(
            sa.select(jobs.c.key_id).where(jobs.c.status.in_(("queued", "processing")))
        ).scalars()
        counted = Counter(str(k) for k in keys)
    return {**counted, EVERY_KEY: sum(counted.values())} if counted else {}


def test_the_unfinished_counts_follow_every_change(database_url: str) -> None:
    """Submitting (alone and in a batch), adopting a running conversion, claiming, giving back,
    finishing, cancelling and retrying: the counts kept are the jobs' own."""
    store = JobStore(database_url)
    try:
        first, second = store.create([NewJob(spec=spec("png"), key_id="a") for _ in range(2)])
        store.create(
            [NewJob(spec=spec("pdf"), key_id="b") for _ in range(3)],
            batch={"id": "batch1", "key_id": "b", "webhook": None, "callback_mode": "batch", "tag": None},
        )
        store.adopt(NewJob(spec=spec("png"), key_id="c"), "sync", lease=60, started_at=time.time())
        assert counts_kept(store) == counts_of_jobs(store) == {"a": 2, "b": 3, "c": 1, EVERY_KEY: 6}
        claimed = store.claim("w1", lease=60)
        assert claimed is not None and claimed.id == first["id"]
        assert store.release(claimed.id, "w1")
        claimed = store.claim("w1", lease=60)
        assert claimed is not None and store.finish(claimed.id, "w1", "failed", error={"code": "X"})
        store.cancel(second["id"], None)
        assert counts_kept(store) == counts_of_jobs(store) == {"b": 3, "c": 1, EVERY_KEY: 4}
        store.retry(first["id"], None)
        while (claimed := store.claim("w2", lease=60)) is not None:
            store.finish(claimed.id, "w2", "completed", outputs=[])
        assert counts_kept(store) == counts_of_jobs(store) == {"c": 1, EVERY_KEY: 1}
    finally:
        store.close()


def test_racing_submissions_never_pass_a_keys_limit(database_url: str) -> None:
    """Six clients submit four jobs each at once for a key that may have ten unfinished: ten are
    queued and fourteen refused, on PostgreSQL too (where each submission counted the jobs committed
    before it, and two could take the last place)."""
    stores = [JobStore(database_url) for _ in range(6)]
    start = threading.Barrier(len(stores), timeout=30)
    outcomes: list[str] = []

    def client(store: JobStore) -> None:
        start.wait()
        for _ in range(4):
            try:
                store.create([NewJob(spec=spec("png"), key_id="a")], limits=(10, 1000))
                outcomes.append("queued")
            except ApiError as refused:
                outcomes.append(refused.code)

    try:
        threads = [threading.Thread(target=client, args=(store,)) for store in stores]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in threads)
        assert Counter(outcomes) == {"queued": 10, "RATE_LIMITED": 14}
        assert counts_kept(stores[0]) == counts_of_jobs(stores[0]) == {"a": 10, EVERY_KEY: 10}
    finally:
        for store in stores:
            store.close()


def test_a_database_of_the_revision_before_gets_input_formats_and_counts(database_url: str) -> None:
    engine = create_engine(database_url, upgrade=False)
    try:
        with engine.begin() as db:
            command.upgrade(_alembic(db), "0001")
            for job_id, key_id, status, described in (
                ("j1", "k1", "queued", '{"input": {"format": "png"}}'),
                ("j2", "k1", "processing", '{"input": {"format": "pdf"}}'),
                ("j3", "k2", "completed", '{"input": {"format": "png"}}'),
                ("j4", "k2", "queued", '{"inputs": ["x"]}'),
            ):
                db.execute(
                    sa.text(
                        "INSERT INTO jobs (id, key_id, spec, job_events, status, progress, step, steps,"
                        " outputs, warnings, attempts, cancel_requested, revision, created_at, updated_at)"
                        " VALUES (:id, :key, :spec, true, :status, 0, '', '[]', '[]', '[]', 0, false, 0,"
                        " 1, 1)"
                    ),
                    {"id": job_id, "key": key_id, "spec": described, "status": status},
                )
        create_tables(engine)
        with engine.connect() as db:
            formats = {str(i): str(f) for i, f in db.execute(sa.select(jobs.c.id, jobs.c.input_format))}
        assert formats == {"j1": "png", "j2": "pdf", "j3": "png", "j4": ""}
        store = JobStore(engine)
        assert counts_kept(store) == {"k1": 2, "k2": 1, EVERY_KEY: 3}
        claimed = [store.claim("w1", lease=60), store.claim("w1", lease=60)]
        assert {job.id for job in claimed if job is not None} == {"j1", "j4"}
    finally:
        engine.dispose()
