"""The asynchronous client: the methods of :class:`~conversio.client.Client` as coroutines."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import ExitStack
from typing import Any, Literal

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
from conversio.client.sync import MakeRequest


class AsyncClient:
    """The asynchronous twin of :class:`~conversio.client.Client` (same arguments, same methods)."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        poll_schedule: Sequence[tuple[float, float]] = POLL_SCHEDULE,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )
        self.retry = retry or RetryPolicy()
        self.poll_schedule = tuple(poll_schedule)
        self._sleep = sleep

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        make: MakeRequest | None = None,
        idempotent: bool | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        safe = method in SAFE_METHODS if idempotent is None else idempotent
        attempts = Attempts(self.retry, retry_on_disconnect=safe)
        while True:
            with ExitStack() as stack:
                kwargs = make(stack) if make is not None else {}
                try:
                    request = self.http.build_request(method, path, **kwargs)
                    response = await self.http.send(request, stream=stream)
                except httpx.TransportError as exc:
                    wait = attempts.after_disconnect()
                    if wait is None:
                        raise TransportError(f"{method} {path}: {exc}") from exc
                    await self._sleep(wait)
                    continue
            if response.status_code < 400:
                return response
            body = await response.aread()
            await response.aclose()
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            wait = attempts.after_answer(response.status_code, retry_after)
            if wait is None:
                raise failure(response.status_code, body, response.headers)
            await self._sleep(wait)

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return (await self.request(method, path, **kwargs)).json()

    async def upload(self, file: Input, name: str | None = None) -> StoredFile:
        def make(stack: ExitStack) -> dict[str, Any]:
            filename_, content = open_upload(file, stack, name)
            return {"files": [("file", (filename_, content, "application/octet-stream"))]}

        return StoredFile.from_json((await self._json("POST", "/v1/files", make=make))["files"][0])

    async def get_file(self, file: StoredFile | FileId | str) -> StoredFile:
        return StoredFile.from_json(await self._json("GET", f"/v1/files/{file_id(file)}"))

    async def download(
        self, file: StoredFile | FileId | str, path: str | os.PathLike[str] | None = None
    ) -> FileResult:
        response = await self.request("GET", f"/v1/files/{file_id(file)}/content")
        fallback = file.name if isinstance(file, StoredFile) else file_id(file)
        result = FileResult(
            filename(response.headers, fallback), response.headers.get("content-type", ""), response.content
        )
        if path is not None:
            result.save(path)
        return result

    async def delete_file(self, file: StoredFile | FileId | str) -> None:
        await self.request("DELETE", f"/v1/files/{file_id(file)}")

    async def convert(
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
        """As :meth:`Client.convert <conversio.client.Client.convert>`."""
        items = listed(inputs)
        fields = convert_fields(to, via, then, options or {}, store)
        if all(is_local(i) for i in items):

            def make(stack: ExitStack) -> dict[str, Any]:
                files = [("file", (*open_upload(i, stack), "application/octet-stream")) for i in items]
                return {"data": as_form(fields), "files": files}

        else:
            body = {"inputs": await self._references(items), **fields}

            def make(stack: ExitStack) -> dict[str, Any]:
                return {"json": body}

        response = await self.request("POST", "/v1/convert", make=make)
        if response.status_code == 202:
            job = await self.wait(response.json()["jobId"], timeout)
            if store:
                return list(job.outputs)
            results = [await self.download(o) for o in job.outputs]
            return results[0] if len(results) == 1 else zipped(results, "results.zip")
        if store:
            return [StoredFile.from_json(f) for f in response.json()["files"]]
        return FileResult(
            filename(response.headers, "result"), response.headers.get("content-type", ""), response.content
        )

    async def create_job(
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
        spec = JobSpec(listed(inputs), to, via, then, options or {}, tag, output_url)
        body = job_body(spec, await self._references(spec.inputs), webhook)
        key = idempotency_key or secrets.token_urlsafe(18)

        def make(stack: ExitStack) -> dict[str, Any]:
            return {"json": body, "headers": {"Idempotency-Key": key}}

        accepted = await self._json("POST", "/v1/jobs", make=make, idempotent=True)
        return await self.get_job(accepted["jobId"])

    async def get_job(self, job: Job | str) -> Job:
        return Job.from_json(await self._json("GET", f"/v1/jobs/{job_id(job)}"))

    async def list_jobs(
        self, *, status: str | None = None, tag: str | None = None, since: str | None = None, limit: int = 100
    ) -> list[Job]:
        params = {k: v for k, v in {"status": status, "tag": tag, "since": since}.items() if v is not None}

        def make(stack: ExitStack) -> dict[str, Any]:
            return {"params": {**params, "limit": limit}}

        return [Job.from_json(j) for j in (await self._json("GET", "/v1/jobs", make=make))["jobs"]]

    async def cancel(self, job: Job | str) -> Job:
        return Job.from_json(await self._json("DELETE", f"/v1/jobs/{job_id(job)}"))

    async def retry_job(self, job: Job | str) -> Job:
        await self.request("POST", f"/v1/jobs/{job_id(job)}/retry")
        return await self.get_job(job)

    async def wait(self, job: Job | str, timeout: float = 600.0, *, check: bool = True) -> Job:
        started = time.monotonic()
        current = await self.get_job(job)
        while not current.finished:
            waited = time.monotonic() - started
            if waited >= timeout:
                message = f"job {current.id} still {current.status} after {timeout:g} s"
                raise WaitTimeout(message, job_ids=[current.id])
            await self._sleep(min(poll_interval(waited, self.poll_schedule), timeout - waited))
            current = await self.get_job(current.id)
        if check and current.status != "completed":
            raise JobFailed(current)
        return current

    async def events(self, job: Job | str) -> AsyncIterator[tuple[str, Job]]:
        response = await self.request("GET", f"/v1/jobs/{job_id(job)}/events", stream=True)
        parser = EventParser()
        try:
            async for line in response.aiter_lines():
                event = parser.feed(line)
                if event is not None:
                    yield event[0], Job.from_json(json.loads(event[1]))
        finally:
            await response.aclose()

    async def batch(
        self,
        jobs: Sequence[JobSpec],
        *,
        webhook: str | None = None,
        callback_mode: Literal["job", "batch", "both"] = "both",
        tag: str | None = None,
        idempotent: bool = False,
    ) -> AsyncBatch:
        body: dict[str, Any] = {
            "jobs": [job_body(spec, await self._references(spec.inputs)) for spec in jobs],
            "callbackMode": callback_mode,
        }
        if webhook:
            body["webhook"] = webhook
        if tag:
            body["tag"] = tag

        def make(stack: ExitStack) -> dict[str, Any]:
            return {"json": body}

        info = BatchInfo.from_json(await self._json("POST", "/v1/batch", make=make, idempotent=idempotent))
        return AsyncBatch(self, info)

    async def get_batch(self, batch: AsyncBatch | str) -> BatchInfo:
        batch_id = batch if isinstance(batch, str) else batch.id
        return BatchInfo.from_json(await self._json("GET", f"/v1/batch/{batch_id}"))

    async def _references(self, inputs: Sequence[Input]) -> list[dict[str, Any]]:
        return [reference(await self.upload(i) if is_local(i) else i) for i in inputs]


class AsyncBatch:
    """A submitted batch (of an :class:`AsyncClient`)."""

    def __init__(self, client: AsyncClient, info: BatchInfo) -> None:
        self.client, self.info = client, info

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def job_ids(self) -> tuple[str, ...]:
        return self.info.job_ids

    async def wait_all(self, timeout: float = 600.0) -> list[Job]:
        started = time.monotonic()
        while True:
            self.info = await self.client.get_batch(self.id)
            waited = time.monotonic() - started
            if self.info.finished:
                return [await self.client.get_job(j) for j in self.job_ids]
            if waited >= timeout:
                raise WaitTimeout(
                    f"batch {self.id} not finished after {timeout:g} s", job_ids=list(self.job_ids)
                )
            await self.client._sleep(min(poll_interval(waited, self.client.poll_schedule), timeout - waited))
