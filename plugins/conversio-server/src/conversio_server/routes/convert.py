"""``POST /v1/convert``: synchronous conversion, from multipart uploads or a JSON body."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from functools import partial
from typing import Any

import attrs
from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from conversio.api import Result
from conversio.ingest import Arriving
from conversio.stores.base import Artifact
from conversio_server.access import Convert, upload_limit
from conversio_server.auth import Principal
from conversio_server.body_memory import read_in_memory
from conversio_server.bundles import write_zip
from conversio_server.conversions import Order
from conversio_server.errors import ApiError
from conversio_server.inputs import InputResolver, Pending, stored
from conversio_server.models import (
    STEP_SCHEMA,
    THEN_DESCRIPTION,
    URL_SCHEMA,
    ConvertRequest,
    ConvertResult,
    ErrorBody,
    StepSpec,
    parse_then,
)
from conversio_server.openapi import ANY_FILE
from conversio_server.responses import JSON
from conversio_server.routes.common import (
    artifact_response,
    base_url,
    describe,
    server_of,
    small_content,
    temporary_file_response,
)
from conversio_server.runner import wait_for
from conversio_server.service import Server, no_answer
from conversio_server.uploads import (
    Field,
    Scratch,
    UploadedFile,
    multipart_boundary,
    read_multipart,
)

router = APIRouter()


#: Multipart fields with a meaning of their own; any other text field is an option of the conversion.
_RESERVED = {"file", "fileId", "url", "outputFormat", "via", "then", "options", "store"}
_INPUT_FIELDS = ("file", "fileId", "url")

_MULTIPART_SCHEMA = {
    "type": "object",
    "properties": {
        "file": {
            "type": "array",
            "items": {"type": "string", "format": "binary"},
            "description": "Input files.",
        },
        "fileId": {"type": "array", "items": {"type": "string"}, "description": "Stored files as inputs."},
        "url": {"type": "array", "items": {"type": "string", **URL_SCHEMA}, "description": "Input URLs."},
        "outputFormat": {"type": "string", "description": "Target format (jpg, pdf, zip…)."},
        "via": {"type": "array", "items": {"type": "string"}, "description": "Formats to pass through."},
        "then": {
            "type": "array",
            "items": STEP_SCHEMA,
            "description": "A JSON list of steps. " + THEN_DESCRIPTION,
        },
        "options": {"type": "object", "description": "Options of the conversion as a JSON object."},
        "store": {"type": "boolean", "description": "Keep the results and answer JSON with their URLs."},
    },
    "additionalProperties": {"type": "string", "description": "Any other field is an option (quality=85)."},
    # at least one input, and a target or steps
    "allOf": [
        {"anyOf": [{"required": [name], "properties": {name: {"minItems": 1}}} for name in _INPUT_FIELDS]},
        {
            "anyOf": [
                {"required": ["outputFormat"]},
                {  # steps only: no options, not even as fields of their own
                    "required": ["then"],
                    "properties": {
                        "then": {"minItems": 1},
                        "via": {"maxItems": 0},
                        "options": {"maxProperties": 0},
                        **{name: {} for name in (*_INPUT_FIELDS, "store")},
                    },
                    "additionalProperties": False,
                },
            ]
        },
    ],
}
#: ``then`` and ``options`` are JSON text in a form.
_ENCODING = {"then": {"contentType": "application/json"}, "options": {"contentType": "application/json"}}

_DESCRIPTION = """Convert files synchronously.

**Multipart** (`multipart/form-data`): `file` (repeat it for several inputs; `fileId` and `url` add stored
files and URLs), `outputFormat`, optional `via` (repeatable), `then` (a JSON list of steps), `options`
(a JSON object); any other text field is an option too (`quality=85`).

**JSON** (`application/json`): `{"inputs": [{"fileId": …} | {"url": …} | {"base64": …, "name": …}],
"outputFormat": "jpg", "via": [], "options": {}, "then": [], "store": false}`.

Chains: `then` lists the steps after the conversion to `outputFormat`, each an operation name (`"merge"`),
a format (`"zip"`) or `{"step": "encrypt", "options": {"user_password": "x"}}`, e.g.
`outputFormat=pdf`, `then=["merge", {"step": "encrypt", "options": {"user_password": "secret"}}]`.

