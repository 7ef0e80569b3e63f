"""``GET /v1/jobs/{id}``: the status of a conversion, and its results once done."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from conversio.errors import ArtifactNotFound
from conversio_server.access import Read, principal_id
from conversio_server.auth import Principal
from conversio_server.models import ErrorBody, JobView
from conversio_server.routes.common import base_url, describe, server_of
from conversio_server.service import iso

router = APIRouter()


@router.get(
    "/jobs/{job_id}",
    summary="A conversion job's status",
    description="Jobs are made when a conversion outlives the sync limit (the 202 of `POST /v1/convert`).",
    response_model=JobView,
    responses={404: {"model": ErrorBody}},
)
async def job_status(request: Request, job_id: str, principal: Principal = Read) -> Any:
    server = server_of(request)
    owner = None if "admin" in principal.scopes else principal_id(principal)
    job = server.jobs.get(job_id, owner)
    files = []
    if job.outputs:
        try:
            files = [describe(request, server.get(a.id)) for a in job.outputs]
        except ArtifactNotFound:  # expired meanwhile: the job is reported without them
            files = []
    return {
        "jobId": job.id,
        "status": job.status.value,
        "progress": round(job.progress, 4),
        "step": job.step,
        "createdAt": iso(job.created),
        "updatedAt": iso(job.updated),
        "url": f"{base_url(request)}/v1/jobs/{job.id}",
        "files": files,
        "warnings": list(job.warnings),
        "error": job.error,
    }
