"""The ConvertAPI v2 endpoints: existing ConvertAPI clients work by pointing their base URL here.

``POST /convert/{from}/to/{to}``, ``POST /upload``, ``GET /d/{id}/{name}``, ``DELETE /d/{id}`` and
``GET /user``; credentials as ``Authorization: Bearer``, ``?Secret=`` or ``?Token=``. Conversions go
through the same :class:`~conversio_server.service.Server` as the native API; stored results are
conversio's stored files, so their ids and URLs chain into either API without a download. One
module, a little over 450 lines: the five endpoints of one wire protocol read best side by side.
"""

from __future__ import annotations

import base64
import email.message
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from conversio.api import Result
from conversio.errors import ConversioError, InvalidOption
from conversio.ingest import Arriving
from conversio.stores.base import Artifact
from conversio_server.auth import CONVERTAPI_QUERY_NAMES, Principal, guard_of, rate_limit_headers
from conversio_server.conversions import Order
from conversio_server.convertapi import mapping
from conversio_server.convertapi.errors import ConvertApiError, ConvertApiRoute, invalid_parameter
from conversio_server.convertapi.models import Account, ConversionResult, ConvertApiErrorBody, Uploaded
from conversio_server.convertapi.params import (
    FileRef,
    Parameters,
    is_file_parameter,
    read_parameters,
)
from conversio_server.errors import ApiError
from conversio_server.inputs import InputResolver, Pending, stored
from conversio_server.openapi import ANY_FILE, errors
from conversio_server.responses import JSON
from conversio_server.routes.common import artifact_response, base_url, content_disposition, server_of
from conversio_server.runner import wait_for
from conversio_server.service import Server, no_answer
from conversio_server.uploads import Scratch, UploadedFile, multipart_boundary, read_multipart, read_raw

router = APIRouter(
    route_class=ConvertApiRoute,
    tags=["convertapi"],
    responses=errors(401, 403, 429, model=ConvertApiErrorBody),
)

#: The path of a stored file on the ConvertAPI routes (after any prefix of the public URL); such a URL
#: is an input without a download.

#: ``Timeout`` (seconds): ConvertAPI's range, and the wait when a request gives none.
MIN_TIMEOUT, MAX_TIMEOUT, DEFAULT_TIMEOUT = 1.0, 1200.0, 300.0

_CONVERT_DESCRIPTION = """ConvertAPI v2 compatible conversion (see docs/reference/convertapi.md).

Parameters as a form (`File`, `Files[0]`, `StoreFile`, …), multipart (file parts `File`/`Files`) or JSON
(`{"Parameters": [{"Name": "File", "FileValue": {"Id" | "Url" | "Name"+"Data"}}, …]}`). Answers
`{"ConversionCost", "Files": [{"FileName", "FileExt", "FileSize", "FileId", "Url"}]}` with `StoreFile=true`,
else the files inline as `FileData` (base64). Errors: `{"Code", "Message", "InvalidParameters"}`."""


def admit(request: Request, scope: str) -> Principal:
    """The caller, with ``scope``: its key from ``Authorization: Bearer``, ``?Secret=`` or ``?Token=``
    (401, 403 or 429 otherwise), counted once against its tier's requests per minute."""
    return guard_of(request).admit(request, scope, CONVERTAPI_QUERY_NAMES)


def _json(request: Request, body: dict[str, Any]) -> Response:
    return JSON(body, headers=rate_limit_headers(request))


_FORM_SCHEMA = {
    "type": "object",
    "properties": {
        "File": {"type": "string", "description": "A FileId or a URL."},
        "Files": {"type": "array", "items": {"type": "string"}, "description": "Several (also Files[0]…)."},
        "Url": {"type": "string", "description": "An input fetched from a URL."},
        "StoreFile": {"type": "boolean", "description": "Store the results and answer their Url."},
        "Timeout": {"type": "integer", "minimum": 1, "maximum": 1200},
        "FileName": {"type": "string", "description": "Name of the results."},
    },
    "additionalProperties": {
        "type": "string",
        "description": "Conversion parameters (docs/reference/convertapi.md).",
    },
}
_JSON_SCHEMA = {
    "type": "object",
    "properties": {
        "Parameters": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "Name": {"type": "string"},
                    "Value": {},
                    "FileValue": {
                        "type": "object",
                        "properties": {
                            "Id": {"type": "string"},
                            "Url": {"type": "string"},
                            "Name": {"type": "string"},
                            "Data": {"type": "string", "description": "base64"},
                        },
                    },
                    "FileValues": {"type": "array", "items": {"type": "object"}},
                },
                "required": ["Name"],
            },
        }
    },
}


