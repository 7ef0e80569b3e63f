"""The synchronous client (:class:`Client`) on httpx."""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from typing import Any, Literal, overload

import httpx

from conversio.client._protocol import (
    Attempts,
    EventParser,
    JobSpec,
    Step,
    as_form,
    convert_fields,
    failure,
    file_id,
    filename,
    is_local,
    job_body,
    job_id,
    listed,
    open_upload,
    reference,
)
from conversio.client.errors import JobFailed, TransportError, WaitTimeout
from conversio.client.models import (
    POLL_SCHEDULE,
    BatchInfo,
    FileId,
    FileResult,
    Input,
    Job,
    StoredFile,
    poll_interval,
    zipped,
)
from conversio.client.retry import SAFE_METHODS, RetryPolicy, parse_retry_after

#: Builds the keyword arguments of one try of a request (files are opened again on every try).
MakeRequest = Callable[[ExitStack], dict[str, Any]]


class Client:
    """A conversio server at ``base_url``, with ``api_key`` (none for a server in development mode).

    Use it as a context manager, or call :meth:`close`. ``retry`` says how requests are tried again;
    ``poll_schedule`` how often :meth:`wait` looks at a job.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        poll_schedule: Sequence[tuple[float, float]] = POLL_SCHEDULE,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )
        self.retry = retry or RetryPolicy()
        self.poll_schedule = tuple(poll_schedule)
        self._sleep = sleep

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- requests --------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        make: MakeRequest | None = None,
        idempotent: bool | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """Send with retries; an error answer raises its typed :class:`~conversio.client.ApiError`."""
        safe = method in SAFE_METHODS if idempotent is None else idempotent
        attempts = Attempts(self.retry, retry_on_disconnect=safe)
        while True:
            with ExitStack() as stack:
                kwargs = make(stack) if make is not None else {}
                try:
                    request = self.http.build_request(method, path, **kwargs)
                    response = self.http.send(request, stream=stream)
                except httpx.TransportError as exc:
                    wait = attempts.after_disconnect()
                    if wait is None:
                        raise TransportError(f"{method} {path}: {exc}") from exc
                    self._sleep(wait)
                    continue
            if response.status_code < 400:
                return response
            body = response.read()
            response.close()
            wait = attempts.after_answer(
                response.status_code, parse_retry_after(response.headers.get("retry-after"))
            )
            if wait is None:
                raise failure(response.status_code, body, response.headers)
            self._sleep(wait)

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.request(method, path, **kwargs).json()

    # -- stored files ----------------------------------------------------------------------------
    def upload(self, file: Input, name: str | None = None) -> StoredFile:
        """Store a local file (a path, bytes or ``(name, bytes)``) on the server, streamed."""

        def make(stack: ExitStack) -> dict[str, Any]:
            filename_, content = open_upload(file, stack, name)
            return {"files": [("file", (filename_, content, "application/octet-stream"))]}

        return StoredFile.from_json(self._json("POST", "/v1/files", make=make)["files"][0])

    def get_file(self, file: StoredFile | FileId | str) -> StoredFile:
        return StoredFile.from_json(self._json("GET", f"/v1/files/{file_id(file)}"))

    def download(
        self, file: StoredFile | FileId | str, path: str | os.PathLike[str] | None = None
    ) -> FileResult:
        """A stored file's content (saved to ``path`` too when given: a file, or a folder for its name)."""
        response = self.request("GET", f"/v1/files/{file_id(file)}/content")
        fallback = file.name if isinstance(file, StoredFile) else file_id(file)
        result = FileResult(
            filename(response.headers, fallback), response.headers.get("content-type", ""), response.content
        )
        if path is not None:
            result.save(path)
        return result

    def delete_file(self, file: StoredFile | FileId | str) -> None:
        self.request("DELETE", f"/v1/files/{file_id(file)}")

    # -- synchronous conversion ------------------------------------------------------------------
    @overload
    def convert(
        self,
        inputs: Input | Sequence[Input],
        to: str | None = ...,
        *,
        via: Sequence[str] = ...,
        then: Sequence[Step] = ...,
        options: Mapping[str, Any] | None = ...,
        store: Literal[False] = ...,
        timeout: float = ...,
    ) -> FileResult: ...

    @overload
    def convert(
        self,
        inputs: Input | Sequence[Input],
        to: str | None = ...,
        *,
        via: Sequence[str] = ...,
        then: Sequence[Step] = ...,
        options: Mapping[str, Any] | None = ...,
        store: Literal[True],
        timeout: float = ...,
    ) -> list[StoredFile]: ...

    def convert(
        self,
        inputs: Input | Sequence[Input],
        to: str | None = None,
        *,
        via: Sequence[str] = (),
        then: Sequence[Step] = (),
        options: Mapping[str, Any] | None = None,
        store: bool = False,
        timeout: float = 600.0,
    ) -> FileResult | list[StoredFile]:
        """Convert ``inputs`` to ``to`` (then the ``then`` steps) and answer the result: the file (a zip
        for several), or with ``store=True`` the stored results. A conversion that outlives the server's
        sync limit is waited for (at most ``timeout`` seconds) as the job it became."""
        items = listed(inputs)
        fields = convert_fields(to, via, then, options or {}, store)
        if all(is_local(i) for i in items):

            def make(stack: ExitStack) -> dict[str, Any]:
                files = [("file", (*open_upload(i, stack), "application/octet-stream")) for i in items]
                return {"data": as_form(fields), "files": files}

        else:
            body = {"inputs": self._references(items), **fields}

            def make(stack: ExitStack) -> dict[str, Any]:
                return {"json": body}

        response = self.request("POST", "/v1/convert", make=make)
        if response.status_code == 202:
            job = self.wait(response.json()["jobId"], timeout)
            if store:
                return list(job.outputs)
            results = [self.download(o) for o in job.outputs]
            return results[0] if len(results) == 1 else zipped(results, "results.zip")
        if store:
            return [StoredFile.from_json(f) for f in response.json()["files"]]
        return FileResult(
            filename(response.headers, "result"), response.headers.get("content-type", ""), response.content
        )

    # -- jobs ------------------------------------------------------------------------------------
    def create_job(
        self,
        inputs: Input | Sequence[Input],
        to: str | None = None,
        *,
        via: Sequence[str] = (),
        then: Sequence[Step] = (),
        options: Mapping[str, Any] | None = None,
        webhook: str | None = None,
        tag: str | None = None,
        output_url: str | None = None,
        idempotency_key: str | None = None,
    ) -> Job:
        """Queue a job (local inputs are uploaded first). An ``Idempotency-Key`` (made up when not
        given) makes a retried submission return the same job."""
        spec = JobSpec(listed(inputs), to, via, then, options or {}, tag, output_url)
        body = job_body(spec, self._references(spec.inputs), webhook)
        key = idempotency_key or secrets.token_urlsafe(18)

        def make(stack: ExitStack) -> dict[str, Any]:
            return {"json": body, "headers": {"Idempotency-Key": key}}

        return self.get_job(self._json("POST", "/v1/jobs", make=make, idempotent=True)["jobId"])

    def get_job(self, job: Job | str) -> Job:
        return Job.from_json(self._json("GET", f"/v1/jobs/{job_id(job)}"))

    def list_jobs(
        self, *, status: str | None = None, tag: str | None = None, since: str | None = None, limit: int = 100
    ) -> list[Job]:
        params = {k: v for k, v in {"status": status, "tag": tag, "since": since}.items() if v is not None}

        def make(stack: ExitStack) -> dict[str, Any]:
            return {"params": {**params, "limit": limit}}

        return [Job.from_json(j) for j in self._json("GET", "/v1/jobs", make=make)["jobs"]]

    def cancel(self, job: Job | str) -> Job:
        return Job.from_json(self._json("DELETE", f"/v1/jobs/{job_id(job)}"))

    def retry_job(self, job: Job | str) -> Job:
        """Queue a failed or cancelled job again (it resumes at the step that failed)."""
        self.request("POST", f"/v1/jobs/{job_id(job)}/retry")
        return self.get_job(job)

    def wait(self, job: Job | str, timeout: float = 600.0, *, check: bool = True) -> Job:
        """Poll until the job finishes (at the ``poll_schedule``); :class:`JobFailed` when it failed or was
        cancelled (unless ``check=False``), :class:`WaitTimeout` after ``timeout`` seconds."""
        started = time.monotonic()
        current = self.get_job(job)
        while not current.finished:
            waited = time.monotonic() - started
            if waited >= timeout:
                raise WaitTimeout(
                    f"job {current.id} still {current.status} after {timeout:g} s", job_ids=[current.id]
                )
            self._sleep(min(poll_interval(waited, self.poll_schedule), timeout - waited))
            current = self.get_job(current.id)
        if check and current.status != "completed":
            raise JobFailed(current)
        return current

    def events(self, job: Job | str) -> Iterator[tuple[str, Job]]:
        """The job's live events (``processing``, ``progress``, … ``completed``) until it finishes."""
        response = self.request("GET", f"/v1/jobs/{job_id(job)}/events", stream=True)
        parser = EventParser()
        try:
            for line in response.iter_lines():
                event = parser.feed(line)
                if event is not None:
                    yield event[0], Job.from_json(json.loads(event[1]))
        finally:
            response.close()

    # -- batches ---------------------------------------------------------------------------------
    def batch(
        self,
        jobs: Sequence[JobSpec],
        *,
        webhook: str | None = None,
        callback_mode: Literal["job", "batch", "both"] = "both",
        tag: str | None = None,
        idempotent: bool = False,
    ) -> Batch:
        """Queue several jobs at once; :meth:`Batch.wait_all` waits for every one."""
        body: dict[str, Any] = {
            "jobs": [job_body(spec, self._references(spec.inputs)) for spec in jobs],
            "callbackMode": callback_mode,
        }
        if webhook:
            body["webhook"] = webhook
        if tag:
            body["tag"] = tag

        def make(stack: ExitStack) -> dict[str, Any]:
            return {"json": body}

        return Batch(
            self, BatchInfo.from_json(self._json("POST", "/v1/batch", make=make, idempotent=idempotent))
        )

    def get_batch(self, batch: Batch | str) -> BatchInfo:
        return BatchInfo.from_json(
            self._json("GET", f"/v1/batch/{batch if isinstance(batch, str) else batch.id}")
        )

    def _references(self, inputs: Sequence[Input]) -> list[dict[str, Any]]:
        return [reference(self.upload(i) if is_local(i) else i) for i in inputs]


class Batch:
    """A submitted batch: its id and jobs."""

    def __init__(self, client: Client, info: BatchInfo) -> None:
        self.client, self.info = client, info

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def job_ids(self) -> tuple[str, ...]:
        return self.info.job_ids

    def wait_all(self, timeout: float = 600.0) -> list[Job]:
        """Every job of the batch once all have finished (failed ones included: look at their status);
        :class:`WaitTimeout` after ``timeout`` seconds."""
        started = time.monotonic()
        while True:
            self.info = self.client.get_batch(self.id)
            waited = time.monotonic() - started
            if self.info.finished:
                return [self.client.get_job(j) for j in self.job_ids]
            if waited >= timeout:
                raise WaitTimeout(
                    f"batch {self.id} not finished after {timeout:g} s", job_ids=list(self.job_ids)
                )
            self.client._sleep(min(poll_interval(waited, self.client.poll_schedule), timeout - waited))
