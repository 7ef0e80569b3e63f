"""``file://``: the default store — local disk, content-addressed, atomic, with expiry.

This module is the store itself: its URL, taking content in (renamed, linked, or copied while
it is hashed), reading, deleting and the result cache. The rest lives beside it:
:mod:`~conversio.stores.layout` (what is where under the root, and the locks that let several
processes share it), :mod:`~conversio.stores.blobs` (content-addressed blobs and their
references), :mod:`~conversio.stores.records` (metadata and cache entries),
:mod:`~conversio.stores.sweeping` (expiry and the left-overs of crashes) and
:mod:`~conversio.stores.disk` (the small disk operations all of them use).

A full disk is ``INSUFFICIENT_STORAGE``, with nothing of the failed write left behind.
"""

from __future__ import annotations

import builtins
import errno
import os
import shutil
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import parse_qs, unquote, urlsplit

from conversio.errors import ArtifactNotFound, InvalidOption
from conversio.stores.base import Artifact, Digest
from conversio.stores.blobs import placing, release, whole_blob
from conversio.stores.common import check_ttl, copy_hashing, new_artifact, new_artifact_id, not_found
from conversio.stores.disk import mark_in_use, remove_tree
from conversio.stores.layout import Layout
from conversio.stores.owners import owned_name
from conversio.stores.records import load_ids, read_meta, scan_meta, write_record
from conversio.stores.space import is_full, refusing_full
from conversio.stores.sweeping import STALE_AFTER, sweep_store

__all__ = ["PARALLEL_COPY_BYTES", "STALE_AFTER", "FilesystemStore"]

#: From this size on, a file is copied by the kernel while this thread hashes it.
PARALLEL_COPY_BYTES = 1024 * 1024


