"""Webhook delivery rules: when to retry, when to give up, when to disable an endpoint."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from shiptrack.domain.webhooks import SIGNATURE_SCHEMES

#: A delivery's states: waiting to be sent (or retried), accepted, given up on.
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery a dispatcher holds until ``lease_until``, with what it needs to send it."""

    id: int
    webhook_id: int
    account_id: int
    message_id: str
    payload: bytes
    attempts: int
    lease_until: datetime
    url: str
    headers: list[dict[str, str]]
    sealed_secret: str | None
    sealed_previous_secret: str | None
    previous_secret_expires_at: datetime | None
    failing_since: datetime | None
    #: The signatures to put on it (the webhook's ``signatures``).
    signatures: tuple[str, ...] = SIGNATURE_SCHEMES
    #: Sent on request (``POST …/webhooks/{id}/test``), not for a status change: the sender marks
    #: it with :data:`TEST_EVENT_HEADER`.
    test_event: bool = False


#: The header that marks a test event (its body carries ``"test_event": true``).
TEST_EVENT_HEADER = "x-shiptrack-test-event"


@dataclass(frozen=True, slots=True)
class Attempt:
    """One finished attempt and what follows from it."""

    delivery: ClaimedDelivery
    attempted_at: datetime
    response_status: int | None
    latency_ms: int
    error: str | None
    state: str
    next_attempt_at: datetime | None
    delivered_at: datetime | None


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One notification to send to one webhook (a row of the transactional outbox)."""

    webhook_id: int
    status_change_id: int
    subscription_id: int
    sequence: int
    message_id: str
    payload: bytes
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DeliveryView:
    """A delivery as its webhook's list shows it, with the package and status it carries."""

    id: int
    webhook_id: int
    #: ``None`` for a test event.
    status_change_id: int | None
    message_id: str
    state: str
    attempts: int
    sequence: int
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_error: str | None
    created_at: datetime
    #: ``None`` for a test event.
    carrier_code: str | None
    tracking_number: str | None
    status_code: str | None

    @classmethod
    def of(
        cls,
        delivery: Any,
        *,
        carrier_code: str | None,
        tracking_number: str | None,
        status_code: str | None,
    ) -> DeliveryView:
        """The view of a stored delivery (any row with the delivery's columns as attributes,
        from either store) with the package and status it carries."""
        return cls(
            id=delivery.id,
            webhook_id=delivery.webhook_id,
            status_change_id=delivery.status_change_id,
            message_id=delivery.message_id,
            state=delivery.state,
            attempts=delivery.attempts,
            sequence=delivery.sequence,
            next_attempt_at=delivery.next_attempt_at,
            delivered_at=delivery.delivered_at,
            last_error=delivery.last_error,
            created_at=delivery.created_at,
            carrier_code=carrier_code,
            tracking_number=tracking_number,
            status_code=status_code,
        )


@dataclass(frozen=True, slots=True)
class AttemptView:
    """One attempt of a delivery as its webhook's list shows it."""

    attempted_at: datetime
    response_status: int | None
    latency_ms: int
    error: str | None


def newest_first(pages: list[list[DeliveryView]]) -> list[DeliveryView]:
    """Pages of deliveries (each newest first, none shared) merged into one, newest first."""
    return sorted((row for page in pages for row in page), key=lambda row: row.id, reverse=True)


#: How many of a webhook's newest delivered deliveries its "last success" is read from (an older
#: one redelivered later is not looked at: the page stays fast with millions of deliveries).
RECENT_SUCCESSES = 100


@dataclass(frozen=True, slots=True)
class DeliveryHealth:
    """How a webhook's deliveries have gone lately."""

    #: When the latest of its newest delivered deliveries arrived (``None``: none did).
    last_success_at: datetime | None
    #: Attempts of failing (failed or pending) deliveries made after it, counted up to a cap.
    consecutive_failures: int


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