Answers the file itself (`Content-Disposition: attachment`), a zip when the result is several files, or
with `store=true` JSON describing the stored results with their URLs; these ids and URLs are valid inputs
of the next conversion (no download and re-upload). A conversion that takes longer than the sync limit
answers **202** with a job to poll at `GET /v1/jobs/{id}`."""


#: The 202 of a conversion not finished when the sync limit passed: the job to poll (``processing``, or
#: ``queued`` when it was still waiting for a place).
_HANDED_OFF = {
    "type": "object",
    "required": ["jobId", "status", "url"],
    "properties": {
        "jobId": {"type": "string"},
        "status": {"type": "string", "enum": ["processing", "queued"]},
        "url": {"type": "string"},
    },
}


@router.post(
    "/convert",
    summary="Convert files",
    description=_DESCRIPTION,
    responses={
        200: {
            "description": "The converted file (or a zip of several), or with store=true their description.",
            "content": {
                **ANY_FILE,
                "application/json": {"schema": ConvertResult.model_json_schema()},
            },
        },
        202: {
            "description": "Still running: poll the job.",
            "content": {"application/json": {"schema": _HANDED_OFF}},
        },
        400: {"model": ErrorBody},
        404: {"model": ErrorBody},
        413: {"model": ErrorBody},
        415: {"model": ErrorBody},
        422: {"model": ErrorBody},
        503: {"model": ErrorBody},
        507: {"model": ErrorBody, "description": "The server's disk is full; nothing was kept."},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {"schema": _MULTIPART_SCHEMA, "encoding": _ENCODING},
                "application/json": {"schema": {"$ref": "#/components/schemas/ConvertRequest"}},
            },
        }
    },
)
async def convert(request: Request, principal: Principal = Convert) -> Response:
    server = server_of(request)
    limit = upload_limit(principal, server.settings.max_upload_bytes)
    with Scratch(server.scratch_folder) as scratch:
        resolver = InputResolver(server, request, principal, scratch, limit)
        boundary = multipart_boundary(request)
        if boundary is not None:
            parts, received = await read_multipart(
                request, boundary, scratch, max_file_bytes=limit, max_files=server.settings.max_files
            )
            server.metrics.bytes_in.inc(received)
            draft, inputs = _order_from_form(parts, resolver)
        elif _is_json(request):
            draft, inputs = await _order_from_json(request, resolver, limit)
        else:
            raise ApiError(
                "UNSUPPORTED_MEDIA_TYPE",
                "send multipart/form-data or application/json",
                details={"contentType": request.headers.get("content-type", "")},
            )
        answer = no_answer if draft.store else partial(_single_small, server)
        running = server.start(partial(_made, draft, inputs), principal, answer)
        try:
            finished = await wait_for(running.future, server.settings.sync_timeout)
            if finished is None and server.runner.withdraw(running.future):
                # still waiting for a place: a queued job, for the job workers
                order = await run_in_threadpool(_made, draft, inputs)
                row = await run_in_threadpool(server.handoff.queue, order, principal)
                return _accepted(request, row)
            if finished is None:  # the conversion goes on as a job, which may still read the uploads
                # (one that has just started makes its order first, storing its inputs)
                order = await asyncio.wrap_future(running.order)
                uploads = scratch.release([i.path for i in order.inputs if isinstance(i, Arriving)])
                row = await run_in_threadpool(server.handoff.adopt, running, order, principal, uploads)
                return _accepted(request, row)
        finally:
            await stored(running.inputs())  # uploads are read from the scratch files until stored
    order, artifacts = running.order.result(), finished.result.artifacts
    if order.store:
        body = {
            "files": [describe(request, a) for a in artifacts],
            "steps": list(finished.result.steps),
            "warnings": list(finished.result.warnings),
        }
        return JSON(body)
    if len(artifacts) == 1:
        return await artifact_response(request, artifacts[0], finished.answer)
    path = await run_in_threadpool(write_zip, server.store, artifacts, server.scratch_folder)
    return temporary_file_response(request, path, _bundle_name(order.inputs), "application/zip")


def _made(draft: Order, inputs: Sequence[Pending]) -> Order:
    """The order with its inputs stored (blocking)."""
    return attrs.evolve(draft, inputs=tuple(call() for call in inputs))


def _single_small(server: Server, result: Result) -> bytes | None:
    """The content of a result that is one small file, read on the conversion's thread."""
    return small_content(server, result.artifacts[0]) if len(result.artifacts) == 1 else None


