"""Webhook delivery rules: when to retry, when to give up, when to disable an endpoint."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retries after about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h (±20 %), then gives up."""

    schedule: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
    jitter: float = 0.2
    retry_after_max: float = 86400
    disable_after: float = 5 * 86400

    def next_attempt(
        self,
        attempts_made: int,
        *,
        now: datetime,
        retry_after: float | None = None,
        rand: Callable[[], float] = random.random,
    ) -> datetime | None:
        """When to try again after ``attempts_made`` failed attempts; ``None``: give up.

        A receiver's ``Retry-After`` is honoured when it asks for more time than the schedule
        gives, up to ``retry_after_max``; asking for less never makes shiptrack retry sooner.
        """
        if attempts_made > len(self.schedule):
            return None
        delay = self.schedule[attempts_made - 1] * (1 + self.jitter * (2 * rand() - 1))
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.retry_after_max))
        return now + timedelta(seconds=delay)

    def disable(self, failing_since: datetime | None, now: datetime) -> bool:
        """Whether an endpoint that has only failed since ``failing_since`` must be disabled."""
        return failing_since is not None and (now - failing_since).total_seconds() >= (
            self.disable_after
        )


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP date); ``None`` if
    absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # delta-seconds: ASCII digits only (not "²")
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now).total_seconds())
