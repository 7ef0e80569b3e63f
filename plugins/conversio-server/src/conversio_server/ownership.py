"""Who owns a stored file: the ``file_owners`` table, one row per artifact id the server handed out.

The owner is the key that uploaded the file or whose conversion produced it. Ownership is kept in the
server's database rather than in the store's metadata: the store is the core's (the CLI and the Python
API use it too, with no notion of keys), and the database is already shared by the server and its
workers, so a job's outputs are recorded by the process that made them.

The store holds one blob for equal content, but every upload gets an artifact id of its own, so two
keys sending the same bytes own two ids, and deleting one id leaves the other. Only the engine's result
cache can hand one key an artifact another key owns (same input bytes, same options): such a result is
stored again under a new id for the second key (:func:`claim`), with the same blob.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

import attrs
import sqlalchemy as sa

from conversio.api import Result
from conversio.errors import ArtifactNotFound
from conversio.stores.base import Artifact, ArtifactStore
from conversio.stores.common import not_found
from conversio_server.auth import LOCAL_PRINCIPAL, Principal
from conversio_server.database import create_engine, metadata

file_owners = sa.Table(
    "file_owners",
    metadata,
    sa.Column("artifact_id", sa.String(128), primary_key=True),
    sa.Column("key_id", sa.String(64), nullable=False, index=True),
    sa.Column("created_at", sa.Float, nullable=False),
)


class FileOwners:
    """The ``file_owners`` table of one database."""

    def __init__(self, database_url: str) -> None:
        self.engine = create_engine(database_url)

    def close(self) -> None:
        self.engine.dispose()

    def owner_of(self, artifact_id: str) -> str | None:
        """The key that owns ``artifact_id`` (``None``: nobody recorded, e.g. a file stored before
        ownership was kept: only ``admin`` keys see those)."""
        with self.engine.connect() as connection:
            return connection.scalar(
                sa.select(file_owners.c.key_id).where(file_owners.c.artifact_id == artifact_id)
            )

    def record(self, key_id: str, artifact_ids: Iterable[str]) -> set[str]:
        """Record ``key_id`` as the owner of those of ``artifact_ids`` nobody owns yet; returns the ids
        another key owns (left as they are). Development mode's one tenant (no keys, every file its
        own) records nothing: it saves a database write per upload and per result."""
        wanted = list(dict.fromkeys(artifact_ids))
        if not wanted or key_id == LOCAL_PRINCIPAL.key_id:
            return set()
        try:
            owners = self._record(key_id, wanted)
        except sa.exc.IntegrityError:  # a job producing the same (cached) file recorded it meanwhile
            owners = self._record(key_id, wanted)
        return {i for i, owner in owners.items() if owner != key_id}

    def _record(self, key_id: str, wanted: list[str]) -> dict[str, str]:
        with self.engine.begin() as connection:
            query = sa.select(file_owners.c.artifact_id, file_owners.c.key_id).where(
                file_owners.c.artifact_id.in_(wanted)
            )
            owners = {row.artifact_id: row.key_id for row in connection.execute(query)}
            new = [i for i in wanted if i not in owners]
            if new:
                now = time.time()
                connection.execute(
                    sa.insert(file_owners),
                    [{"artifact_id": i, "key_id": key_id, "created_at": now} for i in new],
                )
        return owners

    def owned_by(self, key_id: str, limit: int, offset: int = 0) -> list[str]:
        """The ids ``key_id`` owns, the most recently recorded first (``limit`` of them from ``offset``)."""
        query = (
            sa.select(file_owners.c.artifact_id)
            .where(file_owners.c.key_id == key_id)
            .order_by(file_owners.c.created_at.desc(), file_owners.c.artifact_id.desc())
            .limit(limit)
            .offset(offset)
        )
        with self.engine.connect() as connection:
            return list(connection.scalars(query))

    def forget(self, artifact_id: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(sa.delete(file_owners).where(file_owners.c.artifact_id == artifact_id))

    def prune(self, live_ids: set[str], recorded_before: float) -> int:
        """Forget the ids recorded before ``recorded_before`` that are not in ``live_ids`` (the store's,
        listed after that time): expired and swept files. Returns how many went."""
        with self.engine.begin() as connection:
            recorded = connection.scalars(
                sa.select(file_owners.c.artifact_id).where(file_owners.c.created_at < recorded_before)
            ).all()
            gone = [i for i in recorded if i not in live_ids]
            for start in range(0, len(gone), 500):
                connection.execute(
                    sa.delete(file_owners).where(file_owners.c.artifact_id.in_(gone[start : start + 500]))
                )
        return len(gone)


def claim(
    store: ArtifactStore,
    owners: FileOwners,
    key_id: str,
    artifacts: Sequence[Artifact],
    intermediate: Iterable[str] = (),
) -> list[Artifact]:
    """``artifacts`` (uploads, a conversion's results) as files of ``key_id``: recorded as its own, and
    any that another key owns (a result the engine's cache shared) stored again under a new id. The
    ``intermediate`` ids (a conversion's steps') are recorded where nobody owns them yet. Blocking."""
    taken = owners.record(key_id, [*(a.id for a in artifacts), *intermediate])
    claimed = []
    for artifact in artifacts:
        if artifact.id in taken:
            with store.local_path(artifact.id) as path:
                artifact = store.put_file(path, name=artifact.name, format=artifact.format, share=True)
            owners.record(key_id, [artifact.id])
        claimed.append(artifact)
    return claimed


def claim_result(owners: FileOwners, key_id: str, result: Result, steps: Sequence[dict[str, Any]]) -> Result:
    """A conversion's ``result`` as files of ``key_id`` with the intermediate files its ``steps`` list
    (:func:`claim`). Blocking."""
    artifacts = claim(result.store, owners, key_id, result.artifacts, step_artifacts(steps))
    return attrs.evolve(result, artifacts=tuple(artifacts))


def step_artifacts(steps: Sequence[dict[str, Any]]) -> list[str]:
    """The ids of the files a conversion's steps made (as a job lists its steps)."""
    return [i for step in steps for i in step.get("artifacts", ())]


class Tenancy:
    """Each key sees its own files: another key's file is ``FILE_NOT_FOUND`` (404) exactly as an
    unknown one; ``admin`` keys (development mode's principal too) see every file. Blocking."""

    def __init__(self, store: ArtifactStore, owners: FileOwners) -> None:
        self.store = store
        self.owners = owners

    def file_for(self, principal: Principal, file_id: str) -> Artifact:
        """A stored file the principal may see, after the same two look-ups either way."""
        if "admin" in principal.scopes:
            return self.store.get(file_id)
        owner = self.owners.owner_of(file_id)
        artifact = self.store.get(file_id)
        if owner != principal.key_id:
            raise not_found(file_id)
        return artifact

    def files_of(self, principal: Principal, limit: int) -> list[Artifact]:
        """The principal's stored files, newest first, at most ``limit``; ``admin`` keys (development
        mode too) list every file of the store."""
        now = time.time()
        if "admin" in principal.scopes:
            live = [a for a in self.store.list() if not a.expired(now)]
            return sorted(live, key=lambda a: (a.created, a.id), reverse=True)[:limit]
        found: list[Artifact] = []
        offset = 0
        while len(found) < limit:
            ids = self.owners.owned_by(principal.key_id, limit, offset)
            for artifact_id in ids:
                if len(found) == limit:
                    break
                try:
                    artifact = self.store.get(artifact_id)
                except ArtifactNotFound:  # expired or swept; its owner row goes at the next sweep
                    continue
                if not artifact.expired(now):
                    found.append(artifact)
            if len(ids) < limit:
                break
            offset += limit
        return found

    def delete_for(self, principal: Principal, file_id: str) -> None:
        """Delete a stored file the principal may see (as :meth:`file_for`)."""
        artifact = self.file_for(principal, file_id)
        self.store.delete(artifact.id)
        self.owners.forget(artifact.id)

    def own(self, principal: Principal, artifacts: Sequence[Artifact]) -> list[Artifact]:
        """Record files the principal stored or produced as its own (:func:`claim`)."""
        return claim(self.store, self.owners, principal.key_id, artifacts)
