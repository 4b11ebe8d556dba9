"""One HTTP POST of a webhook delivery, and what came of it."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime

import aiohttp
from aiohttp.abc import AbstractResolver

from shiptrack.domain.outbound import OutboundPolicy
from shiptrack.domain.timefmt import utcnow
from shiptrack.outbound.client import REFUSED, SocketFactory, guarded_session, refused_by_policy


@dataclass(frozen=True, slots=True)
class SendResult:
    """The receiver's answer (or why there was none)."""

    status: int | None
    latency_ms: int
    error: str | None = None
    retry_after: str | None = None
    #: When the attempt began.
    started_at: datetime | None = None

    @property
    def delivered(self) -> bool:
        """2xx, and only 2xx, means delivered."""
        return self.status is not None and 200 <= self.status < 300


def open_session(
    *,
    connect_timeout: float,
    total_timeout: float,
    concurrency: int,
    policy: OutboundPolicy,
    resolver: AbstractResolver | None = None,
    socket_factory: SocketFactory | None = None,
) -> aiohttp.ClientSession:
    """The dispatcher's HTTP client: bounded, time-limited, never following redirects, never
    dialling a destination the outbound ``policy`` refuses (``resolver`` and ``socket_factory``
    replace the system's lookup and sockets underneath the guard, for tests)."""
    return guarded_session(
        policy,
        limit=concurrency,
        ttl_dns_cache=60,
        resolver=resolver,
        socket_factory=socket_factory,
        timeout=aiohttp.ClientTimeout(total=total_timeout, connect=connect_timeout),
        auto_decompress=False,
        skip_auto_headers=("User-Agent", "Accept-Encoding"),
        cookie_jar=aiohttp.DummyCookieJar(),
    )


async def post(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    max_response_bytes: int,
) -> SendResult:
    """POST ``body`` to ``url``; read at most ``max_response_bytes`` of the answer. A destination
    the session's outbound policy refuses is an attempt whose error says only that."""
    began = utcnow()
    started = time.monotonic()
    try:
        async with session.post(url, data=body, headers=headers, allow_redirects=False) as resp:
            if max_response_bytes:
                await resp.content.read(max_response_bytes)
            return SendResult(
                resp.status,
                _ms(started),
                None if 200 <= resp.status < 300 else f"HTTP {resp.status}",
                resp.headers.get("Retry-After"),
                began,
            )
    except TimeoutError:
        return SendResult(None, _ms(started), "timed out", started_at=began)
    except (aiohttp.ClientError, OSError, asyncio.IncompleteReadError) as error:
        if refused_by_policy(error):
            return SendResult(None, _ms(started), REFUSED, started_at=began)
        return SendResult(
            None, _ms(started), f"{type(error).__name__}: {error}"[:500], started_at=began
        )


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
