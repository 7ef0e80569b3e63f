"""The outbound address policy: forbidden addresses, allow lists, checked resolution (no network)."""

from __future__ import annotations

import ipaddress

import pytest

from conversio.errors import InvalidOption, InvalidRequest
from conversio.outbound import (
    ALLOW_ENV,
    AllowList,
    Resolver,
    default_resolver,
    forbidden_reason,
    resolve_checked,
)

FORBIDDEN = [
    "127.0.0.1",
    "127.255.0.9",
    "0.0.0.0",
    "0.1.2.3",
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.254",
    "192.168.1.1",
    "100.64.0.1",
    "100.100.100.200",
    "169.254.169.254",
    "169.254.1.1",
    "198.18.0.1",
    "198.19.255.1",
    "192.0.0.8",
    "192.0.2.1",
    "198.51.100.7",
    "203.0.113.9",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "fc00::1",
    "fd12:3456::1",
    "fd00:ec2::254",
    "fe80::1",
    "febf::1",
    "fec0::1",
    "ff02::1",
    "2001:db8::1",
    "100::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:0:7f00:1",
    "::127.0.0.1",
    "::10.0.0.1",
    "64:ff9b::127.0.0.1",
    "64:ff9b::a9fe:a9fe",
    "64:ff9b:1::a00:1",
    "2002:7f00:1::1",
    "2002:c0a8:101::1",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",
]
PUBLIC = ["8.8.8.8", "93.184.215.14", "2606:4700:4700::1111", "64:ff9b::808:808", "2002:808:808::1"]


@pytest.mark.parametrize("address", FORBIDDEN)
def test_forbidden_addresses_have_a_reason(address: str) -> None:
    assert forbidden_reason(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert forbidden_reason(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("169.254.169.254", "a cloud metadata address"),
        ("::ffff:169.254.169.254", "IPv4-mapped form of 169.254.169.254, a cloud metadata address"),
        ("::ffff:0:7f00:1", "IPv4-translated form of 127.0.0.1, loopback"),
        ("64:ff9b::a00:1", "NAT64 form of 10.0.0.1, private (RFC 1918)"),
        ("2002:c0a8:101::1", "6to4 form of 192.168.1.1, private (RFC 1918)"),
    ],
)
def test_an_embedded_ipv4_address_is_judged_by_the_address_it_carries(address: str, reason: str) -> None:
    assert forbidden_reason(ipaddress.ip_address(address)) == reason


def test_an_allow_list_lets_through_networks_and_exact_host_names() -> None:
    allow = AllowList(("10.0.0.0/8", "127.0.0.1", "Files.Internal.", "fd00::/8"))
    ip = ipaddress.ip_address
    assert allow.permits("anything", ip("10.9.8.7")) and allow.permits("x", ip("127.0.0.1"))
    assert not allow.permits("x", ip("127.0.0.2")) and not allow.permits("x", ip("::ffff:10.0.0.1"))
    assert allow.permits("fd.example", ip("fd00::1")) and not allow.permits("fd.example", ip("fe80::1"))
    assert allow.permits("FILES.internal.", ip("192.168.1.1"))  # the name, whatever it resolves to
    assert not allow.permits("sub.files.internal", ip("192.168.1.1"))  # exact names only
    assert not AllowList().permits("localhost", ip("127.0.0.1"))


def test_the_allow_list_is_read_from_the_environment() -> None:
    allow = AllowList.from_env({ALLOW_ENV: " 10.0.0.0/8, files.internal  ::1 ,,192.168.1.0/24"})
    assert allow == AllowList(("10.0.0.0/8", "files.internal", "::1", "192.168.1.0/24"))
    assert AllowList.from_env(environ={}) == AllowList() == AllowList.from_env({ALLOW_ENV: " "})
    assert AllowList.from_env({ALLOW_ENV: allow.to_env()}) == allow


def test_from_env_reads_the_process_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW_ENV, "files.internal")
    assert AllowList.from_env().permits("files.internal", ipaddress.ip_address("10.0.0.1"))


