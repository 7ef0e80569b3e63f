"""``s3://``: artifacts as objects in an S3-compatible bucket, content-addressed as on disk.

Keys under the store's prefix: :mod:`conversio_s3.layout`. ``list`` and ``sweep`` learn the
artifacts from the keys of their references (a thousand a request), not an object each.

Content is hashed before it goes up (a stream is spooled to a local file while it is hashed),
so known content is not sent again; large files go up in parts, several at once (boto3's
managed transfer). Reads are ranged (:mod:`conversio_s3.reading`); ``local_path`` downloads to
a local temporary file. Expiry is kept in the metadata and enforced on every read; ``sweep``
deletes what expired. ``presigned_url`` signs a GET of an artifact's blob for whoever holds it.

S3 has no locks: a delete that frees a blob while another host stores the same content can free
the blob under the new artifact; the writer looks for the blob again after its metadata and
uploads it anew if it is gone, which leaves only a delete slower than those three requests
between listing the references and deleting the blob (the artifact then reads as
``FILE_NOT_FOUND``). An S3 lifecycle rule on ``blobs/`` must never be used.
"""

from __future__ import annotations

import builtins
import io
import json
import os
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, cast

from botocore.exceptions import ClientError

from conversio.errors import ArtifactNotFound
from conversio.stores.base import Artifact, Digest
from conversio.stores.common import (
    CHUNK_SIZE,
    check_cache_key,
    check_ttl,
    copy_hashing,
    is_artifact_id,
    is_sha256,
    new_artifact,
    new_artifact_id,
    not_found,
)
from conversio_s3.errors import MISSING, error_code, translating
from conversio_s3.layout import CACHE_LIST, Layout, Ref
from conversio_s3.reading import RangeReader
from conversio_s3.settings import S3Settings

#: References older than this with no metadata are left-overs of a writer that died.
STALE_AFTER = 3600.0
#: Metadata objects read at once by ``list`` and ``sweep`` (of references whose keys lack the record).
SCAN_THREADS = 8
#: The longest a presigned link lives: S3 signs for a week at most.
MAX_PRESIGNED = 7 * 24 * 3600