def _is_json(request: Request) -> bool:
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return kind == "application/json" or kind.endswith("+json")


def _accepted(request: Request, row: dict[str, Any]) -> Response:
    """202 with the job to poll (``processing``, or ``queued`` when it waits for a job worker)."""
    url = f"{base_url(request)}/v1/jobs/{row['id']}"
    body = {"jobId": row["id"], "status": row["status"], "url": url}
    return JSON(body, status_code=202, headers={"Location": url, "Retry-After": "1"})


def _bundle_name(inputs: Sequence[Artifact | Arriving]) -> str:
    stem = inputs[0].name.rsplit(".", 1)[0] if inputs else "results"
    return f"{stem or 'results'}.zip"


def _order_from_form(
    parts: Sequence[Field | UploadedFile], resolver: InputResolver
) -> tuple[Order, list[Pending]]:
    """The order a form asks for, and the calls that store its inputs."""
    inputs: list[Pending] = []
    target: str | None = None
    via: list[str] = []
    then: list[StepSpec] = []
    options: dict[str, Any] = {}
    store = False
    for part in parts:
        if isinstance(part, UploadedFile):
            if part.name != "file":
                raise ApiError("INVALID_REQUEST", f"files go in the field 'file', not {part.name!r}")
            inputs.append(partial(resolver.upload, part))
        elif part.name == "file":
            raise ApiError("INVALID_REQUEST", "the field 'file' must be a file (with a filename)")
        elif part.name == "fileId":
            inputs.append(partial(resolver.file_id, part.value))
        elif part.name == "url":
            inputs.append(partial(resolver.url, part.value))
        elif part.name == "outputFormat":
            target = part.value.strip() or None
        elif part.name == "via":
            via.extend(v.strip() for v in part.value.split(",") if v.strip())
        elif part.name == "then":
            then.extend(_then_field(part.value))
        elif part.name == "options":
            options.update(_json_object(part.value, "options"))
        elif part.name == "store":
            store = _flag(part.value, "store")
        else:
            options[part.name] = part.value
    return Order((), target, tuple(via), options, tuple(then), store), inputs


async def _order_from_json(
    request: Request, resolver: InputResolver, limit: int
) -> tuple[Order, list[Pending]]:
    """The order a JSON body asks for, and the calls that store or look up its inputs."""
    # base64 inputs are for small files (larger ones go to /v1/files first): the body is held in memory
    body = await read_in_memory(request, (limit // 3 + 1) * 4 + 1024 * 1024)
    try:
        data = ConvertRequest.model_validate_json(body)
    except ValidationError as exc:
        raise _invalid(exc) from None
    then = tuple(parse_then(data.then))
    order = Order((), data.outputFormat, tuple(data.via), dict(data.options), then, data.store)
    return order, [partial(resolver.resolve, ref) for ref in data.inputs]


def _invalid(exc: ValidationError) -> ApiError:
    problems = [
        {"location": [str(p) for p in e.get("loc", ())], "message": e.get("msg", ""), "type": e.get("type")}
        for e in exc.errors(include_url=False, include_input=False, include_context=False)
    ]
    first = problems[0] if problems else {"location": [], "message": "invalid body"}
    where = ".".join(first["location"]) or "body"
    return ApiError("INVALID_REQUEST", f"{where}: {first['message']}", details={"errors": problems})


def _then_field(value: str) -> list[StepSpec]:
    text = value.strip()
    if not text:
        return []
    if text[0] in '[{"':
        try:
            parsed = json.loads(text)
        except ValueError:
            raise ApiError("INVALID_REQUEST", "'then' is not valid JSON", details={"then": value}) from None
        return parse_then(parsed if isinstance(parsed, list) else [parsed])
    return parse_then([text])


def _json_object(value: str, what: str) -> dict[str, Any]:
    try:
        parsed = json.loads(value) if value.strip() else {}
    except ValueError:
        raise ApiError("INVALID_REQUEST", f"{what!r} is not valid JSON", details={what: value}) from None
    if not isinstance(parsed, dict):
        raise ApiError("INVALID_REQUEST", f"{what!r} must be a JSON object", details={what: value})
    return parsed


def _flag(value: str, what: str) -> bool:
    low = value.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("", "0", "false", "no", "off"):
        return False
    raise ApiError("INVALID_REQUEST", f"{what!r} must be true or false", details={what: value})