@pytest.mark.parametrize(
    "entry", ["http://files.internal/", ".internal", "user@host", "host:8080", "10.0.0.0/33"]
)
def test_an_invalid_entry_is_an_invalid_option_naming_where_it_was_written(entry: str) -> None:
    with pytest.raises(InvalidOption) as exc:
        AllowList.from_env({ALLOW_ENV: f"10.0.0.0/8,{entry}"})
    assert exc.value.details == {"option": ALLOW_ENV} and ALLOW_ENV in exc.value.message
    assert repr(entry) in exc.value.message
    with pytest.raises(InvalidOption) as exc:
        AllowList.parse([entry], option="url_allow")
    assert exc.value.details == {"option": "url_allow"}


def _answers(*addresses: str) -> tuple[list[tuple[str, int]], Resolver]:
    asked: list[tuple[str, int]] = []

    def resolver(host: str, port: int) -> list[str]:
        asked.append((host, port))
        return list(addresses)

    return asked, resolver


def test_every_address_of_a_public_host_is_returned_once() -> None:
    asked, resolver = _answers("93.184.215.14", "2606:4700:4700::1111", "93.184.215.14")
    got = resolve_checked("example.com", 443, AllowList(), resolver)
    assert got == [ipaddress.ip_address("93.184.215.14"), ipaddress.ip_address("2606:4700:4700::1111")]
    assert asked == [("example.com", 443)]


@pytest.mark.parametrize(
    "answers",
    [["8.8.8.8", "10.0.0.7"], ["10.0.0.7", "8.8.8.8"], ["2606:4700:4700::1111", "::ffff:10.0.0.7"]],
)
def test_one_forbidden_address_among_public_ones_is_refused(answers: list[str]) -> None:
    """A rebinding-style answer: a public address to pass a check, a private one to be used."""
    with pytest.raises(InvalidRequest) as exc:
        resolve_checked("mixed.example.com", 80, AllowList(), lambda host, port: answers)
    details = exc.value.details
    assert details["reason"] == "URL_NOT_ALLOWED" and details["url"] == "mixed.example.com:80"
    assert "mixed.example.com resolves to" in details["why"] and "10.0.0.7" in details["why"]
    assert exc.value.message == f"the URL mixed.example.com:80 may not be fetched: {details['why']}"


def test_allowed_addresses_and_names_pass() -> None:
    assert resolve_checked("files.internal", 80, AllowList(("files.internal",)), lambda h, p: ["10.0.0.7"])
    allow = AllowList(("10.0.0.0/8",))
    assert resolve_checked("a.internal", 80, allow, lambda h, p: ["10.0.0.7", "8.8.8.8"])
    with pytest.raises(InvalidRequest):  # every address must be allowed or public
        resolve_checked("a.internal", 80, allow, lambda h, p: ["10.0.0.7", "192.168.0.1"])


def test_an_address_literal_is_checked_without_the_resolver() -> None:
    def resolver(host: str, port: int) -> list[str]:
        raise AssertionError("resolved")

    with pytest.raises(InvalidRequest) as exc:
        resolve_checked("::1", 8080, AllowList(), resolver)
    assert exc.value.details["why"] == "[::1] is loopback" and exc.value.details["url"] == "::1:8080"
    assert resolve_checked("127.0.0.1", 80, AllowList(("127.0.0.1",)), resolver) == [
        ipaddress.ip_address("127.0.0.1")
    ]


def test_a_host_that_cannot_be_resolved_is_unreachable() -> None:
    def fails(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    cases = [(fails, "could not be resolved"), (lambda h, p: [], "has no address")]
    for resolver, why in cases:
        with pytest.raises(InvalidRequest) as exc:
            resolve_checked("nowhere.example", 443, AllowList(), resolver)
        assert exc.value.details["reason"] == "URL_UNREACHABLE" and why in exc.value.details["why"]
    with pytest.raises(InvalidRequest) as exc:
        resolve_checked("odd.example", 443, AllowList(), lambda h, p: ["not an address"])
    assert exc.value.details["reason"] == "URL_NOT_ALLOWED"


def test_the_default_resolver_answers_for_an_address_literal_without_the_network() -> None:
    assert default_resolver("127.0.0.1", 80) == ["127.0.0.1"]
