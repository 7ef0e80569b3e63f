"""Asynchronous jobs and batches: ``/v1/jobs`` and ``/v1/batch``.

Jobs live in the database (:mod:`conversio_server.jobstore`) and run in worker processes
(:mod:`conversio_server.worker`). A key sees only its own jobs (``admin`` keys see all).
``Idempotency-Key``: a submission repeated with the same key and the same body returns the
job made the first time (202, header ``Idempotent-Replayed: true``); the same key with a
different body is refused with 409 ``INVALID_REQUEST``.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator
from datetime import datetime
from functools import partial
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Header, Query, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from conversio.errors import ArtifactNotFound
from conversio_server.access import Convert, Read, upload_limit
from conversio_server.auth import Principal
from conversio_server.body_memory import read_in_memory
from conversio_server.conversions import Order
from conversio_server.errors import ApiError
from conversio_server.inputs import InputResolver
from conversio_server.jobstore import FINISHED, JobStore, NewJob, not_found, request_hash
from conversio_server.models import (
    BatchAccepted,
    BatchRequest,
    BatchView,
    ErrorBody,
    JobAccepted,
    JobList,
    JobRequest,
    JobView,
    WebhookDeliveries,
    parse_then,
)
from conversio_server.openapi import errors
from conversio_server.outbound import check_url
from conversio_server.responses import JSON
from conversio_server.routes.common import base_url, describe, iso, server_of
from conversio_server.uploads import Scratch

router = APIRouter()

#: How often the event stream looks at the job, and the longest it stays open.
SSE_POLL = 0.5
SSE_MAX_SECONDS = 3600.0

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody}}


def _owner(principal: Principal) -> str | None:
    return None if "admin" in principal.scopes else principal.key_id


def _store(request: Request) -> JobStore:
    return server_of(request).jobstore


def _invalid(exc: ValidationError) -> ApiError:
    problems = [
        {"location": [str(p) for p in e.get("loc", ())], "message": e.get("msg", "")}
        for e in exc.errors(include_url=False, include_input=False, include_context=False)
    ]
    first = problems[0] if problems else {"location": [], "message": "invalid body"}
    where = ".".join(first["location"]) or "body"
    return ApiError("INVALID_REQUEST", f"{where}: {first['message']}", details={"errors": problems})


async def _prepare(
    request: Request,
    principal: Principal,
    spec: JobRequest,
    scratch: Scratch,
    *,
    webhook: str | None,
    job_events: bool,
) -> NewJob:
    """Store the inputs, check the chain plans and the URLs are allowed: the row to insert."""
    server = server_of(request)
    resolver = InputResolver(
        server, request, principal, scratch, upload_limit(principal, server.settings.max_upload_bytes)
    )
    inputs = await resolver.all([partial(resolver.resolve, ref) for ref in spec.inputs])
    then = parse_then(spec.then)
    order = Order(tuple(inputs), spec.outputFormat, tuple(spec.via), dict(spec.options), tuple(then))
    await run_in_threadpool(server.conversions.check, order)
    for url in (webhook, spec.output.url if spec.output else None):
        if url:
            check_url(url, server.settings.outbound)
    tier_limit = principal.tier.concurrent_jobs
    return NewJob(
        spec={**order.spec(), "output": None if spec.output is None else spec.output.model_dump()},
        key_id=principal.key_id,
        tag=spec.tag,
        webhook=webhook,
        job_events=job_events,
        max_running=tier_limit,
    )


def _estimate(spec: dict[str, Any]) -> float:
    """A rough guess of a job's seconds: one, plus one per 10 MB of input, plus one per extra step."""
    size = float(spec.get("inputSize") or 0)
    return round(1.0 + size / 10e6 + len(spec.get("then") or ()), 1)


def _accepted(request: Request, row: dict[str, Any]) -> dict[str, Any]:
    return {
        "jobId": row["id"],
        "status": row["status"],
        "estimatedDuration": _estimate(row["spec"]),
        "createdAt": iso(row["created_at"]),
        "url": f"{base_url(request)}/v1/jobs/{row['id']}",
    }