@router.post(
    "/convert/{source}/to/{target}",
    summary="Convert (ConvertAPI)",
    description=_CONVERT_DESCRIPTION,
    responses={
        200: {"model": ConversionResult, "description": "The results, stored or inline."},
        **errors(400, 404, 413, 415, 422, 503, 507, model=ConvertApiErrorBody),
    },
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {"schema": _FORM_SCHEMA},
                "multipart/form-data": {"schema": _FORM_SCHEMA},
                "application/json": {"schema": _JSON_SCHEMA},
            }
        }
    },
)
async def convert(request: Request, source: str, target: str) -> Response:
    server = server_of(request)
    principal = admit(request, "convert")
    await run_in_threadpool(guard_of(request).check_quota, principal)
    where = mapping.endpoint(server, source, target)
    limit = principal.upload_limit(server.settings.max_upload_bytes)
    with Scratch(server.scratch_folder) as scratch:
        params = await read_parameters(
            request, scratch, max_file_bytes=limit, max_files=server.settings.max_files
        )
        store = params.flag("StoreFile", default=False)
        timeout = params.number("Timeout", low=MIN_TIMEOUT, high=MAX_TIMEOUT) or DEFAULT_TIMEOUT
        pending = _pending(request, server, principal, params, scratch, limit)
        wanted = params.text("FileName")
        answer: Callable[[Result], list[dict[str, Any]] | None]
        answer = no_answer if store else partial(_inline, server, wanted)
        running = server.start(partial(_made, server, where, pending, params, store), principal, answer)
        try:
            finished = await wait_for(running.future, timeout)
        except InvalidOption as exc:
            raise mapping.option_error(exc, params) from None
        finally:
            await stored(running.inputs())  # uploads are read from the scratch files until stored
    if finished is None:
        server.runner.withdraw(running.future)  # nobody will fetch the result: drop it, or stop it
        running.cancel.set()
        given = ", ".join(i.name for i in running.inputs()) or "the input"
        raise ConvertApiError(
            "TIMEOUT",
            f"The conversion of {given} did not finish within the Timeout of {timeout:g} seconds; "
            "give a larger Timeout or a smaller file.",
        )
    files = finished.answer
    if files is None:
        artifacts = finished.result.artifacts
        names = _output_names(artifacts, wanted)
        files = [_stored(request, a, name) for a, name in zip(artifacts, names, strict=True)]
    return _json(request, {"ConversionCost": 1, "Files": files})


def _made(
    server: Server, where: mapping.Endpoint, pending: Sequence[Pending], params: Parameters, store: bool
) -> Order:
    """The order, its inputs stored (blocking)."""
    return mapping.order(server, where, [call() for call in pending], params, store)


def _pending(
    request: Request, server: Server, principal: Principal, params: Parameters, scratch: Scratch, limit: int
) -> list[Pending]:
    """The calls that store the inputs: ``File``, ``Files`` (in order), then ``Url``."""
    for param in params:
        name = param.name.lower()
        if is_file_parameter(param.name) and name not in ("file", "files"):
            raise invalid_parameter(param.name, "this server takes its inputs from File, Files or Url only")
    resolver = InputResolver(server, request, principal, scratch, limit)
    pending: list[Pending] = [
        partial(_resolve, resolver, ref, params.spelling(name))
        for name in ("File", "Files", "Url")
        for ref in params.files(name)
    ]
    if not pending:
        raise ConvertApiError(
            "INVALID_REQUEST",
            "Parameter validation error: File: a file is required (File, Files or Url).",
            invalid={"File": ["a file is required (File, Files or Url)"]},
        )
    return pending


