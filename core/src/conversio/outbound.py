"""Which network addresses conversio may reach when it fetches something for a user: an input URL,
a webhook, or whatever a web page being converted asks for.

- :func:`forbidden_reason`: loopback, private, link-local, cloud metadata, documentation,
  multicast, … ranges of IPv4 and IPv6, and IPv4 addresses embedded in IPv6 ones (mapped,
  translated, compatible, NAT64, 6to4) judged by the address they carry;
- :class:`AllowList`: networks or exact host names let through although not public
  (``CONVERSIO_URL_ALLOW``, or the server's ``url_allow`` setting);
- :func:`resolve_checked`: every address a host resolves to, refused when *any* of them is
  forbidden and not allowed, so that a client connects only to an address checked here.

Refusals are :class:`~conversio.errors.InvalidRequest` with ``details`` ``reason``
(``URL_NOT_ALLOWED`` or ``URL_UNREACHABLE``), ``why`` and ``url`` (``host:port``).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import socket
from collections.abc import Callable, Iterable, Mapping

import attrs

from conversio.errors import InvalidOption, InvalidRequest

log = logging.getLogger("conversio.outbound")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: The environment variable holding the allow list (comma or space separated).
ALLOW_ENV = "CONVERSIO_URL_ALLOW"

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network

#: Checked first: these name the danger better than "private".
_METADATA = {
    ipaddress.ip_address("169.254.169.254"): "a cloud metadata address",
    ipaddress.ip_address("fd00:ec2::254"): "a cloud metadata address",
    ipaddress.ip_address("100.100.100.200"): "a cloud metadata address",
}

_FORBIDDEN_V4: tuple[tuple[IPNetwork, str], ...] = (
    (_V4("0.0.0.0/8"), "'this network' (0.0.0.0/8)"),
    (_V4("10.0.0.0/8"), "private (RFC 1918)"),
    (_V4("100.64.0.0/10"), "shared carrier-grade NAT space (100.64.0.0/10)"),
    (_V4("127.0.0.0/8"), "loopback"),
    (_V4("169.254.0.0/16"), "link-local"),
    (_V4("172.16.0.0/12"), "private (RFC 1918)"),
    (_V4("192.0.0.0/24"), "IETF protocol assignments (192.0.0.0/24)"),
    (_V4("192.0.2.0/24"), "documentation (TEST-NET-1)"),
    (_V4("192.88.99.0/24"), "6to4 relay anycast"),
    (_V4("192.168.0.0/16"), "private (RFC 1918)"),
    (_V4("198.18.0.0/15"), "benchmarking (198.18.0.0/15)"),
    (_V4("198.51.100.0/24"), "documentation (TEST-NET-2)"),
    (_V4("203.0.113.0/24"), "documentation (TEST-NET-3)"),
    (_V4("224.0.0.0/4"), "multicast"),
    (_V4("255.255.255.255/32"), "broadcast"),
    (_V4("240.0.0.0/4"), "reserved (240.0.0.0/4)"),
)

_FORBIDDEN_V6: tuple[tuple[IPNetwork, str], ...] = (
    (_V6("::/128"), "unspecified"),
    (_V6("::1/128"), "loopback"),
    (_V6("64:ff9b:1::/48"), "local-use NAT64 (64:ff9b:1::/48)"),
    (_V6("100::/64"), "discard-only (100::/64)"),
    (_V6("2001::/32"), "Teredo tunnelling (2001::/32)"),
    (_V6("2001:db8::/32"), "documentation (2001:db8::/32)"),
    (_V6("3fff::/20"), "documentation (3fff::/20)"),
    (_V6("fc00::/7"), "unique local (fc00::/7)"),
    (_V6("fe80::/10"), "link-local"),
    (_V6("fec0::/10"), "site-local (deprecated)"),
    (_V6("ff00::/8"), "multicast"),
)

#: IPv6 ranges that carry an IPv4 address in known bits: (network, label, offset of the v4 bits).
_EMBEDS_V4: tuple[tuple[IPNetwork, str, int], ...] = (
    (_V6("::ffff:0:0/96"), "IPv4-mapped", 0),
    (_V6("::ffff:0:0:0/96"), "IPv4-translated", 0),
    (_V6("::/96"), "IPv4-compatible", 0),
    (_V6("64:ff9b::/96"), "NAT64", 0),
    (_V6("2002::/16"), "6to4", 80),
)


def forbidden_reason(address: IPAddress) -> str | None:
    """Why ``address`` may not be reached, or ``None`` for a public address."""
    if address in _METADATA:
        return _METADATA[address]
    if isinstance(address, ipaddress.IPv6Address):
        for network, label, shift in _EMBEDS_V4:
            if address in network and int(address) > 1:  # "::" and "::1" are not IPv4-compatible
                inner = ipaddress.IPv4Address((int(address) >> shift) & 0xFFFFFFFF)
                why = forbidden_reason(inner)
                return None if why is None else f"{label} form of {inner}, {why}"
        table = _FORBIDDEN_V6
    else:
        table = _FORBIDDEN_V4
    for network, label in table:
        if address in network:
            return label
    if not address.is_global:
        return "not globally routable"
    return None


def _as_entry(entry: str | IPNetwork) -> str | IPNetwork:
    """A network (``10.0.0.0/8``, ``127.0.0.1``) or else a host name, lower case without its final dot."""
    if isinstance(entry, ipaddress.IPv4Network | ipaddress.IPv6Network):
        return entry
    try:
        return ipaddress.ip_network(entry.strip(), strict=False)
    except ValueError:
        return entry.strip().lower().rstrip(".")


def _as_entries(entries: Iterable[str | IPNetwork]) -> tuple[str | IPNetwork, ...]:
    if isinstance(entries, str):
        entries = (entries,)
    return tuple(_as_entry(e) for e in entries)


@attrs.frozen
class AllowList:
    """Networks (``10.0.0.0/8``, ``127.0.0.1``) or exact host names whose addresses may be reached
    although they are not public. ``AllowList(("10.0.0.0/8", "files.internal"))``; empty: public
    addresses only."""

    entries: tuple[str | IPNetwork, ...] = attrs.field(default=(), converter=_as_entries)

    @classmethod
    def parse(cls, texts: Iterable[str], *, option: str) -> AllowList:
        """An allow list from entries a user wrote; one that is neither a network nor a host name
        is an :class:`~conversio.errors.InvalidOption` naming ``option`` (where it was written)."""
        texts = tuple(texts)
        for text in texts:
            try:
                ipaddress.ip_network(text, strict=False)
            except ValueError:
                if not text or any(c in text for c in "/:@ ") or text.startswith("."):
                    raise InvalidOption(
                        f"{option} entries are networks (10.0.0.0/8) or host names, not {text!r}",
                        option=option,
                    ) from None
        return cls(texts)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AllowList:
        """The allow list in ``CONVERSIO_URL_ALLOW`` (entries separated by commas or spaces)."""
        env = os.environ if environ is None else environ
        return cls.parse([t for t in re.split(r"[\s,]+", env.get(ALLOW_ENV, "")) if t], option=ALLOW_ENV)

    def to_env(self) -> str:
        """The entries as :meth:`from_env` reads them back from ``CONVERSIO_URL_ALLOW``."""
        return ",".join(str(e) for e in self.entries)

    def permits(self, host: str, address: IPAddress) -> bool:
        """Whether ``host`` (as resolved to ``address``) is let through."""
        name = host.lower().rstrip(".")
        for entry in self.entries:
            if isinstance(entry, str):
                if entry == name:
                    return True
            elif address.version == entry.version and address in entry:
                return True
        return False


#: ``(host, port) -> addresses``; the default asks the system resolver (getaddrinfo).
Resolver = Callable[[str, int], list[str]]


def default_resolver(host: str, port: int) -> list[str]:
    """The system resolver's addresses for ``host`` (getaddrinfo, TCP)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


