"""``file://``: the default store — local disk, content-addressed, atomic, with expiry.

Layout under the root::

    blobs/ab/<sha256>     content, read-only, shared by every artifact with that content
    meta/<id>.json        one artifact's metadata, written last: an id is only ever visible complete
    refs/<sha256>/<id>    which artifacts use a blob, so that ``delete`` frees it without a scan
    cache/<key>.json      the result cache: a key and the ids of the artifacts it produced
    tmp/                  uploads being written and scratch directories (same filesystem: renames),
                          named after their owner process (:mod:`conversio.stores.owners`)
    locks/                ``flock`` files: ``store`` (writers share it, ``sweep`` holds it alone)
                          and one per blob shard (writers of blobs in that shard take turns)

Several processes may use one root at once. Content is written and hashed outside any lock;
only placing the blob, its reference and the metadata happen under the locks.

A full disk is ``INSUFFICIENT_STORAGE``, with nothing of the failed write left behind.
"""

from __future__ import annotations

import builtins
import errno
import fcntl
import json
import os
import shutil
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import parse_qs, unquote, urlsplit

from conversio.errors import ArtifactNotFound, InvalidOption
from conversio.stores.base import Artifact, Digest
from conversio.stores.common import (
    check_cache_key,
    check_ttl,
    copy_hashing,
    expires_at,
    is_artifact_id,
    is_sha256,
    new_artifact_id,
    not_found,
)
from conversio.stores.owners import owned_name, owner_gone
from conversio.stores.space import is_full, refusing_full

#: Entries of ``tmp/`` not in use whose owner process has died are left-overs of a crash;
#: so are those untouched for this long (made on another host, or leaked by a live process).
STALE_AFTER = 3600.0


#: From this size on, a file is copied by the kernel while this thread hashes it.
PARALLEL_COPY_BYTES = 1024 * 1024


