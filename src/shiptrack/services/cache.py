"""A small in-process cache with a time limit, for what the hot path reads on every request.

Each API process may use what it read about an API key, an account's carrier connections or its
webhooks for ``SHIPTRACK_CACHE_SECONDS``; a change made through the same process is seen at
once, one made through another process (a key revoked from the CLI, a webhook deleted through
another API process) within that time.

When an entry expires under load, the requests that miss it at once share one read
(:meth:`TTLCache.get_or_load`) instead of each taking a database connection of its own. An entry
in the second half of its life is read again in the background by the first request that uses it
(refresh ahead), so a key every request needs does not make them all wait for that read each time
it expires. An entry is never served past its time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TTLCache(Generic[K, V]):
    """Values kept for ``ttl`` seconds; ``ttl`` 0 keeps nothing."""

    def __init__(
        self, ttl: float, *, max_entries: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[K, tuple[float, V]] = {}
        self._loading: dict[K, asyncio.Future[V | None]] = {}

    def get(self, key: K) -> V | None:
        """The cached value, or ``None`` when absent or expired."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            del self._entries[key]
            return None
        return entry[1]

    async def get_or_load(self, key: K, load: Callable[[], Awaitable[V | None]]) -> V | None:
        """The cached value, else what ``load()`` returns (remembered unless ``None``).

        Callers that miss the same key while a load is under way wait for that load; one
        caller giving up (a client hanging up) does not cancel it for the others.
        """
        found = self.get(key)
        if found is not None:
            self._refresh_ahead(key, load)
            return found
        if self.ttl <= 0:
            return await load()
        pending = self._loading.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._load(key, load))
            self._loading[key] = pending
        return await asyncio.shield(pending)

    def _refresh_ahead(self, key: K, load: Callable[[], Awaitable[V | None]]) -> None:
        """Read a fresh value in the background once ``key`` is past half its life (one read at
        a time; its failure leaves the entry to expire as usual)."""
        expires = self._entries[key][0]
        if expires - self._clock() > self.ttl / 2 or key in self._loading:
            return
        refresh = asyncio.ensure_future(self._load(key, load))
        refresh.add_done_callback(ignore_failure)
        self._loading[key] = refresh

    async def _load(self, key: K, load: Callable[[], Awaitable[V | None]]) -> V | None:
        this = asyncio.current_task()
        try:
            value = await load()
            # A forget() or clear() while loading means the value may predate a change.
            if value is not None and self._loading.get(key) is this:
                self.put(key, value)
            return value
        finally:
            if self._loading.get(key) is this:
                del self._loading[key]

    def put(self, key: K, value: V) -> None:
        """Remember ``value`` for ``ttl`` seconds."""
        if self.ttl <= 0:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = (self._clock() + self.ttl, value)

    def forget(self, key: K) -> None:
        """Drop one key (after a change made through this process)."""
        self._entries.pop(key, None)
        self._loading.pop(key, None)

    def clear(self) -> None:
        """Drop everything."""
        self._entries.clear()
        self._loading.clear()


def ignore_failure(refresh: asyncio.Future[Any]) -> None:
    """Done callback of a background refresh: its failure is nobody's to handle (the entry
    expires and the next request reads, and reports, it), so it is retrieved and dropped."""
    if not refresh.cancelled():
        refresh.exception()