def refused(url: str, why: str) -> InvalidRequest:
    """``url`` may not be fetched at all (``URL_NOT_ALLOWED``)."""
    return InvalidRequest(
        f"the URL {url} may not be fetched: {why}", reason="URL_NOT_ALLOWED", why=why, url=url
    )


def failed(url: str, reason: str, why: str) -> InvalidRequest:
    """Fetching ``url`` was tried and failed for ``reason`` (``URL_UNREACHABLE``, ``URL_TIMEOUT``, …)."""
    return InvalidRequest(f"the URL {url} could not be fetched: {why}", reason=reason, why=why, url=url)


def _url_host(address: IPAddress) -> str:
    """An address as it is written in a URL (IPv6 in brackets)."""
    return f"[{address}]" if address.version == 6 else str(address)


def resolve_checked(
    host: str, port: int, allow: AllowList, resolver: Resolver = default_resolver
) -> list[IPAddress]:
    """Every address of ``host`` (an IP address is its own), each checked; refused when *any* of
    them is forbidden and not allowed, and when the host cannot be resolved."""
    shown = f"{host}:{port}"
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
        if why is not None and not allow.permits(host, address):
            if literal is not None:
                raise refused(shown, f"{_url_host(address)} is {why}")
            raise refused(shown, f"{host} resolves to {_url_host(address)}, which is {why}")
    return candidates
