"""The guarded HTTP client every outbound call to a user-controlled URL goes through.

Three checks, each cheap (verdicts are cached per host and address; resolved answers are cached by
aiohttp as usual), each enough on its own for what it sees:

1. a client middleware judges the host aiohttp is about to dial (``request.url.raw_host``, after
   yarl's IDNA normalisation) before anything is sent — aiohttp dials a literal address without
   asking any resolver, so literal addresses are judged here;
2. the resolver drops every answer the policy refuses (and fails when none is left), so a name that
   resolves somewhere else since it was saved (DNS rebinding) is never dialled;
3. the socket factory, handed the exact address aiohappyeyeballs is about to connect to, refuses a
   refused address: the last line of defence, whatever happened before.

A refusal is :class:`OutboundRefused`, whose text says "refused by the outbound policy" and
nothing about the destination. Callers never follow redirects (``allow_redirects=False``).
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from shiptrack.domain.outbound import HostRefused, OutboundPolicy, Verdict, read_host

#: What every refusal says: the kind of failure, never the address.
REFUSED = "refused by the outbound policy"

#: Makes a socket for one ``getaddrinfo``-style tuple (aiohappyeyeballs' ``socket_factory``).
SocketFactory = Callable[[tuple[Any, ...]], socket.socket]

#: The host of the request being sent, so the socket check knows a listed name's addresses.
_DIALLING: ContextVar[str | None] = ContextVar("shiptrack_outbound_dialling", default=None)


class OutboundRefused(aiohttp.ClientOSError):
    """The outbound policy refused the destination; nothing was sent."""

    def __init__(self) -> None:
        super().__init__(errno.EACCES, REFUSED)


def refused_by_policy(error: BaseException) -> bool:
    """Whether ``error`` (as aiohttp raised it: possibly wrapped) is a refusal of the guard."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, OutboundRefused):
            return True
        seen.add(id(current))
        wrapped = getattr(current, "os_error", None)
        if isinstance(wrapped, OutboundRefused):
            return True
        current = current.__cause__ or current.__context__
    return False


def _judge(policy: OutboundPolicy) -> Callable[[str], Verdict]:
    """The policy's verdict on a raw host, cached per host (one dictionary look-up per request
    once a host was seen)."""

    @lru_cache(maxsize=8192)
    def verdict(raw_host: str) -> Verdict:
        try:
            return policy.judge(read_host(raw_host))
        except HostRefused:
            return Verdict.REFUSE

    return verdict


def _middleware(judge: Callable[[str], Verdict]) -> aiohttp.ClientMiddlewareType:
    async def guard(
        request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
    ) -> aiohttp.ClientResponse:
        raw_host = request.url.raw_host or ""
        if judge(raw_host) is Verdict.REFUSE:
            raise OutboundRefused()
        dialling = _DIALLING.set(raw_host.rstrip(".").lower())
        try:
            return await handler(request)
        finally:
            _DIALLING.reset(dialling)

    return guard


class GuardedResolver(AbstractResolver):
    """Resolves through ``inner`` (the system's by default) and keeps only permitted answers."""

    def __init__(
        self,
        policy: OutboundPolicy,
        inner: AbstractResolver | None = None,
        *,
        judge: Callable[[str], Verdict] | None = None,
    ) -> None:
        self._policy = policy
        self._inner = inner or DefaultResolver()
        self._judge = judge or _judge(policy)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The permitted answers; :class:`OutboundRefused` when none is left."""
        verdict = self._judge(host)
        if verdict is Verdict.REFUSE:
            raise OutboundRefused()
        if verdict is Verdict.UNRESOLVABLE:
            raise OSError(errno.ENOENT, f"{host} does not resolve (a .invalid name)")
        name = host.rstrip(".").lower()
        answers = await self._inner.resolve(host, port, family)
        permitted = [a for a in answers if self._policy.permits(a["host"], name=name)]
        if not permitted:
            raise OutboundRefused()
        return permitted

    async def close(self) -> None:
        """Close the inner resolver."""
        await self._inner.close()


def guarded_socket_factory(
    policy: OutboundPolicy, inner: SocketFactory | None = None
) -> SocketFactory:
    """A socket factory that refuses to make a socket for an address the policy refuses."""

    def make(addr_info: tuple[Any, ...]) -> socket.socket:
        family, kind, proto, _, sockaddr = addr_info
        if not policy.permits(str(sockaddr[0]), name=_DIALLING.get()):
            raise OutboundRefused()
        if inner is not None:
            return inner(addr_info)
        return socket.socket(family, kind, proto)

    return make


def guarded_session(
    policy: OutboundPolicy,
    *,
    timeout: aiohttp.ClientTimeout,
    limit: int = 100,
    ttl_dns_cache: int | None = 10,
    resolver: AbstractResolver | None = None,
    socket_factory: SocketFactory | None = None,
    **session_options: Any,
) -> aiohttp.ClientSession:
    """An ``aiohttp.ClientSession`` whose every request is judged by ``policy`` (call inside the
    event loop). ``resolver`` and ``socket_factory`` replace the system's lookup and sockets
    underneath the guard (tests intercept the dial with them)."""
    judge = _judge(policy)
    connector = aiohttp.TCPConnector(
        limit=limit,
        ttl_dns_cache=ttl_dns_cache,
        resolver=GuardedResolver(policy, resolver, judge=judge),
        socket_factory=guarded_socket_factory(policy, socket_factory),
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        middlewares=(_middleware(judge),),
        **session_options,
    )
