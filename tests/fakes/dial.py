"""A DNS and a socket layer of the test's making, to put underneath the outbound guard.

:class:`Zone` answers names from a dict the test fills (what a DNS server says right now) and
records every name it is asked; numeric names are read as ``getaddrinfo`` reads them (``127.1``,
``0x7f000001``...), so a legacy spelling that slipped through would be caught there too. It never
asks a real DNS.

:class:`RecordingSockets` is the socket factory underneath: it records every address a socket is
asked for and refuses it (nothing is ever sent), except the loopback addresses a test lets through
to its own servers on 127.0.0.1. No test traffic leaves 127.0.0.0/8.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult

from shiptrack.domain.outbound import OutboundPolicy


class Zone(AbstractResolver):
    """aiohttp's resolver interface answering from ``records`` (name -> addresses)."""

    def __init__(self, records: dict[str, list[str]] | None = None) -> None:
        self.records: dict[str, list[str]] = dict(records or {})
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        addresses = self.records.get(host) or _numeric(host)
        if not addresses:
            raise OSError(socket.EAI_NONAME, f"{host} does not resolve")
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        """Nothing to release."""


def _numeric(host: str) -> list[str]:
    """What ``getaddrinfo`` makes of a numeric host (``inet_aton`` rules), without any DNS."""
    try:
        return [str(ipaddress.ip_address(host.strip("[]").split("%")[0]))]
    except ValueError:
        pass
    try:
        return [socket.inet_ntoa(socket.inet_aton(host.rstrip(".")))]
    except (OSError, ValueError):
        return []


class RecordingSockets:
    """A socket factory that records each address asked for and refuses it, unless it is one of
    ``connect_to`` (the test's own servers on 127.0.0.1), which gets a real socket."""

    def __init__(self, connect_to: tuple[str, ...] = ()) -> None:
        assert all(ipaddress.ip_address(a).is_loopback for a in connect_to), connect_to
        self.connect_to = connect_to
        self.asked: list[str] = []

    def __call__(self, addr_info: tuple[Any, ...]) -> socket.socket:
        family, kind, proto, _, sockaddr = addr_info
        self.asked.append(str(sockaddr[0]))
        if str(sockaddr[0]) in self.connect_to:
            return socket.socket(family, kind, proto)
        raise OSError(errno.ENETUNREACH, "the test's socket layer refuses every other address")


#: The outbound policy under which in-process adapters may call the fakes on 127.0.0.1 (what
#: ``SHIPTRACK_OUTBOUND_ALLOW=127.0.0.0/8`` gives the test servers).
FAKES_ALLOWED = OutboundPolicy.from_settings(allow_private=False, allow_list="127.0.0.0/8")