class FilesystemStore:
    """Artifacts in a directory on the local disk (see the module docstring for the layout).

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
        self._blobs = self.root / "blobs"
        self._meta = self.root / "meta"
        self._refs = self.root / "refs"
        self._cache = self.root / "cache"
        self._tmp = self.root / "tmp"
        self._locks = self.root / "locks"
        for directory in (self._blobs, self._meta, self._refs, self._cache, self._tmp, self._locks):
            directory.mkdir(parents=True, exist_ok=True)
        self._device = self._tmp.stat().st_dev
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
            content = self._tmp / f"{owned_name('link-')}{new_artifact_id()}"
            os.link(source, content)
        try:
            with content.open("rb") as handle:
                fcntl.flock(handle.fileno(), fcntl.LOCK_SH)  # in use: sweep leaves it alone
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
                fcntl.flock(out.fileno(), fcntl.LOCK_SH)  # in use: sweep leaves it alone
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
            with os.fdopen(fd, "rb") as handle:
                fcntl.flock(handle.fileno(), fcntl.LOCK_SH)  # in use: sweep leaves it alone
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
        """Make ``content`` — a complete, synced file on the store's filesystem — an artifact:
        the blob first, then its reference, then the metadata that makes the id visible.
        A failure on the way (a full disk) undoes every part, so no id is left without its blob."""
        artifact_id = new_artifact_id()
        sha = digest.sha256
        with self._writing(sha):
            blob = self._blob_path(sha)
            placed = False
            try:
                if blob.exists():
                    content.unlink()
                else:
                    _make_dir(blob.parent, self.durable)
                    os.replace(content, blob)
                    placed = True
                    blob.chmod(0o444)
                    _fsync_dir(blob.parent, self.durable)
                ref = self._refs / sha / artifact_id
                _make_dir(ref.parent, self.durable)
                ref.touch(exist_ok=False)
                _fsync_dir(ref.parent, self.durable)
                created = time.time()
                artifact = Artifact(
                    id=artifact_id,
                    name=name,
                    format=format,
                    size=digest.size,
                    sha256=sha,
                    created=created,
                    expires=expires_at(created, ttl, self.default_ttl),
                )
                self._write_json(self._meta_path(artifact_id), artifact.to_dict())
            except BaseException:
                self._meta_path(artifact_id).unlink(missing_ok=True)
                (self._refs / sha / artifact_id).unlink(missing_ok=True)
                if placed:  # a new blob: no other artifact has it (the shard's lock is held)
                    blob.unlink(missing_ok=True)
                    with suppress(OSError):
                        (self._refs / sha).rmdir()
                raise
        return artifact

    def _can_rename(self, source: Path) -> bool:
        try:
            info = source.lstat()
        except FileNotFoundError:
            return False
        return stat.S_ISREG(info.st_mode) and info.st_nlink == 1 and info.st_dev == self._device

    def _write_json(self, path: Path, data: dict[str, Any]) -> None:
        """Replace ``path`` atomically with ``data`` as JSON, written in one piece."""
        content = json.dumps(data).encode()
        fd, tmp = self._new_tmp("json-")
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH)  # in use: sweep leaves it alone
                _write_all(fd, content)
                if self.durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(path.parent, self.durable)

    def _new_tmp(self, prefix: str) -> tuple[int, Path]:
        """A new, empty file under ``tmp/`` that only this call created, open for reading and writing.

        Its name is random (128 bits), so unlike :func:`tempfile.mkstemp` it needs no retry loop.
        """
        path = self._tmp / f"{owned_name(prefix)}{new_artifact_id()}"
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600), path

    # -- reading ---------------------------------------------------------------------------

    def get(self, artifact_id: str) -> Artifact:
        artifact = self._read_meta(artifact_id)
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
        artifact = self.get(artifact_id)
        blob = self._blob_path(artifact.sha256)
        try:
            whole = blob.stat().st_size == artifact.size
        except FileNotFoundError:
            whole = False
        if not whole:
            raise not_found(artifact_id)
        return blob

    @contextmanager
    def scratch_dir(self) -> Iterator[Path]:
        with refusing_full("a working folder"):
            path = Path(tempfile.mkdtemp(dir=self._tmp, prefix=owned_name("scratch-")))
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)  # in use: sweep leaves it alone
            yield path
        finally:
            try:
                _remove_tree(path)
            finally:
                os.close(fd)

    def list(self) -> Iterator[Artifact]:
        now = time.time()
        live = [a for _, a in self._scan_meta() if a is not None and not a.expired(now)]
        return iter(sorted(live, key=lambda a: (a.created, a.id)))

    def _read_meta(self, artifact_id: str) -> Artifact:
        """The metadata of ``artifact_id``, expired or not; ``FILE_NOT_FOUND`` if there is none."""
        if not is_artifact_id(artifact_id):
            raise not_found(artifact_id)
        artifact = _load_artifact(self._meta_path(artifact_id))
        if artifact is None or artifact.id != artifact_id:
            raise not_found(artifact_id)
        return artifact

    def _scan_meta(self) -> Iterator[tuple[Path, Artifact | None]]:
        """Every metadata file, with its artifact (``None``: not a valid metadata file)."""
        for path in _entries(self._meta):
            artifact_id = path.name.removesuffix(".json")
            artifact = _load_artifact(path) if is_artifact_id(artifact_id) else None
            yield path, (artifact if artifact is not None and artifact.id == artifact_id else None)

    # -- forgetting ------------------------------------------------------------------------

    def delete(self, artifact_id: str) -> None:
        """Forget the artifact; an expired one is freed too, but reported as not found."""
        artifact = self._read_meta(artifact_id)
        with self._writing(artifact.sha256):
            try:
                self._meta_path(artifact.id).unlink()
            except FileNotFoundError:  # deleted meanwhile
                raise not_found(artifact_id) from None
            self._release(artifact.sha256, artifact.id)
        if artifact.expired():
            raise not_found(artifact_id)

    def _release(self, sha: str, artifact_id: str) -> None:
        """Drop one reference to a blob; free the blob with the last one."""
        refs = self._refs / sha
        (refs / artifact_id).unlink(missing_ok=True)
        try:
            with os.scandir(refs) as others:
                if next(others, None) is not None:
                    return
            refs.rmdir()
        except FileNotFoundError:  # references lost in a crash: sweep decides from the metadata
            return
        self._blob_path(sha).unlink(missing_ok=True)

    def sweep(self, now: float | None = None) -> int:
        """Delete expired artifacts, then every blob, reference, cache entry and temporary file
        that no live artifact needs (the left-overs of crashes, too)."""
        now = time.time() if now is None else now
        deleted = 0
        live: dict[str, str] = {}
        with _flocked(self._locks / "store", fcntl.LOCK_EX):
            for path, artifact in self._scan_meta():
                if artifact is not None and not artifact.expired(now):
                    live[artifact.id] = artifact.sha256
                    continue
                path.unlink(missing_ok=True)
                deleted += artifact is not None
            self._sweep_refs(live)
            self._sweep_blobs(set(live.values()))
            self._sweep_cache(live)
            self._sweep_tmp(now)
        return deleted

    def _sweep_refs(self, live: dict[str, str]) -> None:
        for shard in _entries(self._refs):
            if not shard.is_dir() or shard.is_symlink():
                shard.unlink()
                continue
            for ref in _entries(shard):
                if live.get(ref.name) != shard.name:
                    ref.unlink()
            if not _entries(shard):
                shard.rmdir()
        for artifact_id, sha in live.items():  # repair references a crash lost
            ref = self._refs / sha / artifact_id
            if not ref.exists():
                _make_dir(ref.parent, self.durable)
                ref.touch()

    def _sweep_blobs(self, used: set[str]) -> None:
        for shard in _entries(self._blobs):
            if not shard.is_dir() or shard.is_symlink():
                shard.unlink()
                continue
            for blob in _entries(shard):
                if blob.name not in used:
                    blob.unlink()

    def _sweep_cache(self, live: dict[str, str]) -> None:
        for path in _entries(self._cache):
            ids = _load_ids(path)
            if ids is None or any(artifact_id not in live for artifact_id in ids):
                path.unlink(missing_ok=True)

    def _sweep_tmp(self, now: float) -> None:
        for path in _entries(self._tmp):
            try:
                age = now - path.lstat().st_mtime
            except FileNotFoundError:
                continue
            if (age > STALE_AFTER or owner_gone(path.name)) and not _in_use(path):
                if path.is_dir() and not path.is_symlink():
                    _remove_tree(path)
                else:
                    path.unlink(missing_ok=True)

    # -- result cache ----------------------------------------------------------------------

    def cache_get(self, key: str) -> builtins.list[str] | None:
        path = self._cache / f"{check_cache_key(key)}.json"
        ids = _load_ids(path)
        if ids is not None and all(self._is_live(artifact_id) for artifact_id in ids):
            return ids
        path.unlink(missing_ok=True)
        return None

    def cache_put(self, key: str, artifact_ids: builtins.list[str]) -> None:
        """Remember the result; on a full disk it is not remembered (the cache only saves work)."""
        path = self._cache / f"{check_cache_key(key)}.json"
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

    # -- places and locks ------------------------------------------------------------------

    def _blob_path(self, sha: str) -> Path:
        return self._blobs / sha[:2] / sha

    def _meta_path(self, artifact_id: str) -> Path:
        return self._meta / f"{artifact_id}.json"

    @contextmanager
    def _writing(self, sha: str) -> Iterator[None]:
        """Writers share the store lock, and take turns on the lock of the blob's shard."""
        with (
            _flocked(self._locks / "store", fcntl.LOCK_SH),
            _flocked(self._locks / f"shard-{sha[:2]}", fcntl.LOCK_EX),
        ):
            yield


