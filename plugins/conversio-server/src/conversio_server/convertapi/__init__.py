"""ConvertAPI v2 wire compatibility: ConvertAPI clients work unchanged against a conversio server.

Mount with ``app.include_router(conversio_server.convertapi.router)``; the mapping of converter names
and parameters is in :mod:`conversio_server.convertapi.mapping` and ``docs/reference/convertapi.md``.
"""

from conversio_server.convertapi.routes import router

__all__ = ["router"]
