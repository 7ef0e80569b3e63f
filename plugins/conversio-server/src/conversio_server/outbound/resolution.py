"""Resolving a host and checking every address it resolves to: refused when *any* of them is
forbidden (:mod:`.addresses`) and not let through by the policy's allow list.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

from conversio_server.outbound.addresses import IPAddress, forbidden_reason
from conversio_server.outbound.errors import failed, log, refused
from conversio_server.outbound.policy import OutboundPolicy

#: ``(host, port) -> addresses``; the default asks the system resolver (getaddrinfo).
Resolver = Callable[[str, int], list[str]]


def default_resolver(host: str, port: int) -> list[str]:
    """The system resolver's addresses for ``host`` (getaddrinfo, TCP)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


def _url_host(address: IPAddress) -> str:
    """An address as it is written in a URL (IPv6 in brackets)."""
    return f"[{address}]" if address.version == 6 else str(address)


def resolve_checked(host: str, port: int, policy: OutboundPolicy, resolver: Resolver) -> list[IPAddress]:
    """Every address of ``host``, each checked; refused when *any* of them is forbidden."""
    shown = f"{host}:{port}"  # restated with the whole URL by the client (errors.restated)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        candidates = [literal]
    else:
        try:
            answers = resolver(host, port)
        except (OSError, UnicodeError) as exc:
            log.info("resolving %s failed: %s", host, exc)
            raise failed(shown, "URL_UNREACHABLE", f"the host {host!r} could not be resolved") from None
        try:
            candidates = list(dict.fromkeys(ipaddress.ip_address(a.split("%", 1)[0]) for a in answers))
        except ValueError:
            raise refused(shown, f"the resolver gave an unusable answer for {host!r}") from None
        if not candidates:
            raise failed(shown, "URL_UNREACHABLE", f"the host {host!r} has no address")
    for address in candidates:
        why = forbidden_reason(address)
        if why is not None and not policy.permits(host, address):
            if literal is not None:
                raise refused(shown, f"{_url_host(address)} is {why}")
            raise refused(shown, f"{host} resolves to {_url_host(address)}, which is {why}")
    return candidates
