"""Keeping each carrier connection within its request budget (per process).

Reserving a request never blocks for long: when the connection's next free slot is further away
than the caller can wait, nothing is reserved and the caller learns how long it would be, so a
worker reschedules those packages instead of sleeping on them (a DHL Starter key allows one call
every six minutes; the rest of the worker's round must not wait for it).
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass

from shiptrack.carriers.base import Budget


@dataclass(frozen=True, slots=True)
class Slot:
    """The outcome of a reservation: ``wait`` seconds until the request may go (reserved), or until
    the next free slot (not reserved)."""

    reserved: bool
    wait: float


class RequestPacer:
    """Spaces calls per connection so a carrier's request budget is never exceeded."""

    def __init__(self) -> None:
        self._next: dict[int, float] = {}

    def reserve(self, connection_id: int, budget: Budget, *, max_wait: float) -> Slot:
        """Reserve the connection's next request if it may go within ``max_wait`` seconds."""
        now = asyncio.get_running_loop().time()
        interval = 1.0 / budget.requests_per_second
        tolerance = interval * (max(1, budget.burst) - 1)
        theoretical = max(self._next.get(connection_id, now), now)
        wait = max(0.0, theoretical - tolerance - now)
        if wait > max_wait:
            return Slot(False, wait)
        self._next[connection_id] = theoretical + interval
        return Slot(True, wait)

    def available(self, connection_id: int, budget: Budget) -> int:
        """How many requests the connection could make right now without waiting (its burst when
        idle), as :meth:`reserve` would allow them."""
        now = asyncio.get_running_loop().time()
        interval = 1.0 / budget.requests_per_second
        burst = max(1, budget.burst)
        theoretical = max(self._next.get(connection_id, now), now)
        free = math.floor((now + interval * (burst - 1) - theoretical) / interval + 1e-9) + 1
        return max(0, min(burst, free))

    async def wait(self, connection_id: int, budget: Budget, *, max_wait: float) -> Slot:
        """Reserve, and sleep until the request may go when it was reserved."""
        slot = self.reserve(connection_id, budget, max_wait=max_wait)
        if slot.reserved and slot.wait:
            await asyncio.sleep(slot.wait)
        return slot
