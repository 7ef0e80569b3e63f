"""What the outbound client may reach (:class:`OutboundPolicy`: schemes, ports, the allow list,
size and time limits) and the checks a URL passes before anything is resolved
(:func:`check_url`: scheme, credentials, host form, port). Which addresses may be reached is
:mod:`conversio.outbound`'s to say.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

import attrs
import httpx

from conversio.outbound import AllowList, IPNetwork
from conversio_server.outbound.errors import as_shown, refused

MB = 1000 * 1000

_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$", re.IGNORECASE)
_DOTTED_QUAD = re.compile(
    r"^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$"
)


def _to_allow(entries: AllowList | Iterable[str | IPNetwork]) -> AllowList:
    return entries if isinstance(entries, AllowList) else AllowList(entries)


@attrs.frozen(kw_only=True)
class OutboundPolicy:
    """What the outbound client may reach, and how much and how long it may read.

    ``allow`` (an :class:`~conversio.outbound.AllowList`, or its entries) lists networks
    (``10.0.0.0/8``, ``127.0.0.1``) or exact host names whose addresses are permitted although
    not public; everything else must resolve to public addresses only. ``ports`` (``None``: any)
    restricts the destination port. Times are seconds; ``total_timeout`` bounds a whole fetch,
    redirects included.
    """

    allow: AllowList = attrs.field(factory=AllowList, converter=_to_allow)
    max_bytes: int = 500 * MB
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_timeout: float = 300.0
    max_redirects: int = 5
    schemes: frozenset[str] = frozenset({"http", "https"})
    ports: frozenset[int] | None = None


def check_url(url: httpx.URL | str, policy: OutboundPolicy) -> httpx.URL:
    """``url`` parsed and checked for what can be told without resolving it (scheme, host form, port)."""
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise refused(str(url)[:200], f"not a valid URL ({exc})") from None
    shown = as_shown(parsed) if parsed.host else str(url)[:200]
    if parsed.scheme not in policy.schemes:
        raise refused(shown, f"the scheme {parsed.scheme or '(none)'!r} is not one of http, https")
    if parsed.userinfo:
        raise refused(shown, "credentials in the URL are not accepted")
    host = parsed.host
    if not host:
        raise refused(shown, "the URL has no host")
    if "%" in host:
        raise refused(shown, "IPv6 zone identifiers are not accepted")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        labels = host.rstrip(".").split(".")
        if _NUMERIC_LABEL.match(labels[-1]) and not _DOTTED_QUAD.match(host):
            raise refused(shown, f"the numeric host {host!r} is not a dotted-decimal IPv4 address") from None
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    if policy.ports is not None and port not in policy.ports:
        raise refused(shown, f"the port {port} is not allowed")
    return parsed
