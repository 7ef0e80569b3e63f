"""Gotenberg 8's routes: the multipart ``/forms/…`` routes, ``/health`` and ``/version``.

A request is authenticated (an API key as ``Authorization: Bearer`` or as the password of basic
auth), its form read and mapped (:mod:`.chromium`, :mod:`.libreoffice`, :mod:`.pdfengines`) onto a
conversio order, which runs as every conversion of the server does. Without webhook headers the
answer is the result; with them it is 204 at once, the conversion becomes a job of the key and its
result (or error) goes to the webhook through the outbox (:mod:`.webhook`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import PlainTextResponse, Response

from conversio.ingest import Arriving
from conversio_server.auth import Principal, bearer_key, guard_of
from conversio_server.gotenberg import chromium, downloads, libreoffice, pdfengines, webhook
from conversio_server.gotenberg.answers import (
    GotenbergError,
    GotenbergRoute,
    respond,
    trace_of,
    wanted_name,
)
from conversio_server.gotenberg.forms import Form
from conversio_server.gotenberg.job_webhook import JobWebhook
from conversio_server.gotenberg.sources import Sources, Work
from conversio_server.inputs import InputResolver, stored
from conversio_server.responses import JSON
from conversio_server.routes.common import server_of, small_content
from conversio_server.runner import wait_for
from conversio_server.service import Server
from conversio_server.uploads import Field, Scratch, multipart_boundary, read_multipart

log = logging.getLogger("conversio_server.gotenberg")
router = APIRouter(route_class=GotenbergRoute, tags=["gotenberg"], include_in_schema=False)

#: Gotenberg's modules and the prefix of the conversio converters that provide each.
MODULES = {"chromium": "chromium:", "libreoffice": "office.libreoffice:"}
#: The Gotenberg API this server speaks (``/version`` answers it, with conversio's own version).
API_VERSION = "8.0.0"

Build = Callable[[Form, Sources], Work]


def _installed(server: Server, module: str) -> bool:
    return any(spec.id.startswith(MODULES[module]) for spec in server.conversio.converters())


async def _run(request: Request, build: Build, module: str | None = None) -> Response:
    """Authenticate, read the form, map it with ``build`` and convert, now or for the webhook."""
    trace, server = trace_of(request), server_of(request)
    principal = guard_of(request).admit(request, "convert", basic=True)
    if module is not None and not _installed(server, module):
        raise GotenbergError(404, f"Not Found: the {module} module is not installed on this server")
    hook = await run_in_threadpool(webhook.read, request.headers, server.settings.outbound)
    await run_in_threadpool(server.guard.check_quota, principal)
    boundary = multipart_boundary(request)
    if boundary is None:
        raise GotenbergError(415, "Unsupported Media Type: send multipart/form-data")
    limit = principal.upload_limit(server.settings.max_upload_bytes)
    with Scratch(server.scratch_folder) as scratch:
        parts, received = await read_multipart(
            request, boundary, scratch, max_file_bytes=limit, max_files=server.settings.max_files
        )
        server.metrics.bytes_in.inc(received)
        wanted = next((p.value for p in parts if isinstance(p, Field) and p.name == downloads.FIELD), "")
        if wanted:
            fetched = await run_in_threadpool(downloads.fetch, server, scratch, downloads.urls(wanted), limit)
            parts = [*parts, *fetched]
        resolver = InputResolver(server, request, principal, scratch, limit)
        work = build(Form(parts), Sources(server, principal, resolver, scratch))
        log.info("[%s] %s %s", trace, request.method, request.url.path)
        if hook is not None:
            return await _later(request, principal, work, hook, scratch)
        running = server.start(work.order, principal, partial(_single_small, server))
        try:
            finished = await wait_for(running.future, server.settings.sync_timeout)
        finally:
            await stored(running.inputs())  # uploads are read from the scratch files until stored
    if finished is None:  # Gotenberg's answer to a conversion past its time limit
        server.runner.withdraw(running.future)
        running.cancel.set()
        seconds = server.settings.sync_timeout
        raise GotenbergError(503, f"Service Unavailable: the conversion did not finish within {seconds:g} s")
    return await respond(request, finished.result, finished.answer, work.names)


def _single_small(server: Server, result: Any) -> bytes | None:
    """The content of a result that is one small file, read on the conversion's thread."""
    return small_content(server, result.artifacts[0]) if len(result.artifacts) == 1 else None


