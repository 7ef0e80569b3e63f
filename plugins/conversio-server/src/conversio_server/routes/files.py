"""Stored files: upload (streamed), metadata, download (with a key or a signed link), delete."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from conversio_server.access import Convert, Read, authenticate, upload_limit
from conversio_server.auth import Principal
from conversio_server.errors import ApiError
from conversio_server.models import ErrorBody, FileList, StoredFile, StoredFiles
from conversio_server.openapi import ANY_FILE, errors
from conversio_server.routes.common import artifact_response, describe, server_of
from conversio_server.uploads import Scratch, UploadedFile, multipart_boundary, read_multipart, read_raw

router = APIRouter()

_FILENAME = re.compile(r"""filename\*?=(?:UTF-8''|"?)([^";]+)"?""", re.IGNORECASE)

_UPLOAD_DESCRIPTION = """Store files for later conversions (their ids are inputs of `POST /v1/convert`).

Either `multipart/form-data` with one or more `file` parts, or the raw content as the body with its name
in `Content-Disposition: attachment; filename="report.pdf"` (or `?name=`). The body is streamed to the
store; a file over the size limit is refused with 413 as soon as the limit is crossed. Stored files
expire after the server's retention."""


@router.post(
    "/files",
    status_code=201,
    summary="Upload files",
    description=_UPLOAD_DESCRIPTION,
    response_model=StoredFiles,
    responses={
        400: {"model": ErrorBody},
        413: {"model": ErrorBody},
        422: {"model": ErrorBody},
        507: {"model": ErrorBody, "description": "The server's disk is full; nothing was kept."},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "file": {
                                "type": "array",
                                "items": {"type": "string", "format": "binary"},
                                "minItems": 1,
                            }
                        },
                        "required": ["file"],
                    }
                },
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def upload(
    request: Request, name: str | None = Query(None, max_length=255), principal: Principal = Convert
) -> Any:
    server = server_of(request)
    limit = upload_limit(principal, server.settings.max_upload_bytes)
    with Scratch(server.scratch_folder) as scratch:
        boundary = multipart_boundary(request)
        if boundary is not None:
            parts, received = await read_multipart(
                request, boundary, scratch, max_file_bytes=limit, max_files=server.settings.max_files
            )
            uploads = [p for p in parts if isinstance(p, UploadedFile)]
            if not uploads:
                raise ApiError("INVALID_REQUEST", "the form has no 'file' part")
            stored = await run_in_threadpool(
                lambda: [server.intake.store_file(p.path, p.filename) for p in uploads]
            )
        else:
            path, received = await read_raw(request, scratch, max_bytes=limit)
            filename = name or _filename(request.headers.get("content-disposition", "")) or "file"
            stored = [await run_in_threadpool(server.intake.store_file, path, filename)]
        await run_in_threadpool(server.tenancy.own, principal, stored)
    server.metrics.bytes_in.inc(received)
    return {"files": [describe(request, a) for a in stored]}


def _filename(header: str) -> str | None:
    from urllib.parse import unquote

    match = _FILENAME.search(header)
    return unquote(match.group(1)) if match else None


@router.get(
    "/files",
    summary="List stored files",
    description="The files the key uploaded or produced (intermediate results of its jobs included), "
    "newest first, until they expire; every stored file with an `admin` key.",
    response_model=FileList,
)
async def list_files(
    request: Request, limit: int = Query(100, ge=1, le=1000), principal: Principal = Read
) -> Any:
    found = await run_in_threadpool(server_of(request).tenancy.files_of, principal, limit)
    return {"files": [describe(request, a) for a in found]}


@router.get(
    "/files/{file_id}",
    summary="A stored file's metadata",
    description="Of a file the key uploaded or produced (any file with an `admin` key); another's is 404.",
    response_model=StoredFile,
    responses={404: {"model": ErrorBody}},
)
async def metadata(request: Request, file_id: str, principal: Principal = Read) -> Any:
    artifact = await run_in_threadpool(server_of(request).tenancy.file_for, principal, file_id)
    return describe(request, artifact)


@router.get(
    "/files/{file_id}/content",
    summary="Download a stored file",
    description="With the API key that owns the file (or an `admin` key), or without a key by the signed "
    "`downloadUrl`, which reads this one file until it expires.",
    response_class=Response,
    responses={
        200: {"content": ANY_FILE, "description": "The file, with its own media type."},
        **errors(400, 401, 404),
    },
)
async def content(
    request: Request,
    file_id: str,
    expires: int | None = Query(None, description="Signed links: when the link expires (Unix time)."),
    signature: str | None = Query(None, max_length=256, description="Signed links: the signature."),
) -> Response:
    server = server_of(request)
    if signature is not None or expires is not None:
        server.links.check(file_id, expires, signature)
        artifact = await run_in_threadpool(server.store.get, file_id)
    else:
        principal = await authenticate(request, "read")
        artifact = await run_in_threadpool(server.tenancy.file_for, principal, file_id)
    return await artifact_response(request, artifact)


@router.delete(
    "/files/{file_id}",
    status_code=204,
    summary="Delete a stored file",
    description="A file the key owns (any file with an `admin` key); another key's is 404.",
    responses={404: {"model": ErrorBody}},
)
async def delete(request: Request, file_id: str, principal: Principal = Convert) -> Response:
    server = server_of(request)
    await run_in_threadpool(server.tenancy.delete_for, principal, file_id)
    return Response(status_code=204)
