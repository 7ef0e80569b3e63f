"""What a deployment's database and store are asked, counted where they serve it: the statements
PostgreSQL runs (``pg_stat_statements``), when it commits the transactions that queue and claim a job
(logical decoding), and the requests the S3 server serves (moto's own recorder); and the CPU time
each part of a deployment spends (Linux's ``/proc``)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs
import httpx

#: How a statement is named in the counts: its first words (``SELECT jobs.id, …`` → ``SELECT jobs.id``).
_WORDS = 2


@attrs.frozen
class Statements:
    """The statements a database ran for the deployment (PostgreSQL's ``pg_stat_statements``)."""

    home: Path
    database: str

    def snapshot(self) -> Counter[str]:
        """The calls so far by statement kind (``BEGIN``, ``SELECT jobs.id``, ``UPDATE jobs`` …)."""
        import psycopg

        query = (
            "SELECT query, calls FROM pg_stat_statements"
            " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = %s)"
        )
        calls: Counter[str] = Counter()
        with psycopg.connect(host=str(self.home), user="postgres", dbname="postgres") as db:
            for text, count in db.execute(query, (self.database,)):
                calls[statement_kind(text)] += int(count)
        return calls


@attrs.frozen
class Commits:
    """When PostgreSQL committed the transactions that queued and then claimed each job, read from a
    logical decoding slot (``test_decoding``, with commit timestamps) while :meth:`watching`."""

    home: Path
    database: str

    @contextlib.contextmanager
    def watching(self) -> Iterator[CommitLog]:
        """Decode the commits of the block (a replication slot for its duration)."""
        import psycopg

        with psycopg.connect(
            host=str(self.home), user="postgres", dbname=self.database, autocommit=True
        ) as db:
            db.execute("SELECT pg_create_logical_replication_slot('bench_commits', 'test_decoding')")
            try:
                yield CommitLog(db)
            finally:
                db.execute("SELECT pg_drop_replication_slot('bench_commits')")


class CommitLog:
    """The decoded transactions of a :meth:`Commits.watching` block so far."""

    def __init__(self, db: Any) -> None:
        self.db = db
        self.lines: list[str] = []

    def of(self, job_ids: list[str]) -> list[JobCommits]:
        """The commits of each of ``job_ids``, once their claims are decoded too (the cluster commits
        asynchronously: a commit reaches the decoder when the WAL writer flushes it, within a second)."""
        deadline = time.monotonic() + 10
        while True:
            self.lines += [row[0] for row in self.db.execute(_CHANGES)]
            found = job_commits(self.lines)
            if all(j in found and found[j].claimed is not None for j in job_ids):
                return [found[j] for j in job_ids]
            if time.monotonic() > deadline:
                raise RuntimeError("the commits of the jobs did not reach the decoder within 10 s")
            time.sleep(0.1)


_CHANGES = (
    "SELECT data FROM pg_logical_slot_get_changes('bench_commits', NULL, NULL,"
    " 'include-timestamp', '1', 'skip-empty-xacts', '1')"
)


@attrs.frozen
class JobCommits:
    """The commit times of a job's submission and of the first claim of it (``None``: not seen)."""

    queued: float
    claimed: float | None = None


_CHANGE = re.compile(r"^table public\.jobs: (INSERT|UPDATE): id\[[^\]]+\]:'([^']+)'")
_STATUS = re.compile(r" status\[[^\]]+\]:'(\w+)'")
_COMMIT = re.compile(r"^COMMIT.* \(at (.+)\)$")


def job_commits(lines: Iterable[str]) -> dict[str, JobCommits]:
    """Each job's :class:`JobCommits`, from ``test_decoding``'s lines (``BEGIN``, changes, ``COMMIT``)."""
    found: dict[str, JobCommits] = {}
    pending: list[tuple[str, str, str]] = []  # this transaction's changes of jobs: (change, id, status)
    for line in lines:
        if change := _CHANGE.match(line):
            state = _STATUS.search(line)
            pending.append((change[1], change[2], state[1] if state else ""))
        elif commit := _COMMIT.match(line):
            moment = datetime.fromisoformat(commit[1]).timestamp()
            for kind, job_id, status in pending:
                if kind == "INSERT":
                    found[job_id] = JobCommits(moment)
                elif status == "processing" and job_id in found and found[job_id].claimed is None:
                    found[job_id] = attrs.evolve(found[job_id], claimed=moment)
            pending = []
    return found


def statement_kind(text: str) -> str:
    """A statement's first words, without quotes or what follows a parenthesis or comma."""
    words = text.replace('"', "").split()
    kind = []
    for word in words[: _WORDS + 3]:
        if word.upper() in ("FROM", "INTO", "SET", "WHERE", "RECURSIVE"):
            continue
        kind.append(word.split("(")[0].split(",")[0])
        if len(kind) == _WORDS:
            break
    return " ".join(kind)


@attrs.frozen
class Requests:
    """The requests the S3 server served, recorded by moto itself while :meth:`recording`."""

    endpoint: str
    log: Path

    @contextlib.contextmanager
    def recording(self) -> Iterator[Counter[str]]:
        """Record the requests of the block; the counter (by method and kind) is filled at its end."""
        counts: Counter[str] = Counter()
        self._call("reset-recording")
        self._call("start-recording")
        try:
            yield counts
        finally:
            self._call("stop-recording")
        for line in self.log.read_text().splitlines():
            entry = json.loads(line)
            counts[request_kind(entry["method"], entry["url"])] += 1
        self._call("reset-recording")

    def _call(self, action: str) -> None:
        httpx.post(f"{self.endpoint}/moto-api/recorder/{action}", timeout=10).raise_for_status()


def request_kind(method: str, url: str) -> str:
    """``GET meta``, ``PUT blobs (multipart)`` …: the method and the first part of the key under the
    bucket (the S3 store's key spaces: ``blobs``, ``refs``, ``meta`` …)."""
    path, _, query = url.partition("?")
    parts = path.split("://", 1)[-1].split("/")
    space = parts[3] if len(parts) > 3 else "bucket"
    multipart = " (multipart)" if "uploadId" in query or "uploads" in query else ""
    return f"{method} {space}{multipart}"


def cpu_seconds(parts: dict[str, list[int]]) -> dict[str, float]:
    """The user and system CPU seconds so far of each part's processes and their descendants: those
    running, and those they have waited for."""
    processes = _processes()
    spent = {}
    for part, roots in parts.items():
        tree, frontier = set(), [r for r in roots if r in processes]
        while frontier:
            tree.update(frontier)
            frontier = [pid for pid, (up, _) in processes.items() if up in frontier and pid not in tree]
        spent[part] = sum(processes[pid][1] for pid in tree) / os.sysconf("SC_CLK_TCK")
    return spent


def child_running(marker: str) -> int:
    """The process id of this process's child whose command line holds ``marker``."""
    for pid, (parent, _) in _processes().items():
        with contextlib.suppress(OSError):  # it ended meanwhile
            if parent == os.getpid() and marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                return pid
    raise LookupError(f"no child process runs {marker}")


def _processes() -> dict[int, tuple[int, int]]:
    """Every process's parent and CPU time in clock ticks (its own and its waited-for children's),
    from Linux's ``/proc``."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:  # it ended meanwhile
            continue
        fields = text[text.rindex(")") + 2 :].split()  # from the state on: the name may hold spaces
        found[int(entry.name)] = (int(fields[1]), sum(int(f) for f in fields[11:15]))  # utime … cstime
    return found
