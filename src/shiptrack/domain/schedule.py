"""When to look at a package next, and when to stop looking.

The defaults (all configurable, see the README):

======================================  ===================================================
package state                           next check
======================================  ===================================================
not found yet (``NY``/``UN``)           a quarter of the subscription's age, 5 min … 6 h;
                                        expired (``UN``/``TRACKING_EXPIRED``) after 30 days
invalid number (``UN``)                 the same; stops after
                                        :data:`INVALID_NUMBER_CONFIRMATIONS` answers in a row
accepted, in transit                    every 3 h
out for delivery, delivery attempt,     every 30 min
or past the estimated delivery date
at a pickup point (``SP``)              every 6 h
exception (when the account keeps       every 3 h
watching exceptions)
======================================  ===================================================

Every interval gets ±10 % jitter so that packages started together never poll in lockstep. Simulated
(sandbox) carriers run on a faster clock: every interval, and the expiry, is divided by the sandbox
speed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from shiptrack.domain.statuses import StatusCode

#: No check is scheduled sooner than this after the previous one, whatever the speed.
MIN_INTERVAL = timedelta(seconds=0.5)

#: How many checks in a row must hear from the carrier that a number is invalid before tracking
#: of it stops (``stop_reason`` ``invalid_number``). The checks are spaced as any number not found
#: (:meth:`SchedulePolicy.interval`); a check that fails (429, 5xx, timeout) is no confirmation and
#: does not break the run, and any other answer (found, not found) starts the count again.
INVALID_NUMBER_CONFIRMATIONS = 3


@dataclass(frozen=True, slots=True)
class SchedulePolicy:
    """The polling schedule; times in seconds."""

    not_found_min: float = 300
    not_found_max: float = 6 * 3600
    expire_after: float = 30 * 86400
    in_transit: float = 3 * 3600
    near_delivery: float = 1800
    pickup_point: float = 6 * 3600
    exception: float = 3 * 3600
    jitter: float = 0.1
    backoff_min: float = 60
    backoff_max: float = 3600

    def interval(
        self,
        status_code: str,
        status_detail_code: str | None,
        *,
        age: timedelta,
        past_estimated_delivery: bool,
    ) -> float:
        """Seconds until the next check of a package in this state (before jitter and speed)."""
        if status_code in (StatusCode.NY, StatusCode.UN):
            return min(self.not_found_max, max(self.not_found_min, age.total_seconds() / 4))
        if (
            status_code == StatusCode.AT
            or status_detail_code == "OUT_FOR_DELIVERY"
            or past_estimated_delivery
        ):
            return self.near_delivery
        if status_code == StatusCode.SP:
            return self.pickup_point
        if status_code == StatusCode.EX:
            return self.exception
        return self.in_transit

    def next_check(
        self,
        status_code: str,
        status_detail_code: str | None,
        *,
        now: datetime,
        age: timedelta,
        estimated_delivery: datetime | None = None,
        speed: float = 1.0,
        rand: Callable[[], float] = random.random,
    ) -> datetime:
        """When to check next: the state's interval, jittered, on the connection's clock."""
        seconds = self.interval(
            status_code,
            status_detail_code,
            age=age * speed,
            past_estimated_delivery=estimated_delivery is not None and estimated_delivery < now,
        )
        return now + self._jittered(seconds / speed, rand)

    def expired(self, status_code: str, *, age: timedelta, speed: float = 1.0) -> bool:
        """Whether a number that was never found has been watched long enough."""
        return status_code in (StatusCode.NY, StatusCode.UN) and (
            age.total_seconds() * speed >= self.expire_after
        )

    def backoff(
        self,
        failures: int,
        *,
        now: datetime,
        retry_after: float | None = None,
        speed: float = 1.0,
        rand: Callable[[], float] = random.random,
    ) -> datetime:
        """When to call a carrier again after ``failures`` failed calls in a row.

        The carrier's ``Retry-After`` wins when it gives one (capped at the maximum backoff);
        otherwise the wait doubles from the minimum up to the maximum.
        """
        if retry_after is not None:
            seconds = min(max(retry_after, 1.0), self.backoff_max)
            return now + max(MIN_INTERVAL, timedelta(seconds=seconds / speed))
        seconds = min(self.backoff_max, self.backoff_min * 2 ** max(0, failures - 1))
        return now + self._jittered(seconds / speed, rand)

    def _jittered(self, seconds: float, rand: Callable[[], float]) -> timedelta:
        factor = 1 + self.jitter * (2 * rand() - 1)
        return max(MIN_INTERVAL, timedelta(seconds=seconds * factor))


def stop_reason(
    status_code: str,
    *,
    status_since: datetime | None,
    now: datetime,
    exception_watch: timedelta | None,
    invalid_confirmations: int = 0,
) -> str | None:
    """Why tracking stops by itself now, or ``None``.

    Delivered packages stop at once, as on ShipEngine; so do exceptions, unless the account chose to
    keep watching exceptions for a while (some recover: a held parcel is released). A number the
    carrier has called invalid :data:`INVALID_NUMBER_CONFIRMATIONS` checks in a row stops too.
    """
    if invalid_confirmations >= INVALID_NUMBER_CONFIRMATIONS:
        return "invalid_number"
    if status_code == StatusCode.DE:
        return "delivered"
    if status_code == StatusCode.EX and (
        exception_watch is None or status_since is None or now - status_since >= exception_watch
    ):
        return "exception"
    return None