async def _later(
    request: Request, principal: Principal, work: Work, hook: webhook.Webhook, scratch: Scratch
) -> Response:
    """204 once the inputs are stored; the conversion goes on as a job of the key, which keeps the
    webhook: whoever ends the job (this node, or a worker after this node died) hands its result or
    error to the outbox (:mod:`.job_webhook`)."""
    server, trace = server_of(request), trace_of(request)
    running = server.start(work.order, principal, _nothing)
    order = await asyncio.wrap_future(running.order)  # a failure to store the inputs answers now
    uploads = scratch.release([i.path for i in order.inputs if isinstance(i, Arriving)])
    delivery = JobWebhook(hook, trace, wanted_name(request), work.names).to_spec()
    row = await run_in_threadpool(server.handoff.adopt, running, order, principal, uploads, delivery)
    log.info("[%s] job %s: its result goes to %s", trace, row["id"], hook.url)
    return Response(status_code=204)


def _nothing(result: Any) -> None:
    """A job's answer: its result is sent by the job (:mod:`.job_webhook`), not by the request."""


# -- the multipart routes ------------------------------------------------------------------------------


def _add(path: str, build: Build, module: str | None = None) -> None:
    async def route(request: Request) -> Response:
        return await _run(request, build, module)

    route.__name__ = "gotenberg_" + path.strip("/").replace("/", "_")
    router.add_api_route(path, route, methods=["POST"])


def _refused(what: str) -> Build:
    def build(form: Form, sources: Sources) -> Work:
        raise pdfengines.unsupported(what)

    return build


for _kind in ("url", "html", "markdown"):
    _add(f"/forms/chromium/convert/{_kind}", partial(chromium.convert, kind=_kind), "chromium")
    _add(f"/forms/chromium/screenshot/{_kind}", partial(chromium.screenshot, kind=_kind), "chromium")
_add("/forms/libreoffice/convert", libreoffice.convert, "libreoffice")
_add("/forms/pdfengines/merge", pdfengines.merge)
_add("/forms/pdfengines/split", pdfengines.split)
_add("/forms/pdfengines/encrypt", pdfengines.encrypt)
_add("/forms/pdfengines/metadata/write", pdfengines.write_metadata)
_add("/forms/pdfengines/rotate", pdfengines.rotate)
_add("/forms/pdfengines/watermark", pdfengines.watermark)
_add("/forms/pdfengines/stamp", pdfengines.stamp)
_add("/forms/pdfengines/convert", pdfengines.convert)
_add("/forms/pdfengines/flatten", pdfengines.flatten)
_add("/forms/pdfengines/metadata/read", _refused("read a PDF's metadata"))
_add("/forms/pdfengines/bookmarks/read", _refused("read a PDF's bookmarks"))
_add("/forms/pdfengines/bookmarks/write", _refused("write a PDF's bookmarks"))
_add("/forms/pdfengines/embed", _refused("embed files in a PDF"))


@router.post("/forms/{path:path}")
async def unknown(request: Request, path: str) -> Response:
    """Gotenberg's answer to a route it does not have."""
    guard_of(request).admit(request, "convert", basic=True)
    raise GotenbergError(404, f"Not Found: no route /forms/{path}")


# -- health and version ----------------------------------------------------------------------------------


@router.api_route("/health", methods=["GET", "HEAD"])
async def health(request: Request) -> Response:
    """Gotenberg's health: ``up`` when the conversion workers are, with each installed module
    (``HEAD`` too, as container health probes send it)."""
    server = server_of(request)
    pool = server.conversio.health()
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    state = "up" if pool.ok else "down"
    details: dict[str, Any] = {}
    for module in MODULES:
        if _installed(server, module):
            details[module] = {"status": state, "timestamp": now}
            if not pool.ok:
                details[module]["error"] = "the conversion workers are not running"
    return JSON({"status": state, "details": details}, status_code=200 if pool.ok else 503)


@router.get("/version")
async def version(request: Request) -> Response:
    """The Gotenberg API version this server speaks, then conversio's (``8.0.0+conversio.1.2.0``);
    for any valid key, as Gotenberg's basic auth guards it."""
    guard_of(request).authenticate(bearer_key(request, basic=True))
    return PlainTextResponse(f"{API_VERSION}+conversio.{request.app.version}")
