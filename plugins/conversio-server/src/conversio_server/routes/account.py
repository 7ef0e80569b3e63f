"""The caller's own key: ``GET /v1/me``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from conversio_server.access import Read
from conversio_server.auth import Principal
from conversio_server.models import Me
from conversio_server.routes.common import server_of

router = APIRouter()


@router.get(
    "/me",
    summary="The API key in use",
    description="Its name, tier and scopes (a way to check a key). In development mode `dev` is true.",
    response_model=Me,
)
async def me(request: Request, principal: Principal = Read) -> Any:
    return {
        "dev": server_of(request).settings.dev,
        "name": principal.name,
        "tier": principal.tier.name,
        "scopes": sorted(principal.scopes),
    }