class S3Store:
    """Artifacts in ``settings.bucket`` under ``settings.prefix`` (the bucket must exist)."""

    def __init__(self, settings: S3Settings, client: Any = None) -> None:
        import boto3
        from boto3.s3.transfer import TransferConfig

        self.settings = settings
        self.layout = Layout(settings.prefix)
        self.default_ttl = settings.default_ttl
        #: Opens this very store again (it holds no credentials).
        self.url = settings.url
        if client is None:  # a session of its own: credentials as the environment has them now
            client = boto3.session.Session().client("s3", **settings.client_config())
        self.client = client
        #: Signs links with the endpoint their holders reach (``public_endpoint``), if another.
        self.presigner = client
        if settings.public_endpoint:
            self.presigner = boto3.session.Session().client("s3", **settings.client_config(public=True))
        self._transfer = TransferConfig(
            multipart_threshold=settings.part_size, multipart_chunksize=settings.part_size, max_concurrency=8
        )

    @classmethod
    def from_url(cls, url: str) -> S3Store:
        return cls(S3Settings.from_url(url))

    def __repr__(self) -> str:
        return f"S3Store({self.url!r})"

    # -- writing ---------------------------------------------------------------------------

    def put_file(
        self,
        path: Path,
        *,
        name: str,
        format: str,
        ttl: float | None = None,
        move: bool = False,
        share: bool = False,
        digest: Digest | None = None,
    ) -> Artifact:
        """Upload the file at ``path`` (unless its content is stored already); with ``move`` it is
        removed afterwards. A ``digest`` whose size agrees with the file spares hashing it."""
        check_ttl(ttl)
        source = Path(path)
        if digest is None or source.stat().st_size != digest.size:
            with source.open("rb") as stream:
                digest = copy_hashing(stream)
        artifact = self._commit(source, digest, name=name, format=format, ttl=ttl)
        if move:
            source.unlink(missing_ok=True)
        return artifact

    def put_stream(self, stream: BinaryIO, *, name: str, format: str, ttl: float | None = None) -> Artifact:
        """Spool ``stream`` to a local temporary file while hashing it, then store that."""
        check_ttl(ttl)
        with tempfile.NamedTemporaryFile(prefix="conversio-s3-") as spool:
            digest = copy_hashing(stream, cast(BinaryIO, spool))
            spool.flush()
            return self._commit(Path(spool.name), digest, name=name, format=format, ttl=ttl)

    def _commit(
        self, content: Path, digest: Digest, *, name: str, format: str, ttl: float | None
    ) -> Artifact:
        """The reference first (a sweep leaves a referenced blob alone), the blob if it is new,
        then the metadata that makes the id visible; a failure removes the reference again.

        A blob found there already is looked for once more after the metadata: a delete on
        another host may have freed it meanwhile (it listed the references before this one
        was written), and then it goes up again."""
        artifact = new_artifact(new_artifact_id(), name, format, digest, ttl, self.default_ttl)
        ref, _ = self.layout.ref_keys(artifact)
        with translating():
            self.client.put_object(Bucket=self.settings.bucket, Key=ref, Body=b"")
            try:
                blob = self.layout.blob(digest.sha256)
                known = self._size_of(blob) == digest.size
                if not known:
                    self._upload(content, blob)
                self._put_json(self.layout.meta(artifact.id), artifact.to_dict())
                if known and self._size_of(blob) != digest.size:
                    self._upload(content, blob)
            except BaseException:
                with suppress(Exception):  # the original failure is the one to tell
                    self._delete_keys([ref])
                raise
        return artifact

    def _upload(self, content: Path, key: str) -> None:
        self.client.upload_file(str(content), self.settings.bucket, key, Config=self._transfer)

    def _size_of(self, key: str) -> int | None:
        """The size of the object ``key``; ``None`` if there is none."""
        try:
            return int(self.client.head_object(Bucket=self.settings.bucket, Key=key)["ContentLength"])
        except ClientError as error:
            if error_code(error) in MISSING:
                return None
            raise

    def _put_json(self, key: str, data: dict[str, Any]) -> None:
        body = json.dumps(data).encode()
        self.client.put_object(
            Bucket=self.settings.bucket, Key=key, Body=body, ContentType="application/json"
        )

    # -- reading ---------------------------------------------------------------------------

    def get(self, artifact_id: str) -> Artifact:
        artifact = self._read_meta(artifact_id)
        if artifact.expired():
            raise not_found(artifact_id)
        return artifact

    def _read_meta(self, artifact_id: str) -> Artifact:
        """The metadata of ``artifact_id``, expired or not; ``FILE_NOT_FOUND`` if there is none."""
        if not is_artifact_id(artifact_id):
            raise not_found(artifact_id)
        data = self._get_json(self.layout.meta(artifact_id))
        try:
            artifact = Artifact(**data) if data is not None else None
        except TypeError:
            artifact = None
        if artifact is None or artifact.id != artifact_id or not is_sha256(artifact.sha256):
            raise not_found(artifact_id)
        return artifact

    def _get_json(self, key: str) -> dict[str, Any] | None:
        """The JSON object stored at ``key``; ``None`` if it is missing or not a JSON object."""
        with translating():
            try:
                body = self.client.get_object(Bucket=self.settings.bucket, Key=key)["Body"].read()
            except ClientError as error:
                if error_code(error) in MISSING:
                    return None
                raise
        try:
            data = json.loads(body)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def open(self, artifact_id: str) -> BinaryIO:
        """A buffered reader over ranged GETs (the first one is sent at once: it checks the blob)."""
        artifact = self.get(artifact_id)
        blob = self.layout.blob(artifact.sha256)
        reader = RangeReader(self.client, self.settings.bucket, blob, artifact.size, artifact_id)
        if artifact.size == 0:  # no range of an empty object: only whether it is there
            with translating(artifact_id):
                found = self._size_of(blob)
        else:
            found = reader.start()
        if found != artifact.size:
            reader.close()
            raise not_found(artifact_id)
        return cast(BinaryIO, io.BufferedReader(reader, buffer_size=CHUNK_SIZE))

    @contextmanager
    def local_path(self, artifact_id: str) -> Iterator[Path]:
        """A read-only local copy, downloaded in ranges at once, removed after the block."""
        artifact = self.get(artifact_id)
        fd, name = tempfile.mkstemp(prefix="conversio-s3-")
        os.close(fd)
        path = Path(name)
        try:
            with translating(artifact_id):
                self.client.download_file(
                    self.settings.bucket, self.layout.blob(artifact.sha256), name, Config=self._transfer
                )
            if path.stat().st_size != artifact.size:
                raise not_found(artifact_id)
            path.chmod(0o444)
            yield path
        finally:
            path.unlink(missing_ok=True)

    @contextmanager
    def scratch_dir(self) -> Iterator[Path]:
        """A local temporary directory: what converters write there is uploaded by ``put_file``."""
        with tempfile.TemporaryDirectory(prefix="conversio-scratch-") as name:
            yield Path(name)

    def presigned_url(self, artifact: Artifact, *, expires_in: int, disposition: str, media_type: str) -> str:
        """A presigned GET of ``artifact``'s blob for ``expires_in`` seconds (a week at most), answered
        with ``disposition`` and ``media_type`` as its headers; signed here, no request sent."""
        params = {
            "Bucket": self.settings.bucket,
            "Key": self.layout.blob(artifact.sha256),
            "ResponseContentDisposition": disposition,
            "ResponseContentType": media_type,
        }
        with translating(artifact.id):
            url = self.presigner.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=max(1, min(expires_in, MAX_PRESIGNED))
            )
        return str(url)

    def list(self) -> Iterator[Artifact]:
        now = time.time()
        with translating():
            visible = self._ids_with_meta()
            refs = [ref for ref in self._refs() if ref.artifact_id in visible]
        live = [a for a in self._artifacts(refs) if a is not None and not a.expired(now)]
        return iter(sorted(live, key=lambda a: (a.created, a.id)))

    def _ids_with_meta(self) -> set[str]:
        """The ids of every artifact whose metadata is written (listed, not read)."""
        return {self.layout.meta_id(key) for key in self._keys("meta")}

    def _refs(self) -> Iterator[Ref]:
        """Every reference, as its key tells it."""
        for key, written in self._objects("refs"):
            ref = self.layout.parse_ref(key, written)
            if ref is not None:
                yield ref

    def _artifacts(self, refs: builtins.list[Ref]) -> builtins.list[Artifact | None]:
        """The artifact of each reference (``None``: not valid): from its key, else its metadata
        object, read several at once (one request each)."""
        unread = [ref.artifact_id for ref in refs if ref.artifact is None]
        with ThreadPoolExecutor(SCAN_THREADS, thread_name_prefix="conversio-s3-scan") as pool:
            read = dict(zip(unread, pool.map(self._meta_or_none, unread), strict=True))
        return [ref.artifact or read[ref.artifact_id] for ref in refs]

    def _meta_or_none(self, artifact_id: str) -> Artifact | None:
        try:
            return self._read_meta(artifact_id)
        except ArtifactNotFound:
            return None

    def _keys(self, *parts: str) -> Iterator[str]:
        """Every key under ``parts`` (a folder of the store)."""
        return (key for key, _ in self._objects(*parts))

    def _objects(self, *parts: str) -> Iterator[tuple[str, datetime]]:
        """Every key under ``parts`` (a folder of the store), with when it was written."""
        paginator = self.client.get_paginator("list_objects_v2")
        with translating():
            for page in paginator.paginate(Bucket=self.settings.bucket, Prefix=self.layout.folder(*parts)):
                for item in page.get("Contents", []):
                    yield str(item["Key"]), item["LastModified"]

    # -- forgetting ------------------------------------------------------------------------

    def delete(self, artifact_id: str) -> None:
        """Forget the artifact and free its blob with the last reference; an expired one is freed
        too, but reported as not found."""
        artifact = self._read_meta(artifact_id)
        with translating():
            self._delete_keys([self.layout.meta(artifact.id), *self.layout.ref_keys(artifact)])
            self._free_if_unused(artifact.sha256)
        if artifact.expired():
            raise not_found(artifact_id)

    def _free_if_unused(self, sha: str) -> None:
        if next(self._keys("refs", sha), None) is None:
            self._delete_keys([self.layout.blob(sha)])

    def _delete_keys(self, keys: builtins.list[str]) -> None:
        """Delete ``keys`` (missing ones are no error), a thousand per request."""
        for start in range(0, len(keys), 1000):
            batch = [{"Key": key} for key in keys[start : start + 1000]]
            self.client.delete_objects(Bucket=self.settings.bucket, Delete={"Objects": batch, "Quiet": True})

    def sweep(self, now: float | None = None) -> int:
        """Delete expired artifacts with their references, then blobs nothing references any more,
        cache entries that name an artifact which is gone, and what writers that died left: their
        references (without metadata) and open multipart uploads, once older than an hour.

        Every artifact is known from listing the keys (a request a thousand), not read. The blobs are
        listed first: a writer stores its reference before its blob, so every blob listed has its
        reference in the listing that follows, and a blob stored meanwhile is not in the list."""
        now = time.time() if now is None else now
        with translating():
            blobs = builtins.list(self._keys("blobs"))
            visible = self._ids_with_meta()
            refs = builtins.list(self._refs())
            found = [ref for ref in refs if ref.artifact_id in visible]
            live: set[str] = set()
            referenced: set[str] = set()
            doomed: builtins.list[str] = []
            deleted = 0
            for ref, artifact in zip(found, self._artifacts(found), strict=True):
                if artifact is not None and not artifact.expired(now):
                    live.add(ref.artifact_id)
                    referenced.add(ref.sha256)
                else:
                    doomed += [self.layout.meta(ref.artifact_id), ref.key]
                    deleted += artifact is not None
            for ref in refs:
                if ref.artifact_id in visible:
                    continue
                if now - ref.written < STALE_AFTER:  # still being stored
                    referenced.add(ref.sha256)
                else:  # its artifact never got its metadata: a writer died before the end
                    doomed.append(ref.key)
            # metadata without a reference is left over (its artifact was being deleted)
            doomed += [self.layout.meta(i) for i in visible - {ref.artifact_id for ref in found}]
            self._delete_keys(doomed)
            self._delete_keys([key for key in blobs if key.rsplit("/", 1)[-1] not in referenced])
            self._delete_keys([key for key in self._keys("cache") if not self._all_live(key, live)])
            self._abort_stale_uploads(now)
        return deleted

    def _abort_stale_uploads(self, now: float) -> None:
        """Abort multipart uploads a writer that died left open (S3 keeps and bills their parts)."""
        paginator = self.client.get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=self.settings.bucket, Prefix=self.layout.folder("blobs")):
            for upload in page.get("Uploads", []):
                if now - upload["Initiated"].timestamp() > STALE_AFTER:
                    self.client.abort_multipart_upload(
                        Bucket=self.settings.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )

    def _all_live(self, entry: str, live: set[str]) -> bool:
        """Whether every artifact the cache entry ``entry`` names is in ``live``."""
        ids = self._cache_ids(entry)
        return ids is not None and all(artifact_id in live for artifact_id in ids)

    def _cache_ids(self, entry: str) -> builtins.list[str] | None:
        """The ids a cache entry names: from its key, else its content (``None``: not an entry)."""
        ids = self.layout.cache_ids(entry)
        if ids is None and entry.endswith("/" + CACHE_LIST):
            ids = _ids(self._get_json(entry))
        return ids

    # -- result cache ----------------------------------------------------------------------

    def cache_get(self, key: str) -> builtins.list[str] | None:
        """The first entry of ``key`` whose artifacts all live (entries that name one gone are
        deleted)."""
        with translating():
            entries = builtins.list(self._keys("cache", check_cache_key(key)))
        found: builtins.list[str] | None = None
        stale: builtins.list[str] = []
        for entry in entries:
            ids = self._cache_ids(entry)
            if found is None and ids is not None and all(self._is_live(i) for i in ids):
                found = ids
            elif found is None:
                stale.append(entry)
        with translating():
            self._delete_keys(stale)
        return found

    def cache_put(self, key: str, artifact_ids: builtins.list[str]) -> None:
        entry = self.layout.cache_entry(key, artifact_ids)
        with translating():
            if entry.endswith("/" + CACHE_LIST):
                self._put_json(entry, {"artifacts": builtins.list(artifact_ids)})
            else:
                self.client.put_object(Bucket=self.settings.bucket, Key=entry, Body=b"")

    def _is_live(self, artifact_id: str) -> bool:
        try:
            self.get(artifact_id)
        except ArtifactNotFound:
            return False
        return True


def _ids(data: dict[str, Any] | None) -> builtins.list[str] | None:
    """The artifact ids of a cache entry."""
    ids = None if data is None else data.get("artifacts")
    if not isinstance(ids, builtins.list) or not all(isinstance(i, str) for i in ids):
        return None
    return ids
