"""The uvicorn configuration of ``conversio serve``: its HTTP protocol cuts off slow request headers."""

from __future__ import annotations

from typing import Any

import uvicorn

from conversio_server.settings import ServerSettings
from conversio_server.timeouts import guarded_protocol


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
