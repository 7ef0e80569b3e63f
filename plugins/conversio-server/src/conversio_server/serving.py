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