@router.post(
    "/jobs",
    summary="Submit a conversion job",
    status_code=202,
    response_model=JobAccepted,
    responses=errors(400, 404, 409, 413, 422, 503, 507),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JobRequest"}}},
        }
    },
)
async def create_job(
    request: Request,
    principal: Principal = Convert,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=255),
) -> Response:
    """Queue a conversion; poll `GET /v1/jobs/{id}`, stream `/events`, or receive webhooks."""
    server = server_of(request)
    store = server.jobstore
    raw = await read_in_memory(request, server.settings.max_json_bytes)
    try:
        spec = JobRequest.model_validate_json(raw)
    except ValidationError as exc:
        raise _invalid(exc) from None
    digest = request_hash(json.loads(raw))
    if idempotency_key:
        replay = await run_in_threadpool(_replay, store, principal.key_id, idempotency_key, digest)
        if replay is not None:
            return JSON(_accepted(request, replay), status_code=202, headers={"Idempotent-Replayed": "true"})
    with Scratch(server.scratch_folder) as scratch:
        new = await _prepare(request, principal, spec, scratch, webhook=spec.webhook, job_events=True)
    new = NewJob(**{**_fields(new), "idempotency_key": idempotency_key, "request_hash": digest})
    await run_in_threadpool(server.guard.consume_conversions, principal)
    try:
        rows = await run_in_threadpool(
            store.create, [new], limits=(server.settings.max_jobs_per_key, server.settings.max_queued_jobs)
        )
    except sa.exc.IntegrityError:  # the same Idempotency-Key raced in: answer the first one's job
        await run_in_threadpool(server.guard.refund_conversions, principal)
        assert idempotency_key is not None
        replay = await run_in_threadpool(_replay, store, principal.key_id, idempotency_key, digest)
        assert replay is not None
        return JSON(_accepted(request, replay), status_code=202, headers={"Idempotent-Replayed": "true"})
    except BaseException:
        await run_in_threadpool(server.guard.refund_conversions, principal)
        raise
    body = _accepted(request, rows[0])
    return JSON(body, status_code=202, headers={"Location": body["url"]})


def _fields(new: NewJob) -> dict[str, Any]:
    import attrs

    return attrs.asdict(new, recurse=False)


def _replay(store: JobStore, key_id: str, idempotency_key: str, digest: str) -> dict[str, Any] | None:
    row = store.find_idempotent(key_id, idempotency_key)
    if row is None:
        return None
    if row["request_hash"] != digest:
        raise ApiError(
            "INVALID_REQUEST",
            "this Idempotency-Key was already used with a different request body",
            details={"idempotencyKey": idempotency_key, "jobId": row["id"]},
            status=409,
        )
    return row


def job_view(request: Request, row: dict[str, Any]) -> dict[str, Any]:
    """A job as ``GET /v1/jobs/{id}`` shows it."""
    server = server_of(request)
    outputs = []
    for record in row["outputs"] or ():
        try:
            artifact = server.store.get(record["artifactId"])
        except ArtifactNotFound:  # expired meanwhile: the job is reported without it
            continue
        outputs.append({**describe(request, artifact), "deliveredTo": record.get("deliveredTo")})
    error = row["error"]
    return {
        "jobId": row["id"],
        "status": row["status"],
        "progress": round(100 * float(row["progress"] or 0.0), 1),
        "eta": row["eta"],
        "step": row["step"] or "",
        "steps": list(row["steps"] or ()),
        "outputs": outputs,
        "files": [{k: v for k, v in o.items() if k != "deliveredTo"} for o in outputs],
        "warnings": list(row["warnings"] or ()),
        "error": None
        if error is None
        else {
            "code": error.get("code"),
            "message": error.get("message"),
            "details": error.get("details") or {},
        },
        "tag": row["tag"],
        "batchId": row["batch_id"],
        "attempts": row["attempts"],
        "createdAt": iso(row["created_at"]),
        "startedAt": iso(row["started_at"]),
        "finishedAt": iso(row["finished_at"]),
        "updatedAt": iso(row["updated_at"]),
        "url": f"{base_url(request)}/v1/jobs/{row['id']}",
    }