class FilesystemStore:
    """Artifacts in a directory on the local disk (see :mod:`conversio.stores.layout` for the layout).

    ``default_ttl`` (seconds) applies to artifacts stored without a ``ttl``; ``None`` keeps
    them until they are deleted. ``durable`` syncs every write to the disk before an id is
    visible; without it (a cache whose content can be made again) writes are still atomic
    against crashes of the process, and a blob cut short by a power loss is never served:
    its size is checked against the metadata on every read.
    """

    def __init__(self, root: Path | str, default_ttl: float | None = None, *, durable: bool = True) -> None:
        self.root = Path(root).expanduser().resolve()
        self.default_ttl = check_ttl(default_ttl, "default_ttl")
        self.durable = durable
        self._layout = Layout(self.root, durable)
        self._layout.create()
        self._device = self._layout.tmp.stat().st_dev
        params = [] if self.default_ttl is None else [f"ttl={self.default_ttl:.15g}"]
        params += [] if durable else ["durable=0"]
        #: Opens this very store again, from any working directory.
        self.url = self.root.as_uri() + ("?" + "&".join(params) if params else "")

    @classmethod
    def from_url(cls, url: str) -> FilesystemStore:
        """Open ``file:///absolute/path`` or ``file://relative/path``; ``?ttl=<seconds>`` sets the
        default retention, ``?durable=0`` skips syncing to disk. ``file://localhost/path`` is ``/path``."""
        parts = urlsplit(url)
        if parts.scheme != "file":
            raise InvalidOption(f"a filesystem store URL starts with file://, not {url!r}", url=url)
        host = "" if parts.netloc == "localhost" else parts.netloc
        location = unquote(host + parts.path)
        if not location:
            raise InvalidOption(f"the store URL {url!r} names no directory", url=url)
        query = parse_qs(parts.query, keep_blank_values=True)
        unknown = sorted(set(query) - {"ttl", "durable"})
        if unknown:
            raise InvalidOption(f"unknown store URL parameter(s): {', '.join(unknown)}", url=url)
        ttl: float | None = None
        if "ttl" in query:
            try:
                ttl = float(query["ttl"][-1])
            except ValueError:
                raise InvalidOption(f"ttl must be a number of seconds in {url!r}", url=url) from None
        durable = query.get("durable", ["1"])[-1].lower() not in ("0", "false", "no")
        return cls(Path(location), default_ttl=ttl, durable=durable)

    def __repr__(self) -> str:
        return (
            f"FilesystemStore({str(self.root)!r}, default_ttl={self.default_ttl!r}, durable={self.durable!r})"
        )

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
        """Store the file at ``path``. With ``move`` it is renamed into the store, with ``share`` hard-linked
        (``path`` stays), when it can be: same filesystem, a regular file with no other hard link;
        then a ``digest`` of the same size spares reading it. Otherwise it is copied (and with
        ``move`` removed)."""
        check_ttl(ttl)
        with refusing_full(repr(name)):
            return self._put_file(Path(path), name, format, ttl, move, share, digest)

    def _put_file(
        self,
        source: Path,
        name: str,
        format: str,
        ttl: float | None,
        move: bool,
        share: bool,
        digest: Digest | None,
    ) -> Artifact:
        if (move or share) and self._can_rename(source):
            try:
                return self._adopt(source, share, digest, name=name, format=format, ttl=ttl)
            except OSError as error:  # another mount of the same filesystem, or no links there: copy
                if error.errno not in (errno.EXDEV, errno.EPERM):
                    raise
        # a second thread pays off only for big files; small ones are copied and hashed in one pass
        spooled = self._spool_copy(source) if source.stat().st_size >= PARALLEL_COPY_BYTES else None
        if spooled is None:  # (or the file changed while it was read)
            with source.open("rb") as stream:
                spooled = self._spool(stream)
        try:
            artifact = self._commit(*spooled, name=name, format=format, ttl=ttl)
        except BaseException:
            spooled[0].unlink(missing_ok=True)
            raise
        if move:
            source.unlink(missing_ok=True)
        return artifact

    def _adopt(
        self, source: Path, share: bool, digest: Digest | None, *, name: str, format: str, ttl: float | None
    ) -> Artifact:
        """``source``'s own inode as the artifact's content: renamed in, or a new name linked to it."""
        content = source
        if share:
            content = self._layout.tmp_name("link-")
            os.link(source, content)
        try:
            with content.open("rb") as handle:
                mark_in_use(handle.fileno())
                if digest is None or os.fstat(handle.fileno()).st_size != digest.size:
                    digest = copy_hashing(handle)
                if self.durable:
                    os.fsync(handle.fileno())
            return self._commit(content, digest, name=name, format=format, ttl=ttl)
        except BaseException:
            if share:
                content.unlink(missing_ok=True)
            raise

    def put_stream(self, stream: BinaryIO, *, name: str, format: str, ttl: float | None = None) -> Artifact:
        check_ttl(ttl)
        with refusing_full(repr(name)):
            spooled, digest = self._spool(stream)
            try:
                return self._commit(spooled, digest, name=name, format=format, ttl=ttl)
            except BaseException:
                spooled.unlink(missing_ok=True)
                raise

    def _spool(self, stream: BinaryIO) -> tuple[Path, Digest]:
        """Copy ``stream`` into a new file under ``tmp/``, hashing it; return (path, digest)."""
        fd, path = self._new_tmp("put-")
        try:
            with os.fdopen(fd, "wb") as out:
                digest = copy_hashing(stream, out)
                out.flush()
                if self.durable:
                    os.fsync(out.fileno())
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path, digest

    def _spool_copy(self, source: Path) -> tuple[Path, Digest] | None:
        """Copy ``source`` into ``tmp/`` with the kernel while this thread hashes it.

        Both release the GIL, so on two cores this costs about the time of the
        hash alone. ``None`` if the file changed meanwhile (the caller falls back
        to one pass, where hash and copy come from the same bytes).
        """
        before = source.stat()
        fd, path = self._new_tmp("put-")
        failure: list[BaseException] = []

        def copy() -> None:
            try:
                shutil.copyfile(source, path)
            except BaseException as exc:
                failure.append(exc)

        try:
            with os.fdopen(fd, "rb"):  # held open while it is written: marked in use
                copier = threading.Thread(target=copy, name="conversio-copy")
                copier.start()
                try:
                    with source.open("rb") as reading:
                        digest = copy_hashing(reading)
                finally:
                    copier.join()
                if failure:
                    raise failure[0]
                after = source.stat()
                unchanged = (before.st_size, before.st_mtime_ns) == (after.st_size, after.st_mtime_ns)
                if not unchanged or path.stat().st_size != digest.size:
                    path.unlink()
                    return None
                if self.durable:
                    with path.open("rb+") as written:
                        os.fsync(written.fileno())
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path, digest

    def _commit(
        self, content: Path, digest: Digest, *, name: str, format: str, ttl: float | None
    ) -> Artifact:
        """Make ``content`` — a complete, synced file on the store's filesystem — an artifact: its
        blob and reference (:func:`~conversio.stores.blobs.placing`), then the metadata that makes
        the id visible; a failure on the way undoes every part."""
        artifact_id = new_artifact_id()
        with placing(self._layout, content, digest.sha256, artifact_id):
            artifact = new_artifact(artifact_id, name, format, digest, ttl, self.default_ttl)
            self._write_json(self._layout.meta_file(artifact_id), artifact.to_dict())
        return artifact

    def _can_rename(self, source: Path) -> bool:
        try:
            info = source.lstat()
        except FileNotFoundError:
            return False
        return stat.S_ISREG(info.st_mode) and info.st_nlink == 1 and info.st_dev == self._device

    def _new_tmp(self, prefix: str) -> tuple[int, Path]:
        """A new file under ``tmp/``, marked in use (:meth:`~conversio.stores.layout.Layout.new_tmp`)."""
        return self._layout.new_tmp(prefix)

    def _write_json(self, path: Path, data: dict[str, Any]) -> None:
        """Every record the store writes (metadata, cache entries) is written here."""
        write_record(self._layout, path, data)

    # -- reading ---------------------------------------------------------------------------

    def get(self, artifact_id: str) -> Artifact:
        artifact = read_meta(self._layout, artifact_id)
        if artifact.expired():
            raise not_found(artifact_id)
        return artifact

    def open(self, artifact_id: str) -> BinaryIO:
        return self._blob(artifact_id).open("rb")

    @contextmanager
    def local_path(self, artifact_id: str) -> Iterator[Path]:
        """The blob itself: no copy. It is read-only and may be shared with other artifacts."""
        yield self._blob(artifact_id)

    def _blob(self, artifact_id: str) -> Path:
        """The artifact's blob, if it is there whole (its size matches the metadata)."""
        blob = whole_blob(self._layout, self.get(artifact_id))
        if blob is None:
            raise not_found(artifact_id)
        return blob

    @contextmanager
    def scratch_dir(self) -> Iterator[Path]:
        with refusing_full("a working folder"):
            path = Path(tempfile.mkdtemp(dir=self._layout.tmp, prefix=owned_name("scratch-")))
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            mark_in_use(fd)
            yield path
        finally:
            try:
                remove_tree(path)
            finally:
                os.close(fd)

    def list(self) -> Iterator[Artifact]:
        now = time.time()
        live = [a for _, a in scan_meta(self._layout) if a is not None and not a.expired(now)]
        return iter(sorted(live, key=lambda a: (a.created, a.id)))

    # -- forgetting ------------------------------------------------------------------------

    def delete(self, artifact_id: str) -> None:
        """Forget the artifact; an expired one is freed too, but reported as not found."""
        artifact = read_meta(self._layout, artifact_id)
        with self._layout.writing(artifact.sha256):
            try:
                self._layout.meta_file(artifact.id).unlink()
            except FileNotFoundError:  # deleted meanwhile
                raise not_found(artifact_id) from None
            release(self._layout, artifact.sha256, artifact.id)
        if artifact.expired():
            raise not_found(artifact_id)

    def sweep(self, now: float | None = None) -> int:
        """Delete expired artifacts, then every blob, reference, cache entry and temporary file
        that no live artifact needs (the left-overs of crashes, too)."""
        return sweep_store(self._layout, time.time() if now is None else now)

    # -- result cache ----------------------------------------------------------------------

    def cache_get(self, key: str) -> builtins.list[str] | None:
        path = self._layout.cache_file(key)
        ids = load_ids(path)
        if ids is not None and all(self._is_live(artifact_id) for artifact_id in ids):
            return ids
        path.unlink(missing_ok=True)
        return None

    def cache_put(self, key: str, artifact_ids: builtins.list[str]) -> None:
        """Remember the result; on a full disk it is not remembered (the cache only saves work)."""
        path = self._layout.cache_file(key)
        try:
            self._write_json(path, {"artifacts": builtins.list(artifact_ids)})
        except OSError as exc:
            if not is_full(exc):
                raise

    def _is_live(self, artifact_id: str) -> bool:
        try:
            self.get(artifact_id)
        except ArtifactNotFound:
            return False
        return True
