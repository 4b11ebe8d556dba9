"""The SSRF guard of webhook delivery (``shiptrack.webhooks.ssrf``), with DNS under the test's
control.

Covers ``is_public`` over the ranges that must never be dialled (loopback, private, link-local,
CGNAT, multicast, reserved, documentation, benchmarking, 6to4/Teredo/NAT64 relays, IPv4-mapped
IPv6) and their public neighbours; ``check_destination`` at registration (literal hosts, special
names, every address a name resolves to, names that do not resolve); and ``PublicOnlyResolver``
at connection time: it drops non-public answers, refuses a name left with none, and — used by the
real sender against a real local HTTP server — keeps a name that resolved to a public address
when registered and to 127.0.0.1 later (DNS rebinding) from ever being dialled, while the same
fake DNS answer without the guard does reach the server.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from shiptrack.domain.errors import ValidationFailed
from shiptrack.webhooks import ssrf
from shiptrack.webhooks.sender import open_session, post
from shiptrack.webhooks.ssrf import (
    PublicOnlyResolver,
    check_destination,
    is_public,
    literal_address,
)

NOT_PUBLIC = [
    "127.0.0.1",
    "127.255.255.254",
    "0.0.0.0",
    "10.0.0.1",
    "10.255.255.255",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.0.1",
    "169.254.169.254",
    "100.64.0.1",
    "100.127.255.255",
    "198.18.0.1",
    "198.19.255.255",
    "192.0.0.8",
    "192.0.2.10",
    "198.51.100.7",
    "203.0.113.9",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:10.1.2.3",
    "::ffff:169.254.169.254",
    "2001:db8::1",
    "2002:7f00:1::1",
    "2001:0:4136:e378::1",
    "64:ff9b::7f00:1",
]
PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.215.14",
    "100.63.255.255",
    "100.128.0.1",
    "172.15.255.255",
    "172.32.0.1",
    "192.169.0.1",
    "198.20.0.1",
    "223.255.255.254",
    "::ffff:8.8.8.8",
    "2606:4700:4700::1111",
    "2a00:1450:4001:80b::200e",
]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert is_public(address) is False
    assert is_public(ipaddress.ip_address(address)) is False


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address: str) -> None:
    assert is_public(address) is True
    assert is_public(ipaddress.ip_address(address)) is True


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", ipaddress.ip_address("127.0.0.1")),
        ("[::1]", ipaddress.ip_address("::1")),
        ("::ffff:10.0.0.1", ipaddress.ip_address("::ffff:10.0.0.1")),
        ("example.com", None),
        ("127.1", None),  # not a literal address: a name, which the resolver then checks
        ("", None),
    ],
)
def test_literal_address_reads_only_literal_addresses(
    host: str, expected: ipaddress.IPv4Address | ipaddress.IPv6Address | None
) -> None:
    assert literal_address(host) == expected


# --- registration: check_destination --------------------------------------------------------------

#: A DNS of the test's making: name → addresses (a missing name does not resolve).
Zone = dict[str, list[str]]


def fake_getaddrinfo(zone: Zone, asked: list[str]) -> Callable[..., Any]:
    async def getaddrinfo(host: str, port: object, **_: object) -> list[Any]:
        asked.append(host)
        if host not in zone:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (
                socket.AF_INET6 if ":" in address else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (address, 0, 0, 0) if ":" in address else (address, 0),
            )
            for address in zone[host]
        ]

    return getaddrinfo


@pytest.fixture
async def zone(monkeypatch: pytest.MonkeyPatch) -> tuple[Zone, list[str]]:
    """The test loop's ``getaddrinfo`` answers from a zone the test fills; every name asked
    for is recorded."""
    records: Zone = {}
    asked: list[str] = []
    loop = asyncio.get_running_loop()
    monkeypatch.setattr(loop, "getaddrinfo", fake_getaddrinfo(records, asked))
    return records, asked


async def refused(url: str, field_name: str = "url") -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        await check_destination(url, field_name=field_name)
    assert caught.value.field_name == field_name
    return caught.value


async def test_a_name_resolving_only_to_public_addresses_is_accepted(
    zone: tuple[Zone, list[str]],
) -> None:
    records, asked = zone
    records["hooks.example"] = ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]

    await check_destination("https://hooks.example/track")

    assert asked == ["hooks.example"]


@pytest.mark.parametrize(
    "addresses",
    [
        ["10.0.0.7"],
        ["93.184.215.14", "127.0.0.1"],  # one bad answer among good ones is enough
        ["::1"],
        ["fe80::1%eth0"],
        ["169.254.169.254"],
    ],
)
async def test_a_name_resolving_to_any_non_public_address_is_refused(
    zone: tuple[Zone, list[str]], addresses: list[str]
) -> None:
    records, _ = zone
    records["inside.example"] = addresses

    error = await refused("https://inside.example/track")

    assert "inside.example" in error.message


async def test_a_name_that_does_not_resolve_is_accepted(zone: tuple[Zone, list[str]]) -> None:
    _, asked = zone
    # It may be registered before its DNS exists; every connection checks again.
    await check_destination("https://not-yet.example/track")
    assert asked == ["not-yet.example"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000/x",
        "http://[::1]/",
        "http://[::ffff:192.168.1.1]/",
        "http://localhost/",
        "http://LocalHost:8080/",
        "http://anything.localhost/",
        "http://metadata.google.internal/",
    ],
)
async def test_literal_and_special_hosts_are_refused_without_asking_dns(
    zone: tuple[Zone, list[str]], url: str
) -> None:
    _, asked = zone
    await refused(url, field_name="target")
    assert asked == []


async def test_a_literal_public_address_is_accepted_without_asking_dns(
    zone: tuple[Zone, list[str]],
) -> None:
    _, asked = zone
    await check_destination("http://93.184.215.14/hook")
    await check_destination("http://[2606:4700:4700::1111]:8443/hook")
    assert asked == []


# --- connection: PublicOnlyResolver ---------------------------------------------------------------


def answer(host: str, address: str, port: int) -> ResolveResult:
    return ResolveResult(
        hostname=host,
        host=address,
        port=port,
        family=socket.AF_INET6 if ":" in address else socket.AF_INET,
        proto=0,
        flags=socket.AI_NUMERICHOST,
    )


class ZoneResolver(AbstractResolver):
    """aiohttp's resolver interface answering from a mutable zone (what a DNS server says
    right now)."""

    records: Zone = {}

    def __init__(self) -> None:
        pass

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host not in self.records:
            raise OSError(f"{host} does not resolve")
        return [answer(host, address, port) for address in self.records[host]]

    async def close(self) -> None:
        pass


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> Zone:
    """The DNS behind ``PublicOnlyResolver`` (aiohttp's default resolver replaced by a zone)."""
    records: Zone = {}
    monkeypatch.setattr(ZoneResolver, "records", records)
    monkeypatch.setattr(ssrf, "DefaultResolver", ZoneResolver)
    return records


async def test_the_resolver_drops_non_public_answers(dns: Zone) -> None:
    dns["mixed.example"] = ["10.0.0.1", "93.184.215.14", "::1", "2606:4700:4700::1111"]
    resolver = PublicOnlyResolver()

    answers = await resolver.resolve("mixed.example", 443)

    assert [a["host"] for a in answers] == ["93.184.215.14", "2606:4700:4700::1111"]
    assert {a["port"] for a in answers} == {443}
    await resolver.close()


async def test_the_resolver_refuses_a_name_with_only_non_public_answers(dns: Zone) -> None:
    dns["inside.example"] = ["127.0.0.1", "::1", "169.254.169.254"]
    resolver = PublicOnlyResolver()

    with pytest.raises(OSError, match=r"inside\.example .*non-public") as caught:
        await resolver.resolve("inside.example", 80)

    assert caught.value.errno == errno.EACCES
    await resolver.close()


@pytest.fixture
async def local_server() -> AsyncIterator[tuple[int, list[str]]]:
    """An HTTP server on 127.0.0.1 recording the path of every request; its port."""
    hits: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(status=204)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = int(runner.addresses[0][1])
    try:
        yield port, hits
    finally:
        await runner.cleanup()


async def test_a_name_rebound_to_loopback_after_registration_is_never_dialled(
    dns: Zone, zone: tuple[Zone, list[str]], local_server: tuple[int, list[str]]
) -> None:
    port, hits = local_server
    url = f"http://rebind.example:{port}/hooks"
    # At registration the name is public...
    registration, _ = zone
    registration["rebind.example"] = ["93.184.215.14"]
    await check_destination(url)
    # ...then its DNS answer changes to the server's own loopback.
    dns["rebind.example"] = ["127.0.0.1"]

    session = open_session(connect_timeout=2, total_timeout=5, concurrency=4, allow_private=False)
    try:
        result = await post(session, url, b"{}", {}, allow_private=False, max_response_bytes=1024)
    finally:
        await session.close()

    assert result.status is None
    assert not result.delivered
    assert result.error is not None and "non-public" in result.error
    assert hits == []

    # The same answer without the guard does reach the server: the refusal above is the guard's.
    unguarded = aiohttp.ClientSession(connector=aiohttp.TCPConnector(resolver=ZoneResolver()))
    try:
        async with unguarded.post(url, data=b"{}") as response:
            assert response.status == 204
    finally:
        await unguarded.close()
    assert hits == ["/hooks"]


async def test_a_literal_private_address_is_refused_before_connecting(
    local_server: tuple[int, list[str]],
) -> None:
    port, hits = local_server
    session = open_session(connect_timeout=2, total_timeout=5, concurrency=4, allow_private=False)
    try:
        result = await post(
            session,
            f"http://127.0.0.1:{port}/hooks",
            b"{}",
            {},
            allow_private=False,
            max_response_bytes=1024,
        )
    finally:
        await session.close()

    assert (result.status, result.latency_ms) == (None, 0)
    assert result.error == "refused: 127.0.0.1 is not a public address"
    assert hits == []