@router.get("/jobs/{job_id}", summary="A job's status", response_model=JobView, responses=_NOT_FOUND)
async def get_job(request: Request, job_id: str, principal: Principal = Read) -> Any:
    """Status, percent done and ETA, steps with their converters and results, outputs, error."""
    row = await run_in_threadpool(_store(request).get, job_id, _owner(principal))
    return job_view(request, row)


@router.get("/jobs", summary="List jobs", response_model=JobList)
async def list_jobs(
    request: Request,
    principal: Principal = Read,
    status: str | None = Query(None, pattern="^(queued|processing|completed|failed|cancelled)$"),
    tag: str | None = Query(None, max_length=200),
    since: Annotated[
        datetime | None, Query(description="Jobs created at or after this ISO 8601 moment.")
    ] = None,
    limit: int = Query(100, ge=1, le=1000),
) -> Any:
    """The key's jobs, newest first."""
    rows = await run_in_threadpool(
        _store(request).find,
        _owner(principal),
        status=status,
        tag=tag,
        since=None if since is None else since.timestamp(),
        limit=limit,
    )
    return {"jobs": [job_view(request, row) for row in rows]}


@router.delete("/jobs/{job_id}", summary="Cancel a job", response_model=JobView, responses=_NOT_FOUND)
async def cancel_job(request: Request, job_id: str, principal: Principal = Convert) -> Any:
    """A queued job is cancelled at once; a running one is stopped by its worker (status follows)."""
    row = await run_in_threadpool(_store(request).cancel, job_id, _owner(principal))
    return job_view(request, row)


@router.post(
    "/jobs/{job_id}/retry",
    summary="Retry a failed job",
    status_code=202,
    response_model=JobAccepted,
    responses=_NOT_FOUND,
)
async def retry_job(request: Request, job_id: str, principal: Principal = Convert) -> Response:
    """Queue a failed (or cancelled) job again: steps that completed are reused from the store
    (they show as ``cached`` in the job's steps) and the work resumes at the failed step."""
    row = await run_in_threadpool(_store(request).retry, job_id, _owner(principal))
    return JSON(_accepted(request, row), status_code=202)


@router.get(
    "/jobs/{job_id}/webhooks",
    summary="A job's webhook deliveries",
    response_model=WebhookDeliveries,
    responses=_NOT_FOUND,
)
async def job_webhooks(request: Request, job_id: str, principal: Principal = Read) -> Any:
    store = _store(request)
    await run_in_threadpool(store.get, job_id, _owner(principal))
    deliveries = await run_in_threadpool(store.outbox.deliveries_for, job_id)
    return {"deliveries": [d.to_dict() for d in deliveries]}


@router.get(
    "/jobs/{job_id}/events",
    summary="A job's live events (server-sent events)",
    responses={200: {"content": {"text/event-stream": {}}}, **_NOT_FOUND},
)
async def job_events(request: Request, job_id: str, principal: Principal = Read) -> Response:
    """One ``event:`` per change (``queued``, ``processing``, ``progress``, then ``completed``, ``failed``
    or ``cancelled``, after which the stream ends); ``data:`` is the job as ``GET /v1/jobs/{id}`` shows it."""
    store = _store(request)
    owner = _owner(principal)
    await run_in_threadpool(store.get, job_id, owner)

    async def stream() -> AsyncIterator[bytes]:
        seen: tuple[Any, ...] | None = None
        deadline = time.monotonic() + SSE_MAX_SECONDS
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            try:
                row = await run_in_threadpool(store.get, job_id)
            except ApiError:
                return
            state = (row["status"], row["revision"])
            if state != seen:
                name = row["status"]
                if seen is not None and seen[0] == name == "processing":
                    name = "progress"
                seen, quiet_since = state, time.monotonic()
                data = json.dumps(job_view(request, row), separators=(",", ":"))
                yield f"id: {row['revision']}\nevent: {name}\ndata: {data}\n\n".encode()
                if row["status"] in FINISHED:
                    return
            elif time.monotonic() - quiet_since > 15:
                quiet_since = time.monotonic()
                yield b": keep-alive\n\n"
            if await request.is_disconnected():
                return
            await asyncio.sleep(SSE_POLL)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


