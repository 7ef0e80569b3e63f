"""Which IP addresses the server may not reach, and why: loopback, private, link-local, cloud
metadata, documentation, multicast, … ranges of IPv4 and IPv6, and IPv4 addresses embedded in
IPv6 ones (mapped, translated, compatible, NAT64, 6to4) judged by the address they carry.
"""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

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
    """Why ``address`` may not be reached from the server, or ``None`` for a public address."""
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
