"""The page routes (``/``, ``/history``, ``/sign-in``) and the static files under ``/static``.

The pages are shells: their ES modules fetch everything from the public API with the key the person
typed on ``/sign-in``, so the routes need no key and hold no data of any key.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from conversio_server.routes.common import server_of

HERE = Path(__file__).parent
_TEMPLATES = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)

router = APIRouter(include_in_schema=False)


def _page(request: Request, template: str, page: str, title: str) -> HTMLResponse:
    auth = "none" if server_of(request).settings.dev else "key"
    html = _TEMPLATES.get_template(template).render(page=page, title=title, auth=auth)
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


@router.api_route("/", methods=["GET", "HEAD"])
async def convert_page(request: Request) -> HTMLResponse:
    return _page(request, "convert.html", "convert", "Convert files")


@router.api_route("/history", methods=["GET", "HEAD"])
async def history_page(request: Request) -> HTMLResponse:
    return _page(request, "history.html", "history", "History")


@router.api_route("/sign-in", methods=["GET", "HEAD"])
async def sign_in_page(request: Request) -> HTMLResponse:
    return _page(request, "sign_in.html", "sign-in", "Sign in")


#: The paths of the pages (they get :data:`~conversio_server.web.security.PAGE_HEADERS`).
PAGE_PATHS = tuple(route.path for route in router.routes if isinstance(route, APIRoute))


def install(app: FastAPI) -> None:
    """Add the pages and their static files to ``app``."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
