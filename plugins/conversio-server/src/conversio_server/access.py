"""Who may call a route: the dependencies of the ``read`` and ``convert`` scopes (``admin`` keys also
see every key's jobs).

API keys, tiers and limits are :mod:`conversio_server.auth`'s; this module names the
dependencies the routes use and what they take from the principal.
"""

from __future__ import annotations

from fastapi import Depends, Request

from conversio_server.auth import Principal, guard_of, require


async def authenticate(request: Request, scope: str) -> Principal:
    """The principal of ``request`` with ``scope``, for a route that only sometimes needs a key."""
    return guard_of(request).admit(request, scope)


def principal_id(principal: Principal) -> str:
    """The key the principal authenticated with (the owner of its jobs)."""
    return principal.key_id


def upload_limit(principal: Principal, server_limit: int) -> int:
    """The largest file this principal may send: the server's limit, or its tier's if smaller."""
    return principal.upload_limit(server_limit)


Read = Depends(require("read"))
Convert = Depends(require("convert"))
