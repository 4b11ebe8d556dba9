"""One HTTP POST of a webhook delivery, and what came of it."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urlsplit

import aiohttp

from shiptrack.domain.timefmt import utcnow
from shiptrack.webhooks.ssrf import is_public, literal_address, resolver_kwargs


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
    *, connect_timeout: float, total_timeout: float, concurrency: int, allow_private: bool
) -> aiohttp.ClientSession:
    """The dispatcher's HTTP client: bounded, time-limited, never following redirects, never
    dialling a non-public address unless allowed."""
    connector = aiohttp.TCPConnector(
        limit=concurrency, ttl_dns_cache=60, **resolver_kwargs(allow_private)
    )
    return aiohttp.ClientSession(
        connector=connector,
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
    allow_private: bool,
    max_response_bytes: int,
) -> SendResult:
    """POST ``body`` to ``url``; read at most ``max_response_bytes`` of the answer."""
    began = utcnow()
    return replace(
        await _post(session, url, body, headers, allow_private, max_response_bytes),
        started_at=began,
    )


async def _post(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    headers: dict[str, str],
    allow_private: bool,
    max_response_bytes: int,
) -> SendResult:
    started = time.monotonic()
    host = urlsplit(url).hostname or ""
    literal = literal_address(host)
    if not allow_private and literal is not None and not is_public(literal):
        return SendResult(None, 0, f"refused: {host} is not a public address")
    try:
        async with session.post(url, data=body, headers=headers, allow_redirects=False) as resp:
            if max_response_bytes:
                await resp.content.read(max_response_bytes)
            return SendResult(
                resp.status,
                _ms(started),
                None if 200 <= resp.status < 300 else f"HTTP {resp.status}",
                resp.headers.get("Retry-After"),
            )
    except TimeoutError:
        return SendResult(None, _ms(started), "timed out")
    except aiohttp.ClientError as error:
        return SendResult(None, _ms(started), f"{type(error).__name__}: {error}"[:500])
    except (OSError, asyncio.IncompleteReadError) as error:
        return SendResult(None, _ms(started), f"{type(error).__name__}: {error}"[:500])


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
