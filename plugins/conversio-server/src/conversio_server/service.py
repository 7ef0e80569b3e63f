"""The application's state and the work behind the routes: storing inputs, planning and running
conversions, describing stored files. One ``Server`` lives as long as the app."""

from __future__ import annotations

import base64
import binascii
import functools
import logging
import os
import re
import secrets
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import urlencode, urlsplit

import attrs

from conversio.api import Result, unique_name
from conversio.converters import safe_filename, safe_relpath
from conversio.errors import Cancelled, ConversioError, NoRoute, UnsupportedFormat, listed
from conversio.formats import ANY
from conversio.ingest import Arriving, settled
from conversio.stores.base import Artifact
from conversio.stores.common import not_found
from conversio.stores.space import refusing_full
from conversio_server import signing
from conversio_server.auth import Guard, Principal
from conversio_server.errors import ApiError
from conversio_server.jobstore import CANCELLED, COMPLETED, FAILED, JobStore, NewJob
from conversio_server.leases import JobProgress, LeaseKeeper
from conversio_server.metrics import Metrics
from conversio_server.models import StepSpec
from conversio_server.outbound import OutboundClient
from conversio_server.ownership import FileOwners, claim, claim_result, step_artifacts
from conversio_server.runner import ConversionRunner
from conversio_server.settings import ServerSettings
from conversio_server.uploads import too_large

if TYPE_CHECKING:
    from conversio.api import Conversio, Conversion

log = logging.getLogger("conversio_server.service")
A = TypeVar("A")


#: Paths of this server's stored files; a URL input matching one is used without downloading it.
#: The native links and the ConvertAPI download links (``/d/{id}/{name}``), under any path prefix
#: (a server published below one).
OWN_FILE_PATHS: tuple[re.Pattern[str], ...] = (
    re.compile(r"(?:/.*)?/v1/files/(?P<id>[A-Za-z0-9_-]{1,128})(?:/content)?"),
    re.compile(r"(?:/.*)?/d/(?P<id>[A-Za-z0-9_-]{1,128})(?:/[^/]*)?"),
)


def iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@attrs.frozen
class Order:
    """What a client asked for: inputs, a target, waypoints, options, further steps."""

    #: stored, or on their way into the store (:meth:`Server.arriving`)
    inputs: tuple[Artifact | Arriving, ...]
    target: str | None
    via: tuple[str, ...] = ()
    options: dict[str, Any] = attrs.field(factory=dict)
    then: tuple[StepSpec, ...] = ()
    store: bool = False

    def spec(self) -> dict[str, Any]:
        """The order as a durable job's spec (inputs by stored id; blocks until they are stored)."""
        inputs = [settled(a) for a in self.inputs]
        first = inputs[0]
        return {
            "inputs": [a.id for a in inputs],
            "outputFormat": self.target,
            "via": list(self.via),
            "options": dict(self.options),
            "then": [s.model_dump() for s in self.then],
            "inputSize": sum(a.size for a in inputs),
            "input": {"filename": first.name, "format": first.format, "size": first.size},
        }


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
    """Settings, the conversio instance, metrics, jobs and the conversion runner of one app."""

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
        #: Stores uploads while their conversion may start on the scratch file (:meth:`arriving`).
        self._storing = ThreadPoolExecutor(max_workers=4, thread_name_prefix="conversio-server-store")
        self._scratch = ExitStack()
        #: Where requests write their temporary files (uploads, bundles): on the store's filesystem,
        #: kept for the server's life (a folder a request, made and removed, costs more than its files).
        self.scratch_folder = self._scratch.enter_context(self.store.scratch_dir())
        self.secret = settings.signing_secret or signing.load_or_create_secret(
            signing.secret_path_for(settings.database_url, settings.data_dir)
        )
        self.outbound = OutboundClient(settings.outbound)
        self.jobstore = JobStore(settings.database_url, wake_workers=settings.job_wake_dir)
        #: Which key owns each stored file (:mod:`conversio_server.ownership`).
        self.owners = FileOwners(settings.database_url)
        #: The lease owner of synchronous conversions that became jobs; their keepers, to join on close.
        self.name = f"server-{os.getpid()}-{secrets.token_hex(3)}"
        self._keepers: set[threading.Thread] = set()
        self._closing = threading.Event()

    def close(self) -> None:
        self._closing.set()
        for keeper in list(self._keepers):
            keeper.join(timeout=10)
        self.jobstore.close()
        self.owners.close()
        self.runner.close()
        self.guard.close()
        self.outbound.close()
        self._storing.shutdown(wait=True)
        self._scratch.close()

    def sweep(self) -> int:
        """Delete expired files and their owners' records (blocking); returns how many went."""
        deleted = self.store.sweep()
        listed = time.time()
        self.owners.prune({a.id for a in self.store.list()}, listed)
        return deleted

    # -- signed links --------------------------------------------------------------------------
    def signed_query(self, artifact: Artifact) -> str:
        """``expires=…&signature=…`` for a download link of ``artifact`` (never past its own expiry)."""
        expires = int(time.time() + self.settings.signed_url_ttl)
        if artifact.expires is not None:
            expires = min(expires, int(artifact.expires))
        return urlencode({"expires": expires, "signature": signing.sign(artifact.id, expires, self.secret)})

    def check_signature(self, file_id: str, expires: int | None, signature: str | None) -> None:
        """``UNAUTHORIZED`` unless the link is signed for ``file_id`` and not expired."""
        if expires is None or signature is None:
            raise ApiError("UNAUTHORIZED", "a signed link needs both 'expires' and 'signature'")
        if not signing.verify(file_id, expires, signature, self.secret):
            raise ApiError("UNAUTHORIZED", "the link's signature is invalid or the link has expired")

    # -- storing inputs ------------------------------------------------------------------------
    def store_file(self, path: Path, filename: str) -> Artifact:
        """Sniff and store a local file (moved into the store); unrecognised content is ``bin``.

        Blocking: call from a thread.
        """
        name, fmt = self._sniffed(path, filename)
        return self.store.put_file(path, name=name, format=fmt, move=True)

    def arriving(self, path: Path, filename: str) -> Arriving:
        """An upload, sniffed (unrecognised content is ``bin``), on its way into the store (hashed,
        and linked: no copy) while a conversion may start on ``path``
        (:meth:`~conversio.api.Conversio.arriving`). The caller keeps ``path`` until it is stored
        (:func:`~conversio_server.inputs.stored`) and never writes it again.

        Blocking: call from a thread.
        """
        name = safe_filename(filename or "file")
        [upload] = self.conversio.arriving(
            [path], names=[name], pool=self._storing, owned=True, unknown="bin"
        )
        return upload

    def _sniffed(self, path: Path, filename: str) -> tuple[str, str]:
        """The safe name and the format of a local file; unrecognised content is ``bin``."""
        name = safe_filename(filename or "file")
        try:
            return name, self.conversio.sniff(path, name=name).format
        except UnsupportedFormat:
            return name, "bin"

    def store_base64(self, data: str, filename: str | None, path: Path, max_bytes: int) -> Artifact:
        """Decode base64 content to a file and store it. Blocking."""
        if len(data) > (max_bytes // 3 + 1) * 4 + 4:
            raise too_large(max_bytes)
        try:
            content = base64.b64decode("".join(data.split()), validate=True)
        except (binascii.Error, ValueError):
            raise ApiError("INVALID_REQUEST", "an input's base64 content is not valid base64") from None
        if len(content) > max_bytes:
            raise too_large(max_bytes)
        path.write_bytes(content)
        self.metrics.bytes_in.inc(len(content))
        return self.store_file(path, filename or "file")

    def get(self, file_id: str) -> Artifact:
        """A stored file's metadata; ``FILE_NOT_FOUND`` (404) if unknown or expired."""
        return self.store.get(file_id)

    # -- tenancy -------------------------------------------------------------------------------
    def file_for(self, principal: Principal, file_id: str) -> Artifact:
        """A stored file the principal owns (``admin`` keys: any); another key's file is
        ``FILE_NOT_FOUND`` (404) exactly as an unknown one, after the same two look-ups. Blocking."""
        if "admin" in principal.scopes:  # sees every file (development mode's principal too)
            return self.store.get(file_id)
        owner = self.owners.owner_of(file_id)
        artifact = self.store.get(file_id)
        if owner != principal.key_id:
            raise not_found(file_id)
        return artifact

    def delete_for(self, principal: Principal, file_id: str) -> None:
        """Delete a stored file the principal owns (as :meth:`file_for`). Blocking."""
        artifact = self.file_for(principal, file_id)
        self.store.delete(artifact.id)
        self.owners.forget(artifact.id)

    def own(self, principal: Principal, artifacts: Sequence[Artifact]) -> list[Artifact]:
        """Record files the principal stored or produced as its own; a result another key owns is
        stored again under a new id (:func:`~conversio_server.ownership.claim`). Blocking."""
        return claim(self.store, self.owners, principal.key_id, artifacts)

    def own_file_id(self, url: str, base_urls: Sequence[str]) -> str | None:
        """The id when ``url`` points at one of this server's stored files."""
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a malformed port
        except ValueError:
            return None
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        if origin not in {
            urlsplit(b)._replace(path="", query="", fragment="").geturl().lower() for b in base_urls
        }:
            return None
        for pattern in OWN_FILE_PATHS:
            match = pattern.fullmatch(parts.path)
            if match:
                return match.group("id")
        return None

    def fetch_url(self, url: str, name: str | None, folder: Path, max_bytes: int) -> Artifact:
        """Fetch ``url`` through the outbound client (SSRF-safe) under ``folder`` and store it. Blocking."""
        fetched = self.outbound.fetch_to_file(url, folder, max_bytes=max_bytes)
        self.metrics.bytes_in.inc(fetched.size)
        return self.store_file(fetched.path, name or fetched.name)

    # -- conversions ---------------------------------------------------------------------------
    def conversion(self, order: Order) -> Conversion:
        """The chain for ``order``, checked against the router before anything runs.

        A pair no route connects is ``UNSUPPORTED_FORMAT`` listing the formats that do convert to the
        target; an unknown target format lists the formats conversio can produce.
        """
        if not order.inputs:
            raise ApiError("INVALID_REQUEST", "give at least one input file")
        if order.target is None and not order.then:
            raise ApiError("INVALID_REQUEST", "give an outputFormat, or steps in 'then'")
        if order.target is not None:
            self._check_format(order.target)
        conversion = self.conversio.convert(
            list(order.inputs), order.target, via=order.via, options=order.options
        )
        for step in order.then:
            if "via" in step.options:
                raise ApiError("INVALID_REQUEST", "a step's waypoints go in its 'via', not in its options")
            conversion = conversion.then(step.step, via=step.via, **step.options)
        formats = [a.format for a in order.inputs]
        try:
            self.conversio.engine.plan(formats, conversion.stages, conversion.preferences)
        except NoRoute as exc:
            if "operation" in exc.details:
                raise
            raise self._unsupported_pair(exc, order.inputs) from None
        return conversion

    def _check_format(self, name: str) -> None:
        if name not in self.conversio.registry.formats:
            raise ApiError(
                "UNSUPPORTED_FORMAT",
                f"unknown output format {name!r}",
                details={"outputFormat": name, "supportedOutputFormats": self.output_formats()},
            )

    def _unsupported_pair(self, exc: NoRoute, inputs: Sequence[Artifact | Arriving]) -> ApiError:
        """A pair no route connects, naming the user's files; unrecognised content (``bin``) says why
        in the words of sniffing (unknown content, or a name that disagrees with it)."""
        source, target = str(exc.details.get("source", "")), str(exc.details.get("target", ""))
        via = exc.details.get("via") or []
        details: dict[str, Any] = {
            "inputFormat": source,
            "outputFormat": target,
            "via": via,
            "supportedInputFormats": self.input_formats(target),
            "suggestions": exc.details.get("suggestions") or [],
        }
        files = [i for i in inputs if source == ANY or i.format == source] or list(inputs)
        details["files"] = [i.name for i in files]
        unread = self._why_unread(files) if source == "bin" else None
        if unread is not None:
            return ApiError(
                unread.code,
                unread.message,
                details={**details, **{k: v for k, v in unread.details.items() if k != "supported"}},
            )
        shown = "this mix of formats" if source == ANY else source
        why = f"no converter turns {shown} into {target}"
        return ApiError(
            "UNSUPPORTED_FORMAT",
            f"{listed(i.name for i in files)} cannot be converted to {target}"
            + (f" via {', '.join(via)}" if via else "")
            + f": {why}",
            details=details,
        )

    def _why_unread(self, inputs: Sequence[Artifact | Arriving]) -> ConversioError | None:
        """Sniffing's own error about the first input it cannot read (blocking: reads its head)."""
        for item in inputs:
            try:
                if isinstance(item, Arriving):
                    self.conversio.sniff(item.path, name=item.name)
                else:
                    with self.store.local_path(item.id) as path:
                        self.conversio.sniff(path, name=item.name)
            except UnsupportedFormat as exc:
                return exc
            except (ConversioError, OSError):
                continue
        return None

    @functools.lru_cache(maxsize=256)  # noqa: B019 - the Server lives as long as the app
    def input_formats(self, target: str) -> list[str]:
        """Formats some route converts to ``target``."""
        return self.conversio.router.sources_for(target)

    @functools.lru_cache(maxsize=1)  # noqa: B019
    def output_formats(self) -> list[str]:
        """Formats some converter produces."""
        return sorted({c.target for c in self.conversio.registry.converters.values()} - {ANY})

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
            conversion = self.conversion(made)
            guard.consume_conversions(principal)
            try:
                guard.acquire_job(principal)
            except BaseException:
                guard.refund_conversions(principal)
                raise
            try:
                result = self.execute(conversion, progress, cancel)
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

    def execute(self, conversion: Conversion, progress: JobProgress, cancel: threading.Event) -> Result:
        """Run ``conversion`` (blocking; on a runner thread), recording metrics."""
        formats = [a.format for a in conversion.inputs]
        source = formats[0] if len(set(formats)) == 1 else "mixed"
        target = _target_of(conversion)
        started = time.monotonic()
        try:
            routes = self.conversio.engine.plan(formats, conversion.stages, conversion.preferences)
            progress.planned = max(1, sum(len(r.steps) for r in routes))
            result = conversion.run(on_event=progress.observe, cancel=cancel)
            if cancel.is_set():
                raise Cancelled("the conversion was cancelled")
        except ConversioError as exc:
            self.metrics.conversions.labels(source, target, exc.code).inc()
            raise
        except Exception:
            self.metrics.conversions.labels(source, target, "INTERNAL_ERROR").inc()
            raise
        self.metrics.conversions.labels(source, target, "ok").inc()
        self.metrics.duration.labels(source, target).observe(time.monotonic() - started)
        return result

    def hand_off(
        self, running: Running[Any], order: Order, principal: Principal, leftovers: Sequence[Path] = ()
    ) -> dict[str, Any]:
        """Make a synchronous conversion that outlived the sync limit a durable job (blocking).

        The conversion goes on here under a lease this server renews; ``DELETE /v1/jobs/{id}`` stops it,
        and if the server dies a worker runs the job again once the lease expires. ``leftovers`` (the
        request's uploads, which the conversion may still read) are removed when it ends.
        """
        row = self.jobstore.adopt(
            NewJob(spec=order.spec(), key_id=principal.key_id),
            self.name,
            self.settings.job_lease,
            running.started,
        )
        keeper = threading.Thread(
            target=self._keep, args=(row["id"], running, leftovers), name=f"keep-{row['id']}", daemon=True
        )
        self._keepers.add(keeper)
        keeper.start()
        return row

    def queue(self, order: Order, principal: Principal) -> dict[str, Any]:
        """Make a synchronous conversion still waiting for a place at the sync limit a queued job, for
        the job workers to run (blocking). It is checked and counted against the quota as
        ``POST /v1/jobs`` would; beyond the job queue's limits 429 or 503."""
        self.conversion(order)
        new = NewJob(spec=order.spec(), key_id=principal.key_id, max_running=principal.tier.concurrent_jobs)
        self.guard.consume_conversions(principal)
        try:
            (row,) = self.jobstore.create(
                [new], limits=(self.settings.max_jobs_per_key, self.settings.max_queued_jobs)
            )
        except BaseException:
            self.guard.refund_conversions(principal)
            raise
        return row

    def _keep(self, job_id: str, running: Running[Any], leftovers: Sequence[Path]) -> None:
        store, progress = self.jobstore, running.progress
        try:
            with LeaseKeeper(store, self.settings, job_id, self.name, progress, running.cancel) as lease:
                try:
                    result = _wait(running, self._closing)
                except Cancelled:
                    if self._closing.is_set() and not lease.lost.is_set():
                        store.release(job_id, self.name)  # shutting down: a worker runs it again
                    elif not lease.lost.is_set():
                        store.finish(job_id, self.name, CANCELLED, steps=progress.snapshot())
                    return
                except ConversioError as exc:
                    error = exc.to_dict()
                except Exception:
                    error = {
                        "code": "INTERNAL_ERROR",
                        "message": "an unexpected error occurred",
                        "details": {},
                    }
                else:
                    outputs = [{"artifactId": a.id, "deliveredTo": None} for a in result.artifacts]
                    store.finish(
                        job_id,
                        self.name,
                        COMPLETED,
                        outputs=outputs,
                        steps=progress.snapshot(),
                        warnings=result.warnings,
                    )
                    return
                store.finish(job_id, self.name, FAILED, steps=progress.snapshot(), error=error)
        except Exception:
            log.exception("recording the outcome of job %s failed", job_id)
        finally:
            for path in leftovers:
                path.unlink(missing_ok=True)
            self._keepers.discard(threading.current_thread())

    # -- describing ----------------------------------------------------------------------------
    def describe(self, artifact: Artifact, base_url: str) -> dict[str, Any]:
        """A stored file as the API shows it, with its links (``downloadUrl`` signed)."""
        file_url = f"{base_url}/v1/files/{artifact.id}"
        return {
            "id": artifact.id,
            "name": artifact.name,
            "format": artifact.format,
            "size": artifact.size,
            "sha256": artifact.sha256,
            "createdAt": iso(artifact.created),
            "expiresAt": iso(artifact.expires),
            "url": file_url,
            "contentUrl": f"{file_url}/content",
            "downloadUrl": f"{file_url}/content?{self.signed_query(artifact)}",
        }

    def media_type(self, fmt: str) -> str:
        try:
            return self.conversio.registry.formats.get(fmt).media_type
        except ConversioError:
            return "application/octet-stream"

    def write_zip(self, artifacts: Sequence[Artifact], folder: Path) -> Path:
        """A zip of the artifacts in a new file in ``folder`` (the caller removes it); on a full disk
        ``INSUFFICIENT_STORAGE``, with no half-written zip left. Blocking."""
        with refusing_full("the zip of the results"):
            fd, zip_path = tempfile.mkstemp(dir=folder, prefix="bundle-", suffix=".zip")
        used: set[str] = set()
        try:
            with (
                refusing_full("the zip of the results"),
                os.fdopen(fd, "wb") as handle,
                zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive,
            ):
                for artifact in artifacts:
                    member = unique_name(safe_relpath(artifact.name), used)
                    info = zipfile.ZipInfo(member, time.gmtime(artifact.created)[:6])
                    info.compress_type = zipfile.ZIP_DEFLATED
                    with self.store.open(artifact.id) as source, archive.open(info, "w") as target:
                        while chunk := source.read(1 << 20):
                            target.write(chunk)
        except BaseException:
            Path(zip_path).unlink(missing_ok=True)
            raise
        return Path(zip_path)


def _target_of(conversion: Conversion) -> str:
    stage = conversion.stages[-1] if conversion.stages else None
    return str(getattr(stage, "target", None) or getattr(stage, "name", None) or "none")


def _wait(running: Running[Any], closing: threading.Event) -> Result:
    """The conversion's result; on ``closing`` its work is stopped (then ``Cancelled``)."""
    while True:
        try:
            return running.future.result(timeout=0.2).result
        except TimeoutError:
            if closing.is_set():
                running.cancel.set()
