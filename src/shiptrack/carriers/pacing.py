"""Keeping each carrier connection within its request budget."""

from __future__ import annotations

import asyncio
from collections import defaultdict

from shiptrack.carriers.base import Budget


class RequestPacer:
    """Spaces calls per connection so a carrier's request budget is never exceeded (per process)."""

    def __init__(self) -> None:
        self._next: dict[int, float] = {}
        self._locks: dict[int, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def wait(self, connection_id: int, budget: Budget) -> None:
        """Return when the connection may make one more request."""
        loop = asyncio.get_running_loop()
        interval = 1.0 / budget.requests_per_second
        async with self._locks[connection_id]:
            now = loop.time()
            earliest = self._next.get(connection_id, now) - interval * (budget.burst - 1)
            if earliest > now:
                await asyncio.sleep(earliest - now)
                now = loop.time()
            self._next[connection_id] = max(self._next.get(connection_id, now), now) + interval
