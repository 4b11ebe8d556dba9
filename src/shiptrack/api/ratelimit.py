"""Per-account request rate limiting (GCRA), held in the memory of one API process.

An account may send its whole per-minute allowance at once and then one request every
``60 / limit`` seconds. The state is per process: with N API processes behind a load balancer the
account's effective limit is up to N times the setting (the README says so).
"""

from __future__ import annotations

import time
from collections.abc import Callable


class RateLimiter:
    """Decides whether an account's request may proceed now."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        # account id -> theoretical arrival time of its next request
        self._tat: dict[int, float] = {}

    def acquire(self, account_id: int, per_minute: int) -> float:
        """Take one request from the account's allowance.

        Returns 0 when the request may proceed, otherwise the seconds to wait before retrying.
        """
        now = self._clock()
        interval = 60.0 / per_minute
        tolerance = 60.0 - interval
        tat = max(self._tat.get(account_id, now), now)
        wait = tat - now - tolerance
        if wait > 0:
            return wait
        self._tat[account_id] = tat + interval
        if len(self._tat) > 100_000:
            self._forget_idle(now)
        return 0.0

    def _forget_idle(self, now: float) -> None:
        # An account whose allowance is full again needs no state.
        self._tat = {account: tat for account, tat in self._tat.items() if tat > now}