def _resolve(resolver: InputResolver, ref: FileRef, param: str) -> Artifact | Arriving:
    """The stored input of ``ref`` (blocking); an error names the parameter it came from."""
    try:
        if ref.upload is not None:
            return resolver.upload(ref.upload)
        if ref.data is not None:
            return resolver.base64(ref.data, ref.name)
        if ref.url is not None:
            try:
                urlsplit(ref.url.strip())
            except ValueError as exc:
                raise invalid_parameter(param, f"not a valid URL ({exc})") from None
            if param.lower() == "url":  # ConvertAPI's web converters: a page, loaded live
                return resolver.web_page(ref.url, ref.name)
            return resolver.url(ref.url, ref.name)
        assert ref.id is not None
        return resolver.file_id(ref.id)
    except ApiError as exc:
        if exc.status >= 500 or exc.code in ("FILE_TOO_LARGE", "RATE_LIMITED"):
            raise
        raise ConvertApiError(
            exc.code, exc.message, status=exc.status, invalid={param: [exc.message]}
        ) from None
    except ConversioError as exc:
        if exc.code != "FILE_NOT_FOUND":
            raise
        shown = ref.id or urlsplit(ref.url or "").path  # never a link's signature
        message = f"File not found: {shown}"
        raise ConvertApiError("FILE_NOT_FOUND", message, invalid={param: [message]}) from None


def _output_names(artifacts: Sequence[Artifact], wanted: str | None) -> list[str]:
    """The results' names; ``FileName`` renames them (``name.ext``, or ``name-1.ext``… for several)."""
    stem = (wanted or "").strip().replace("/", "_").replace("\\", "_")
    if not stem:
        return [a.name for a in artifacts]
    names = []
    for index, artifact in enumerate(artifacts, start=1):
        ext = artifact.name.rsplit(".", 1)[1] if "." in artifact.name else artifact.format
        numbered = f"{stem}-{index}" if len(artifacts) > 1 else stem
        names.append(f"{numbered}.{ext}")
    return names


def _extension(name: str, fmt: str) -> str:
    return name.rsplit(".", 1)[1].lower() if "." in name.strip(".") else fmt


def download_url(request: Request, artifact: Artifact, name: str) -> str:
    """``/d/{id}/{name}`` on this server, signed; or the store's own link (``download_links``)."""
    url = f"{base_url(request)}/d/{artifact.id}/{quote(name, safe='')}"
    return server_of(request).links.url(artifact, url, name)


def _stored(request: Request, artifact: Artifact, name: str) -> dict[str, Any]:
    return {
        "FileName": name,
        "FileExt": _extension(name, artifact.format),
        "FileSize": artifact.size,
        "FileId": artifact.id,
        "Url": download_url(request, artifact, name),
    }


def _inline(server: Server, wanted: str | None, result: Result) -> list[dict[str, Any]]:
    """The results with their content as ``FileData`` (blocking), named after ``FileName`` if
    ``wanted``. They stay stored until they expire."""
    files = []
    artifacts = result.artifacts
    for artifact, name in zip(artifacts, _output_names(artifacts, wanted), strict=True):
        with server.store.open(artifact.id) as reader:
            data = base64.b64encode(reader.read()).decode("ascii")
        server.metrics.bytes_out.inc(artifact.size)
        files.append(
            {
                "FileName": name,
                "FileExt": _extension(name, artifact.format),
                "FileSize": artifact.size,
                "FileData": data,
            }
        )
    return files


@router.post(
    "/upload",
    summary="Upload a file (ConvertAPI)",
    responses={
        200: {"model": Uploaded, "description": "The stored file."},
        **errors(400, 404, 413, 503, 507, model=ConvertApiErrorBody),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary", "minLength": 1}}
            },
        }
    },
)
async def upload(request: Request) -> Response:
    """The raw body (name from ``Content-Disposition``, RFC 5987 ``filename*`` included, or ``?filename=``),
    a multipart form's first file, or the file at ``?url=``, streamed to the store:
    ``{"FileId", "FileName", "FileExt"}``."""
    server = server_of(request)
    principal = admit(request, "convert")
    limit = principal.upload_limit(server.settings.max_upload_bytes)
    filename: str | None
    with Scratch(server.scratch_folder) as scratch:
        url = _query(request, "url")
        if url is not None:
            resolver = InputResolver(server, request, principal, scratch, limit)
            ref = FileRef(url=url, name=_query(request, "filename"))
            (fetched,) = await resolver.all([partial(_resolve, resolver, ref, "url")])
            assert isinstance(fetched, Artifact)  # a URL's content is fetched and stored
            return _uploaded(request, fetched)
        boundary = multipart_boundary(request)
        if boundary is not None:
            parts, received = await read_multipart(
                request, boundary, scratch, max_file_bytes=limit, max_files=1
            )
            uploads = [p for p in parts if isinstance(p, UploadedFile)]
            if not uploads:
                raise invalid_parameter("File", "the form has no file")
            path, filename = uploads[0].path, uploads[0].filename or None
        else:
            path, received = await read_raw(request, scratch, max_bytes=limit)
            filename = _query(request, "filename") or disposition_filename(
                request.headers.get("content-disposition", "")
            )
        if received == 0:
            raise invalid_parameter("File", "the uploaded file is empty")
        artifact = await run_in_threadpool(server.intake.store_file, path, filename or "file")
        await run_in_threadpool(server.tenancy.own, principal, [artifact])
    server.metrics.bytes_in.inc(received)
    return _uploaded(request, artifact)


