"""Sending claimed deliveries, and recording what happened in batches."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field, replace
from datetime import datetime

import aiohttp

from shiptrack.domain.delivery import (
    DELIVERED,
    FAILED,
    PENDING,
    TEST_EVENT_HEADER,
    Attempt,
    ClaimedDelivery,
    DeliveryAnswer,
    RetryPolicy,
    after_attempt,
    parse_retry_after,
)
from shiptrack.domain.ids import format_id
from shiptrack.domain.timefmt import format_utc, utcnow
from shiptrack.domain.webhooks import SHIPENGINE_SIGNATURE, STANDARD_SIGNATURE
from shiptrack.logs import Throttle
from shiptrack.metrics.families import ATTEMPT_DELIVERED, ATTEMPT_FAILED, ATTEMPT_RETRYING, Metrics
from shiptrack.sealing import Sealer
from shiptrack.store.port import Store
from shiptrack.webhooks.keyring import KeyRing
from shiptrack.webhooks.rsa_signers import RsaSigner, ThreadSigner
from shiptrack.webhooks.secrets import ensure_secret, signing_secrets
from shiptrack.webhooks.sender import SendResult, post
from shiptrack.webhooks.signing import standard_headers

log = logging.getLogger("shiptrack.dispatcher")

#: The outcome an attempt is counted under, by the state it leaves its delivery in.
_OUTCOMES = {DELIVERED: ATTEMPT_DELIVERED, PENDING: ATTEMPT_RETRYING, FAILED: ATTEMPT_FAILED}


@dataclass(frozen=True)
class Sending:
    """What sending and recording deliveries needs."""

    store: Store
    keyring: KeyRing
    sealer: Sealer
    retry_policy: RetryPolicy
    #: ``User-Agent`` of deliveries (``SHIPTRACK_WEBHOOK_USER_AGENT``).
    user_agent: str
    #: Most of an answer that is read (``SHIPTRACK_WEBHOOK_MAX_RESPONSE_BYTES``).
    max_response_bytes: int
    #: Set when deliveries may have become due (an earlier one of a package arrived).
    deliveries_due: asyncio.Event
    metrics: Metrics
    #: The warnings about failed attempts, at most one a minute per webhook.
    failures: FailedAttemptLog = field(default_factory=lambda: FailedAttemptLog())
    #: Makes the RSA signatures (``SHIPTRACK_WEBHOOK_SIGNING_PROCESSES``; threads when 0).
    rsa_signer: RsaSigner = field(default_factory=ThreadSigner)


class FailedAttemptLog:
    """A warning for each failed delivery attempt, naming the webhook, the event, the answer (or
    why there was none) and what happens next; at most one line per webhook every ``interval``
    seconds, so a dead endpoint cannot flood the log (the next line says how many were held
    back). Every attempt stays listed in ``GET /v1/environment/webhooks/{id}/deliveries``."""

    def __init__(self, interval: float = 60.0) -> None:
        self.throttle = Throttle(interval)

    def failed(self, attempt: Attempt) -> None:
        """Log one failed ``attempt`` (after it was recorded), unless its webhook had a line
        within the interval."""
        delivery = attempt.delivery
        held_back = self.throttle.allow(delivery.webhook_id)
        if held_back is None:
            return
        answer = (
            f"HTTP {attempt.response_status}"
            if attempt.response_status is not None
            else attempt.error or "no answer"
        )
        then = (
            f"next try at {format_utc(attempt.next_attempt_at)}"
            if attempt.next_attempt_at is not None
            else "no retry left: failed for good"
        )
        event, tracking_number = _event_of(delivery.payload)
        if delivery.test_event:
            event += ", a test event"
        log.warning(
            "webhook %s: delivery %s (%s) failed on attempt %d: %s; %s%s",
            format_id(delivery.webhook_id),
            format_id(delivery.id),
            event,
            delivery.attempts + 1,
            answer,
            then,
            f" ({held_back} more failed attempts to this webhook since the last line)"
            if held_back
            else "",
            extra={
                "account_id": format_id(delivery.account_id),
                "webhook_id": format_id(delivery.webhook_id),
                "tracking_number": tracking_number,
            },
        )


def _event_of(payload: bytes) -> tuple[str, str | None]:
    """What a delivery is about, for a log line: its resource type and status, and the number."""
    try:
        body = json.loads(payload)
        data = body.get("data") or {}
        status = data.get("status_code")
        what = f"{body.get('resource_type', 'event')} {status}" if status else "event"
        number = data.get("tracking_number")
        return what, number if isinstance(number, str) else None
    except (ValueError, AttributeError):
        return "event", None


async def sign_ahead(
    sending: Sending, deliveries: list[ClaimedDelivery]
) -> dict[int, asyncio.Future[dict[str, str]]]:
    """Start the RSA signatures of the ``deliveries`` whose webhook asks for them, before they
    wait for a slot: a slot is then held for the request alone, not for the queue of signatures
    before its own. Delivery id -> its signature headers' future (handed to :func:`send`); none
    when the signing key cannot be read now (each send then tries on its own)."""
    wanted = [d for d in deliveries if SHIPENGINE_SIGNATURE in d.signatures]
    if not wanted:
        return {}
    try:
        key = await sending.keyring.signing_key()
    except Exception:
        # Signing ahead only saves time: each send asks for the key again and reports its own
        # trouble (a delivery given back, or a failed attempt), so nothing is lost here.
        return {}
    now = utcnow()
    return {d.id: sending.rsa_signer.start(key, d.payload, now) for d in wanted}


def drop_signature(signature: asyncio.Future[dict[str, str]] | None) -> None:
    """Forget a signature started ahead for a delivery that is not sent after all."""
    if signature is None:
        return
    if signature.done():
        if not signature.cancelled():
            signature.exception()  # retrieved, so that no "never retrieved" line is logged
    else:
        signature.cancel()


async def send(
    sending: Sending,
    session: aiohttp.ClientSession,
    delivery: ClaimedDelivery,
    signature: Awaitable[dict[str, str]] | None = None,
) -> SendResult:
    """POST the stored bytes, signed as its webhook asks (both ways by default); the attempt is
    recorded by :func:`record`. ``signature``: ShipEngine's signature headers started ahead
    (:func:`sign_ahead`), made here when not given."""
    now = utcnow()
    headers = {h["key"]: h["value"] for h in delivery.headers}
    headers.update({"Content-Type": "application/json", "User-Agent": sending.user_agent})
    if SHIPENGINE_SIGNATURE in delivery.signatures:
        if signature is None:
            key = await sending.keyring.signing_key()
            signature = sending.rsa_signer.start(key, delivery.payload, now)
        headers.update(await signature)
    if STANDARD_SIGNATURE in delivery.signatures:
        secrets = signing_secrets(sending.sealer, delivery, now)
        if not secrets:
            secrets = [await _make_secret(sending, delivery)]
        headers.update(standard_headers(delivery.message_id, delivery.payload, now, secrets))
    if delivery.test_event:
        headers[TEST_EVENT_HEADER] = "true"
    return await post(
        session,
        delivery.url,
        delivery.payload,
        headers,
        max_response_bytes=sending.max_response_bytes,
    )


async def record(
    sending: Sending, sent: list[tuple[ClaimedDelivery, SendResult]], *, again: bool = False
) -> None:
    """Record a batch of attempts in one transaction: each attempt, each delivery's next step
    (delivered, a retry time, or failed for good), and each webhook's health. ``again``: an
    earlier try of this batch failed and may have been committed all the same (see
    ``Outbox.record_attempts``)."""
    policy = sending.retry_policy
    now = utcnow()
    #: Each webhook's failing streak as this batch leaves it, those whose streak changed, and those
    #: to disable (a later success in the batch takes a webhook off that list).
    failing: dict[int, datetime | None] = {}
    changed: set[int] = set()
    disabled: dict[int, datetime] = {}
    attempts = []
    for delivery, result in sent:
        webhook_id = delivery.webhook_id
        streak = failing.get(webhook_id, delivery.failing_since)
        outcome = after_attempt(
            delivery
            if streak == delivery.failing_since
            else replace(delivery, failing_since=streak),
            DeliveryAnswer(result.delivered, parse_retry_after(result.retry_after, now)),
            policy,
            now,
        )
        if outcome.failing_since != streak:
            changed.add(webhook_id)
        failing[webhook_id] = outcome.failing_since
        if outcome.failing_since is None:
            disabled.pop(webhook_id, None)
        if outcome.disable:
            disabled[webhook_id] = now
            log.warning(
                "webhook %s disabled: every delivery failed since %s",
                webhook_id,
                outcome.failing_since,
            )
        attempts.append(
            Attempt(
                delivery=delivery,
                attempted_at=result.started_at or now,
                response_status=result.status,
                latency_ms=result.latency_ms,
                error=result.error,
                state=outcome.state,
                next_attempt_at=outcome.next_attempt_at,
                delivered_at=outcome.delivered_at,
            )
        )
    async with sending.store.write() as tx:
        await tx.outbox.record_attempts(attempts, again=again)
        for webhook_id in sorted(changed | disabled.keys()):
            await tx.webhooks.record_health(
                webhook_id, failing_since=failing[webhook_id], disabled_at=disabled.get(webhook_id)
            )
    for attempt in attempts:
        if attempt.delivered_at is None:
            sending.failures.failed(attempt)
    # Counted once committed: a batch whose write is tried again is counted when it goes through.
    for state, count in Counter(attempt.state for attempt in attempts).items():
        sending.metrics.delivery_attempted(_OUTCOMES[state], count)
    if any(result.delivered for _, result in sent):
        # A package's next notification may go now that the earlier one arrived.
        sending.deliveries_due.set()


async def release(
    sending: Sending, unsent: list[ClaimedDelivery], lost_claims: list[datetime]
) -> None:
    """Give back deliveries claimed but not sent, and whatever the claims that set the leases
    ``lost_claims`` took (claims whose answer never came): due at once, for any dispatcher."""
    now = utcnow()
    async with sending.store.write() as tx:
        await tx.outbox.release(unsent, now=now)
        for lease_until in lost_claims:
            await tx.outbox.release_claim(lease_until=lease_until, now=now)
    sending.deliveries_due.set()


async def _make_secret(sending: Sending, delivery: ClaimedDelivery) -> str:
    async with sending.store.write() as tx:
        webhook = await tx.webhooks.get(delivery.account_id, delivery.webhook_id)
        assert webhook is not None
        return await ensure_secret(tx, sending.sealer, webhook)
