"""Discovery: formats, converters with their option schemas, and routes with their explanation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query, Request

from conversio_server.access import Read
from conversio_server.auth import Principal
from conversio_server.models import ErrorBody, Targets
from conversio_server.routes.common import server_of

router = APIRouter()

_VIA = Query([], max_length=8, description="Waypoints (repeat, or separate with commas).")


@router.get("/formats", summary="Known formats")
async def formats(request: Request, principal: Principal = Read) -> Any:
    server = server_of(request)
    readable = {c.source for c in server.conversio.converters()}
    writable = set(server.conversions.output_formats())
    return {
        "formats": [
            {
                "name": f.name,
                "kind": f.kind.value,
                "description": f.description,
                "extensions": list(f.extensions),
                "mediaTypes": list(f.media_types),
                "aliases": list(f.aliases),
                "readable": f.name in readable,
                "writable": f.name in writable,
            }
            for f in server.conversio.formats
        ]
    }


@router.get(
    "/formats/{format}/targets",
    summary="The formats reachable from a format",
    description="Every format some route (of one or more converters) leads to from `format` (a format's "
    "name, extension or alias), with its kind, as `GET /v1/route` would find them.",
    response_model=Targets,
    responses={400: {"model": ErrorBody}},
)
async def targets(
    request: Request, source: str = Path(..., alias="format", max_length=32), principal: Principal = Read
) -> Any:
    conversio = server_of(request).conversio
    names = conversio.targets(source)
    known = {f.name: f for f in conversio.formats}
    return {
        "format": conversio.canonical(source),
        "targets": [
            {"name": n, "kind": known[n].kind.value, "description": known[n].description}
            for n in names
            if n in known
        ],
    }


@router.get(
    "/converters",
    summary="Converters and operations, with their option schemas",
    responses={400: {"model": ErrorBody}},
)
async def converters(
    request: Request,
    source: str | None = Query(None, alias="from", max_length=32, description="Only from this format."),
    target: str | None = Query(None, alias="to", max_length=32, description="Only to this format."),
    principal: Principal = Read,
) -> Any:
    specs = server_of(request).conversio.converters(source, target)
    return {"converters": [s.describe() for s in specs]}


@router.get(
    "/route",
    summary="The route between two formats, and why",
    responses={400: {"model": ErrorBody}},
)
async def route(
    request: Request,
    source: str = Query(..., alias="from", min_length=1, max_length=32),
    target: str = Query(..., alias="to", min_length=1, max_length=32),
    via: list[str] = _VIA,
    principal: Principal = Read,
) -> Any:
    waypoints = [v.strip() for item in via for v in item.split(",") if v.strip()]
    found = server_of(request).conversio.route(source, target, via=waypoints)
    return {**found.to_dict(), "explanation": found.explain()}