# -- batch ---------------------------------------------------------------------------------------


def _batch_view(request: Request, batch: dict[str, Any], members: list[dict[str, Any]]) -> dict[str, Any]:
    counts = {name: 0 for name in ("queued", "processing", "completed", "failed", "cancelled")}
    for row in members:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    if all(row["status"] in FINISHED for row in members):
        status = "completed"
    elif counts["queued"] == len(members):
        status = "queued"
    else:
        status = "processing"
    return {
        "batchId": batch["id"],
        "jobCount": batch["job_count"],
        "status": status,
        "counts": counts,
        "jobs": [{"jobId": row["id"], "status": row["status"]} for row in members],
        "createdAt": iso(batch["created_at"]),
        "finishedAt": iso(batch["finished_at"]),
        "url": f"{base_url(request)}/v1/batch/{batch['id']}",
    }


@router.post(
    "/batch",
    summary="Submit a batch of jobs",
    status_code=202,
    response_model=BatchAccepted,
    responses=errors(400, 404, 413, 422, 503, 507),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BatchRequest"}}},
        }
    },
)
async def create_batch(request: Request, principal: Principal = Convert) -> Response:
    """Queue several jobs at once; they run in parallel within the key's concurrent-job limit.

    ``callbackMode``: ``job`` sends each job's events to ``webhook``, ``batch`` only ``batch.completed``,
    ``both`` both. A job's own ``webhook`` (if given) receives its events whatever the mode."""
    server = server_of(request)
    raw = await read_in_memory(request, server.settings.max_json_bytes)
    try:
        spec = BatchRequest.model_validate_json(raw)
    except ValidationError as exc:
        raise _invalid(exc) from None
    news = []
    with Scratch(server.scratch_folder) as scratch:
        for item in spec.jobs:
            webhook = item.webhook or spec.webhook
            job_events = item.webhook is not None or spec.callbackMode in ("job", "both")
            news.append(
                await _prepare(request, principal, item, scratch, webhook=webhook, job_events=job_events)
            )
    if spec.webhook:
        check_url(spec.webhook, server.settings.outbound)
    await run_in_threadpool(server.guard.consume_conversions, principal, len(news))
    batch = {
        "id": "batch_" + secrets.token_urlsafe(16),
        "key_id": principal.key_id,
        "webhook": spec.webhook,
        "callback_mode": spec.callbackMode,
        "tag": spec.tag,
    }
    try:
        rows = await run_in_threadpool(
            server.jobstore.create,
            news,
            batch=batch,
            limits=(server.settings.max_jobs_per_key, server.settings.max_queued_jobs),
        )
    except BaseException:
        await run_in_threadpool(server.guard.refund_conversions, principal, len(news))
        raise
    stored, members = await run_in_threadpool(server.jobstore.batch, str(batch["id"]))
    body = _batch_view(request, stored, members)
    body.pop("counts")
    body.pop("finishedAt")
    assert len(rows) == body["jobCount"]
    return JSON(body, status_code=202, headers={"Location": body["url"]})


@router.get("/batch/{batch_id}", summary="A batch's status", response_model=BatchView, responses=_NOT_FOUND)
async def get_batch(request: Request, batch_id: str, principal: Principal = Read) -> Any:
    """The batch's jobs with their statuses, and how many are in each status."""
    batch, members = await run_in_threadpool(_store(request).batch, batch_id, _owner(principal))
    return _batch_view(request, batch, members)


__all__ = ["job_view", "not_found", "router"]