def _uploaded(request: Request, artifact: Artifact) -> Response:
    ext = artifact.format if artifact.format != "bin" else _extension(artifact.name, "bin")
    return _json(request, {"FileId": artifact.id, "FileName": artifact.name, "FileExt": ext})


def _query(request: Request, name: str) -> str | None:
    return next((v for k, v in request.query_params.multi_items() if k.lower() == name and v.strip()), None)


#: The charsets RFC 5987 allows in ``filename*``.
_RFC5987_CHARSETS = frozenset({"utf-8", "iso-8859-1"})


def disposition_filename(header: str) -> str | None:
    """The file name of a ``Content-Disposition`` header: ``filename*=UTF-8''…`` (RFC 5987) over
    ``filename="…"`` (RFC 6266)."""
    if not header.strip():
        return None
    message = email.message.Message()
    message["content-disposition"] = header
    plain: str | None = None
    for key, value in message.get_params(header="content-disposition") or []:
        if key.lower() != "filename":
            continue
        if isinstance(value, tuple):  # the extended form: (charset, language, percent-decoded text)
            charset, _, text = value
            if (charset or "").lower() not in _RFC5987_CHARSETS:
                continue
            try:
                return text.encode("latin-1").decode(charset).strip() or None
            except UnicodeError:
                continue
        plain = plain or value.strip() or None
    return plain


async def _download(request: Request, file_id: str, name: str | None) -> Response:
    server = server_of(request)
    expires, signature = request.query_params.get("expires"), request.query_params.get("signature")
    if signature is not None or expires is not None:
        try:
            expires_at = int(expires) if expires is not None else None
        except ValueError:
            raise invalid_parameter("expires", "must be a Unix time") from None
        server.links.check(file_id, expires_at, signature)
        artifact = await run_in_threadpool(server.store.get, file_id)
    else:
        principal = admit(request, "read")
        artifact = await run_in_threadpool(server.tenancy.file_for, principal, file_id)
    response = await artifact_response(request, artifact)
    response.headers.update(rate_limit_headers(request))
    if name:
        response.headers["Content-Disposition"] = content_disposition(name)
    return response


_DOWNLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": ANY_FILE, "description": "The file, with its own media type."},
    **errors(400, 404, model=ConvertApiErrorBody),
}


@router.get(
    "/d/{file_id}/{name}",
    summary="Download a stored file (ConvertAPI)",
    response_class=Response,
    responses=_DOWNLOAD_RESPONSES,
)
async def download_named(request: Request, file_id: str, name: str) -> Response:
    return await _download(request, file_id, name)


@router.get(
    "/d/{file_id}",
    summary="Download a stored file (ConvertAPI)",
    response_class=Response,
    responses=_DOWNLOAD_RESPONSES,
)
async def download(request: Request, file_id: str) -> Response:
    return await _download(request, file_id, None)


@router.delete(
    "/d/{file_id}",
    summary="Delete a stored file (ConvertAPI)",
    responses={
        200: {"content": {"application/json": {"schema": {"type": "object", "maxProperties": 0}}}},
        **errors(404, model=ConvertApiErrorBody),
    },
)
async def delete(request: Request, file_id: str) -> Response:
    server = server_of(request)
    principal = admit(request, "convert")
    await run_in_threadpool(server.tenancy.delete_for, principal, file_id)
    return _json(request, {})


@router.get("/user", summary="Account information (ConvertAPI)", responses={200: {"model": Account}})
async def user(request: Request) -> Response:
    """The key's account: ``Active``, its name and id, its tier, and the tier's monthly conversions
    (``ConversionsTotal``; 0 when unlimited) with those used this month."""
    principal = admit(request, "read")
    guard = guard_of(request)
    used = await run_in_threadpool(guard.used_conversions, principal)
    return _json(
        request,
        {
            "Active": True,
            "FullName": principal.name,
            "ApiKey": principal.key_id,
            "Status": "Active",
            "Tier": principal.tier.name,
            "ConversionsTotal": principal.tier.monthly_conversions or 0,
            "ConversionsConsumed": used,
        },
    )
