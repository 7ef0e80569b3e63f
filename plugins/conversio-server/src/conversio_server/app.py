"""``create_app``: the FastAPI application of ``conversio serve``.

One :class:`conversio.Conversio` (worker processes, the settings' store) lives as long as the app;
a background task deletes expired files. Routers: the native API under ``/v1``, ConvertAPI's wire protocol
(:mod:`conversio_server.convertapi`), Gotenberg's (:mod:`conversio_server.gotenberg`), the operational
endpoints and the web page (:mod:`conversio_server.web`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from fastapi import APIRouter, FastAPI
from starlette.concurrency import run_in_threadpool

from conversio_server import convertapi, gotenberg, openapi
from conversio_server.background import Background
from conversio_server.body_memory import ByteBudget
from conversio_server.middleware import RequestContextMiddleware
from conversio_server.responses import install_error_handlers
from conversio_server.routes import account, convert, discovery, files, jobs, operations
from conversio_server.service import Server
from conversio_server.settings import ServerSettings
from conversio_server.timeouts import BodyTimeoutMiddleware
from conversio_server.web import routes as web
from conversio_server.web.security import CrossSiteGuard, SecurityHeaders

if TYPE_CHECKING:
    from conversio.api import Conversio

log = logging.getLogger("conversio_server")

DESCRIPTION = """conversio's conversion API: convert files synchronously, store them and chain conversions
by id or URL, discover formats, converters and routes.

Every error is `{"error": {"code", "message", "details", "requestId"}}`; every response carries
`X-Request-Id`. Authenticate with `Authorization: Bearer <key>` (not in development mode)."""


def v1_router() -> APIRouter:
    """The native API, to be mounted under ``/v1``."""
    router = APIRouter()
    errors = openapi.errors(401, 403, 429)
    for module in (convert, files, jobs, discovery, account):
        router.include_router(module.router, responses=errors)
    return router


def create_app(settings: ServerSettings | None = None, conversio: Conversio | None = None) -> FastAPI:
    """The application. ``conversio`` defaults to one with every installed plugin, worker processes
    and the settings' store; one passed in is used as it is and not closed by the app."""
    settings = settings or ServerSettings.load()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = conversio is None
        instance = conversio if conversio is not None else await run_in_threadpool(_make_conversio, settings)
        server = await run_in_threadpool(Server, settings, instance)
        app.state.server = server
        app.state.guard = server.guard
        sweeper = asyncio.create_task(_sweep_forever(server), name="conversio-sweep")
        background = Background(settings, server)
        await run_in_threadpool(background.start)
        app.state.background = background
        try:
            yield
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            await run_in_threadpool(background.stop)
            server.close()
            if owned:
                await run_in_threadpool(instance.close)

    app = FastAPI(
        title="conversio",
        version=_version(),
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    install_error_handlers(app)
    openapi.complete(app, lambda: app.state.server.conversio)
    app.state.json_budget = ByteBudget(settings.max_json_memory)
    app.add_middleware(
        BodyTimeoutMiddleware, read_timeout=settings.read_timeout, min_body_rate=settings.min_body_rate
    )
    app.add_middleware(CrossSiteGuard)
    app.add_middleware(RequestContextMiddleware)
    docs = (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url)
    app.add_middleware(SecurityHeaders, page_paths=web.PAGE_PATHS, exempt_paths=[p for p in docs if p])
    app.include_router(v1_router(), prefix="/v1", tags=["v1"])
    app.include_router(convertapi.router)
    app.include_router(gotenberg.router)
    app.include_router(operations.router, tags=["operations"])
    web.install(app)
    return app


def _make_conversio(settings: ServerSettings) -> Conversio:
    from conversio_server.worker import make_conversio

    return make_conversio(settings)


async def _sweep_forever(server: Server) -> None:
    """Really delete expired files (and forget old jobs) at start-up, with the leftovers of killed
    servers and workers, then every ``sweep_interval`` seconds."""
    while True:
        try:
            deleted = await run_in_threadpool(server.sweep)
        except Exception:
            log.exception("sweeping the store failed")
            deleted = 0
        if deleted:
            log.info("deleted %d expired file(s)", deleted)
        await asyncio.sleep(server.settings.sweep_interval)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("conversio-server")
    except PackageNotFoundError:
        return "0"
