"""Gotenberg 8 compatibility: Gotenberg's clients work unchanged against a conversio server.

Mount with ``app.include_router(conversio_server.gotenberg.router)``. The routes are in
:mod:`.routes`; the form fields are read by :mod:`.forms` and mapped onto conversio's options by
:mod:`.chromium`, :mod:`.libreoffice` and :mod:`.pdfengines`; the answers, statuses and trace are in
:mod:`.answers`, the webhook deliveries in :mod:`.webhook`. The mapping table is
``docs/reference/gotenberg.md``.
"""

from conversio_server.gotenberg.routes import router

__all__ = ["router"]
