"""Reading a URL's host exactly as the HTTP client will dial it, and the save-time check."""

from __future__ import annotations

import asyncio
import logging

import yarl
from aiohttp.abc import AbstractResolver
from aiohttp.resolver import DefaultResolver

from shiptrack.domain.errors import ValidationFailed
from shiptrack.domain.outbound import Host, HostRefused, OutboundPolicy, Verdict, read_host

log = logging.getLogger("shiptrack.outbound")

#: Longest a save-time lookup may take; a slower name is accepted like one that does not resolve
#: (every dial checks again).
LOOKUP_TIMEOUT = 5.0


def dial_host(url: str) -> Host:
    """The host aiohttp will dial for ``url``: parsed with yarl as aiohttp parses it (yarl
    applies IDNA/UTS-46 to non-ASCII hosts, so fullwidth or "segmented" digits spell ``127.0.0.1``).

    Raises :class:`~shiptrack.domain.outbound.HostRefused` for a URL yarl cannot parse, one
    without a host, and hosts :func:`~shiptrack.domain.outbound.read_host` refuses.
    """
    try:
        raw_host = yarl.URL(url).raw_host
    except (ValueError, TypeError):
        raise HostRefused("cannot be read from the URL") from None
    if not raw_host:
        raise HostRefused("is missing")
    return read_host(raw_host)


async def check_destination(
    url: str,
    policy: OutboundPolicy,
    *,
    field_name: str,
    resolver: AbstractResolver | None = None,
) -> None:
    """Refuse (``400`` naming ``field_name``) a URL whose host the policy refuses, or a name that
    resolves to any address it refuses.

    A name that does not resolve (or not within :data:`LOOKUP_TIMEOUT`) is accepted: its DNS may
    come later, and every dial checks again. ``resolver`` replaces the system's (tests).
    """
    try:
        host = dial_host(url)
    except HostRefused as problem:
        raise _refused(url, field_name, f"its host {problem}") from None
    verdict = policy.judge(host)
    if verdict is Verdict.REFUSE:
        raise _refused(url, field_name, _reason(host))
    if verdict is not Verdict.RESOLVE:
        return
    addresses = await _lookup(host.name, resolver)
    if any(not policy.permits(address, name=host.name) for address in addresses):
        raise _refused(url, field_name, "its host resolves to an address that may not be dialled")


def _reason(host: Host) -> str:
    if host.address is not None:
        return "its host is a loopback, private, link-local, multicast or reserved address"
    return f"{host.name!r} is a loopback or private-use name"


async def _lookup(name: str, resolver: AbstractResolver | None) -> list[str]:
    """Every address ``name`` resolves to; none when it does not resolve."""
    asking = resolver or DefaultResolver()
    try:
        async with asyncio.timeout(LOOKUP_TIMEOUT):
            answers = await asking.resolve(name, 0)
    except (OSError, TimeoutError, UnicodeError) as error:
        log.info("%s does not resolve yet (%s); accepted, every dial checks again", name, error)
        return []
    finally:
        if resolver is None:
            await asking.close()
    return [answer["host"] for answer in answers]


def _refused(url: str, field_name: str, reason: str) -> ValidationFailed:
    return ValidationFailed(
        f"{field_name} {url[:80]!r} is refused by the outbound policy: {reason} "
        "(shiptrack only calls public addresses unless its operator allows more)",
        field_name=field_name,
    )