#: How many rounds of its slots a webhook may hold claimed while its answer time is not known.
STARTING_AHEAD = 8
#: The fewest rounds a webhook may hold claimed (one in flight and one ready behind it).
LEAST_AHEAD = 2
#: The most rounds a webhook may hold claimed, however fast it answers: 32 rounds of 64 slots
#: kept a dispatcher busy through the claims and records of a loaded SQLite (BENCHMARKS.md 0h).
MOST_AHEAD = 32
#: The share of a claim's lease within which what a webhook holds should be sent.
LEASE_SHARE = 0.25
#: How much each answer moves a webhook's typical answer time (a moving average).
ANSWER_TIME_WEIGHT = 0.1


class EndpointSlots:
    """How many deliveries each webhook may have in flight, adapting to how it copes.

    Every webhook starts with ``start`` slots. Each accepted delivery adds one, up to ``most``;
    each failed one (an error answer, a timeout, a refused connection) halves them, down to one.
    A receiver that keeps up is soon sent as much as it takes; one that hangs or struggles soon
    holds a single slot, leaving the rest to the others (additive increase, multiplicative
    decrease, as TCP does).
    """

    def __init__(self, *, start: int, most: int) -> None:
        self.most = max(1, most)
        self.start = max(1, min(start, self.most))
        self._limits: dict[int, int] = {}
        self._in_flight: dict[int, int] = {}
        #: Each webhook's typical answer time in seconds (a moving average of the last ones).
        self._answer_times: dict[int, float] = {}

    def limit(self, webhook_id: int) -> int:
        """The slots ``webhook_id`` has now."""
        return self._limits.get(webhook_id, self.start)

    def in_flight(self, webhook_id: int) -> int:
        """Deliveries to ``webhook_id`` under way."""
        return self._in_flight.get(webhook_id, 0)

    def free(self) -> dict[int, int]:
        """Free slots of every webhook with deliveries under way or slots other than ``start``
        (any other webhook has ``start`` free)."""
        return {
            webhook_id: max(0, self.limit(webhook_id) - self.in_flight(webhook_id))
            for webhook_id in self._limits.keys() | self._in_flight.keys()
        }

    def taken(self, webhook_id: int) -> None:
        """A delivery to ``webhook_id`` started."""
        self._in_flight[webhook_id] = self.in_flight(webhook_id) + 1

    def done(self, webhook_id: int, *, delivered: bool, seconds: float | None = None) -> None:
        """A delivery to ``webhook_id`` ended, accepted or not, its answer (or the want of
        one) ``seconds`` after it was sent."""
        self.unsent(webhook_id)
        current = self.limit(webhook_id)
        grown = min(self.most, current + 1) if delivered else max(1, current // 2)
        if seconds is not None:
            before = self._answer_times.get(webhook_id)
            self._answer_times[webhook_id] = (
                seconds if before is None else before + ANSWER_TIME_WEIGHT * (seconds - before)
            )
        if grown == self.start:
            self._limits.pop(webhook_id, None)  # back to where every webhook starts
            if not self.in_flight(webhook_id):
                self._answer_times.pop(webhook_id, None)  # forgotten altogether
        else:
            self._limits[webhook_id] = grown

    def answer_time(self, webhook_id: int) -> float | None:
        """How long ``webhook_id`` typically takes to answer, in seconds (``None``: not known)."""
        return self._answer_times.get(webhook_id)

    def rounds_ahead(self, webhook_id: int, *, lease: float) -> int:
        """How many rounds of its slots ``webhook_id`` may hold claimed (in flight or waiting
        for a slot): as many as it is sent within :data:`LEASE_SHARE` of the ``lease``, judged
        by its answer time, from :data:`LEAST_AHEAD` to :data:`MOST_AHEAD`
        (:data:`STARTING_AHEAD` while its answer time is not known). A fast receiver is never
        kept waiting for a claim; a slow one never holds more than it can be sent before the
        lease runs out (what outlives it would be given back unsent)."""
        seconds = self.answer_time(webhook_id)
        if seconds is None:
            return STARTING_AHEAD
        budget = lease * LEASE_SHARE
        if seconds * MOST_AHEAD <= budget:  # also a zero or vanishing answer time
            return MOST_AHEAD
        return max(LEAST_AHEAD, int(budget / seconds))

    def unsent(self, webhook_id: int) -> None:
        """A delivery to ``webhook_id`` ended without being sent: its slot is free again, and
        the webhook's slots stay as they are (the receiver showed nothing)."""
        left = self.in_flight(webhook_id) - 1
        if left > 0:
            self._in_flight[webhook_id] = left
        else:
            self._in_flight.pop(webhook_id, None)


@dataclass(frozen=True, slots=True)
class ClaimPlan:
    """What a dispatcher's next claim asks for (:func:`plan_claim`)."""

    #: Webhook id -> how many of its deliveries the claim may take.
    room: dict[int, int]
    #: Webhooks the claim skips: what they hold already keeps their slots busy.
    full: list[int]


def plan_claim(slots: EndpointSlots, waiting: Mapping[int, int], *, lease: float) -> ClaimPlan:
    """How much to claim for each webhook the dispatcher knows (``waiting``: deliveries claimed
    and waiting for a slot, per webhook).

    A webhook may hold :meth:`EndpointSlots.rounds_ahead` times its slots (in flight or waiting),
    so a slot that frees is filled without waiting for a claim, and what it holds is sent well
    within the ``lease`` (seconds) of a claim. It is claimed for only once it has room for a whole
    round of its slots: claims stay large (a claim is a write transaction, on SQLite one at a
    time with the recording of results) instead of one claim for every delivery that ends.
    """
    room: dict[int, int] = {}
    full: list[int] = []
    for webhook_id in slots.free().keys() | waiting.keys():
        limit = slots.limit(webhook_id)
        ahead = slots.rounds_ahead(webhook_id, lease=lease)
        free = ahead * limit - slots.in_flight(webhook_id) - waiting.get(webhook_id, 0)
        if free >= limit:
            room[webhook_id] = free
        else:
            full.append(webhook_id)
    return ClaimPlan(room, sorted(full))


@dataclass(frozen=True, slots=True)
class DeliveryAnswer:
    """What came of one attempt, as the rules need it."""

    #: Whether the receiver accepted it (any 2xx).
    delivered: bool
    #: Seconds the receiver asked to wait (``Retry-After``), when it said.
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """What follows from one attempt, for the delivery and for its webhook."""

    state: str
    #: When to try again (``None`` once delivered or given up on).
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    #: Since when every delivery to the webhook failed, after this attempt (``None``: it works).
    failing_since: datetime | None
    #: Whether the webhook has failed long enough to be disabled.
    disable: bool


def after_attempt(
    delivery: ClaimedDelivery, answer: DeliveryAnswer, policy: RetryPolicy, now: datetime
) -> DeliveryOutcome:
    """Decide what follows an attempt: delivered, a retry (not sooner than the receiver asked),
    or failed for good after the last retry; and the webhook's health (a success clears its
    failing streak, a failure starts one, a streak as long as ``policy.disable_after`` disables
    it). ``delivery.failing_since`` is the webhook's streak as it stands now."""
    if answer.delivered:
        return DeliveryOutcome(
            state=DELIVERED,
            next_attempt_at=None,
            delivered_at=now,
            failing_since=None,
            disable=False,
        )
    retry_at = policy.next_attempt(delivery.attempts + 1, now=now, retry_after=answer.retry_after)
    failing_since = delivery.failing_since or now
    return DeliveryOutcome(
        state=PENDING if retry_at is not None else FAILED,
        next_attempt_at=retry_at,
        delivered_at=None,
        failing_since=failing_since,
        disable=policy.disable(failing_since, now),
    )
