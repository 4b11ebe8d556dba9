"""Keeping webhook URLs off the server's own network (SSRF).

A webhook URL is checked twice: when it is registered (its host, and every address it resolves to,
must be public) and again each time a delivery connects, by a resolver that drops every non-public
address, so a DNS answer that changed since registration (DNS rebinding) is never dialled.
``SHIPTRACK_WEBHOOK_ALLOW_PRIVATE=true`` turns both off, for local development and tests.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from shiptrack.domain.errors import ValidationFailed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Ranges Python's flags do not all cover: shared address space (CGNAT), benchmarking, 6to4/Teredo
# relays, and the documentation ranges.
_EXTRA_BLOCKED = tuple(
    ipaddress.ip_network(net)
    for net in (
        "100.64.0.0/10",
        "198.18.0.0/15",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "2001::/32",
        "2002::/16",
        "64:ff9b::/96",
        "2001:db8::/32",
    )
)


def is_public(address: str | IPAddress) -> bool:
    """Whether an address may be dialled by the webhook sender."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    ):
        return False
    return not any(ip in network for network in _EXTRA_BLOCKED if network.version == ip.version)


def literal_address(host: str) -> IPAddress | None:
    """The address a URL host names literally (``127.0.0.1``, ``[::1]``), else ``None``."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


async def check_destination(url: str, *, field_name: str = "url") -> None:
    """Refuse a URL whose host is, or resolves to, a non-public address.

    A host that does not resolve at all is accepted: it may be registered before its DNS exists, and
    every delivery checks again when it connects.
    """
    host = urlsplit(url).hostname or ""
    literal = literal_address(host)
    if literal is not None:
        addresses = [literal]
    elif host == "localhost" or host.endswith((".localhost", ".internal")):
        raise _refused(url, host, field_name)
    else:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, None, type=socket.SOCK_STREAM
            )
        except (OSError, UnicodeError):
            return
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if any(not is_public(address) for address in addresses):
        raise _refused(url, host, field_name)


def _refused(url: str, host: str, field_name: str) -> ValidationFailed:
    return ValidationFailed(
        f"{field_name} {url[:80]!r} points at {host!r}, a private, loopback, link-local or "
        "reserved address; webhooks must be reachable on the public internet",
        field_name=field_name,
    )


class PublicOnlyResolver(AbstractResolver):
    """An aiohttp resolver that returns only public addresses (and fails when none is left)."""

    def __init__(self) -> None:
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self._inner.resolve(host, port, family)
        public = [answer for answer in answers if is_public(answer["host"].split("%")[0])]
        if not public:
            # With an errno, aiohttp's connection error keeps this reason in its message.
            raise OSError(
                errno.EACCES, f"{host} resolves only to non-public addresses; refusing to connect"
            )
        return public

    async def close(self) -> None:
        await self._inner.close()


def resolver_kwargs(allow_private: bool) -> dict[str, Any]:
    """The ``TCPConnector`` arguments that enforce (or, when allowed, skip) the check."""
    return {} if allow_private else {"resolver": PublicOnlyResolver()}
