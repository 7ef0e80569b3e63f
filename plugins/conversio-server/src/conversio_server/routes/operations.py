"""Operational endpoints: liveness, readiness and Prometheus metrics (no API key needed).

``/metrics`` shows this process's metrics and the cluster's, read from the shared database at each
scrape (:meth:`Fleet.census <conversio_server.fleet.Fleet.census>`: a few indexed reads)."""

from __future__ import annotations

import io
import logging
import time
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from conversio_server.fleet import Fleet
from conversio_server.metrics import cluster_metrics
from conversio_server.responses import JSON
from conversio_server.routes.common import server_of

log = logging.getLogger("conversio_server")
router = APIRouter()


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> Any:
    return {"status": "ok"}


_READINESS = {"type": "object", "properties": {"status": {"enum": ["ready", "unavailable"]}, "checks": {}}}


@router.get(
    "/readyz",
    summary="Readiness: converters loaded, store writable, database reachable, every worker alive",
    responses={
        200: {"content": {"application/json": {"schema": _READINESS}}, "description": "Ready."},
        503: {"content": {"application/json": {"schema": _READINESS}}, "description": "Not ready."},
    },
)
async def readyz(request: Request) -> Response:
    server = server_of(request)
    checks: dict[str, Any] = {}
    converters = len(server.conversio.converters())
    broken = [p.name for p in server.conversio.plugins if p.status == "broken"]
    checks["engines"] = {"ok": converters > 0, "converters": converters, "brokenPlugins": broken}
    checks["store"] = await run_in_threadpool(_store_check, server)
    checks["database"] = await run_in_threadpool(database_check, server.jobstore.engine)
    checks["jobWorkers"] = _job_workers_check(request)
    checks["conversionWorkers"] = _conversion_workers_check(server)
    ready = all(c["ok"] for c in checks.values())
    return JSON(
        {"status": "ready" if ready else "unavailable", "checks": checks}, status_code=200 if ready else 503
    )


def _job_workers_check(request: Request) -> dict[str, Any]:
    """Whether as many job workers as configured are ready (a dead one is being replaced)."""
    background = getattr(request.app.state, "background", None)
    pool = None if background is None else background.pool
    if pool is None:
        return {"ok": True, "alive": 0, "configured": 0}
    alive = pool.alive()
    check: dict[str, Any] = {"ok": alive >= pool.count, "alive": alive, "configured": pool.count}
    if not check["ok"]:
        check["reason"] = f"{pool.count - alive} of {pool.count} job workers are starting or being replaced"
    return check


def _conversion_workers_check(server: Any) -> dict[str, Any]:
    """Whether the pool of conversion workers can run tasks (it replaces a dead worker at once)."""
    health = server.conversio.health()
    check: dict[str, Any] = {"ok": health.ok, "size": health.size, "running": health.running}
    if health.closed:
        check["reason"] = "the conversion workers are shut down"
    elif health.failure is not None:
        log.warning("conversion workers cannot be started: %s", health.failure)
        check["reason"] = "conversion workers cannot be started; see the server's log"
    return check


def database_check(engine: sa.Engine) -> dict[str, Any]:
    """One round trip to the database (jobs, keys, the webhook outbox live there)."""
    started = time.monotonic()
    try:
        with engine.connect() as db:
            db.execute(sa.text("SELECT 1"))
    except Exception as exc:  # reported, not raised; the URL (and its password) is not shown
        log.warning("the database is not reachable: %s", type(exc).__name__)
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "seconds": round(time.monotonic() - started, 4)}


def _store_check(server: Any) -> dict[str, Any]:
    """Write, read back and delete a tiny probe file."""
    started = time.monotonic()
    try:
        probe = server.store.put_stream(
            io.BytesIO(b"conversio readiness probe"), name="probe.txt", format="txt"
        )
        try:
            with server.store.open(probe.id) as reader:
                ok = reader.read() == b"conversio readiness probe"
        finally:
            server.store.delete(probe.id)
    except Exception as exc:  # reported, not raised: readiness says what is wrong
        log.warning("the store is not writable: %s", exc)
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": ok, "seconds": round(time.monotonic() - started, 4)}


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(request: Request) -> Response:
    server = server_of(request)
    cluster = await run_in_threadpool(_cluster, server.jobstore.engine)
    return Response(server.metrics.render() + cluster, media_type=server.metrics.content_type)


def _cluster(engine: sa.Engine) -> bytes:
    """The cluster's metrics; none when the database does not answer (this process's are shown)."""
    try:
        census = Fleet(engine).census()
    except sa.exc.SQLAlchemyError as exc:
        log.warning("the cluster's metrics could not be read: %s", type(exc).__name__)
        return b""
    return cluster_metrics(census)