@contextmanager
def _flocked(path: Path, operation: int) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, operation)
        yield
    finally:
        os.close(fd)


def _in_use(path: Path) -> bool:
    """Whether a live process holds the ``flock`` that marks a temporary entry as in use."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _write_all(fd: int, content: bytes) -> None:
    """Write all of ``content`` to ``fd`` (``os.write`` may write less than asked)."""
    view = memoryview(content)
    while view:
        view = view[os.write(fd, view) :]


def _load_artifact(path: Path) -> Artifact | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        artifact = Artifact(**data)
    except (FileNotFoundError, NotADirectoryError, ValueError, TypeError):
        return None
    return artifact if is_sha256(artifact.sha256) else None


def _load_ids(path: Path) -> builtins.list[str] | None:
    try:
        ids = json.loads(path.read_text(encoding="utf-8"))["artifacts"]
    except (FileNotFoundError, NotADirectoryError, ValueError, TypeError, KeyError):
        return None
    if not isinstance(ids, builtins.list) or not all(isinstance(i, str) for i in ids):
        return None
    return ids


def _entries(directory: Path) -> builtins.list[Path]:
    try:
        with os.scandir(directory) as entries:
            return [Path(entry.path) for entry in entries]
    except FileNotFoundError:
        return []


def _make_dir(path: Path, sync: bool) -> None:
    """Create ``path`` (one level), if it is missing; with ``sync`` durably."""
    if not path.is_dir():
        path.mkdir(exist_ok=True)
        _fsync_dir(path.parent, sync)


def _fsync_dir(path: Path, sync: bool) -> None:
    if not sync:
        return
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_tree(path: Path) -> None:
    """``rmtree``, also when a converter left read-only directories behind."""
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        return
    except PermissionError:
        _make_writable(path)
        shutil.rmtree(path, ignore_errors=True)


def _make_writable(directory: Path) -> None:
    directory.chmod(0o700)
    for entry in _entries(directory):
        if entry.is_dir() and not entry.is_symlink():
            _make_writable(entry)
