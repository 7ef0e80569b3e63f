"""What ``conversio serve`` does before serving: the checks that refuse a bad set-up with a coded error,
and uvicorn's configuration (its HTTP protocol cuts off slow request headers)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import uvicorn

from conversio_server.database import create_engine
from conversio_server.settings import ServerSettings
from conversio_server.signing import SignedLinks
from conversio_server.timeouts import guarded_protocol

if TYPE_CHECKING:
    from conversio.api import Conversio


def check_setup(settings: ServerSettings, conversio: Conversio) -> None:
    """Bring the database to the newest schema, and refuse what would stop the app from starting (a
    database a newer release upgraded, a store that cannot sign links when asked to) with the error
    itself, before uvicorn would report it as a traceback."""
    engine = create_engine(settings.database_url)
    try:
        SignedLinks.of(settings, engine, conversio)
    finally:
        engine.dispose()


def page_url(settings: ServerSettings, port: int) -> str:
    """Where a person opens the web page: the public URL, else this server's address and ``port`` (a
    wildcard address as the loopback one, which works on the server's own machine)."""
    if settings.public_url:
        return settings.public_url.rstrip("/") + "/"
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(settings.host, settings.host)
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def uvicorn_config(app: Any, settings: ServerSettings, **options: Any) -> uvicorn.Config:
    """uvicorn's configuration for ``app`` as ``settings`` ask (``options``: more of uvicorn's own)."""
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        http=guarded_protocol(settings.read_timeout),
        server_header=False,
        **options,
    )
