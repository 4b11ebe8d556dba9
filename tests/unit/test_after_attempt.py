"""What follows one webhook delivery attempt (``shiptrack.domain.delivery.after_attempt``).

Covers the README's "Retries, order, health" as the dispatcher applies it to each attempt: an
accepted delivery is delivered and clears its webhook's failing streak; a failed one is retried
(never sooner than the receiver's ``Retry-After``), or fails for good after the last retry; the
first failure starts the webhook's streak, later ones keep its start, and a streak as long as the
disable threshold disables the webhook.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shiptrack.domain.delivery import (
    DELIVERED,
    FAILED,
    PENDING,
    ClaimedDelivery,
    DeliveryAnswer,
    RetryPolicy,
    after_attempt,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
POLICY = RetryPolicy(schedule=(5, 300), jitter=0, disable_after=86400)
ACCEPTED = DeliveryAnswer(delivered=True)
REFUSED = DeliveryAnswer(delivered=False)


def delivery(*, attempts: int = 0, failing_since: datetime | None = None) -> ClaimedDelivery:
    return ClaimedDelivery(
        id=1,
        webhook_id=2,
        account_id=3,
        message_id="msg_1_2",
        payload=b"{}",
        attempts=attempts,
        lease_until=NOW,
        url="https://hooks.example/track",
        headers=[],
        sealed_secret=None,
        sealed_previous_secret=None,
        previous_secret_expires_at=None,
        failing_since=failing_since,
    )


def test_an_accepted_delivery_is_delivered_and_clears_the_failing_streak() -> None:
    outcome = after_attempt(
        delivery(attempts=1, failing_since=NOW - timedelta(hours=3)), ACCEPTED, POLICY, NOW
    )

    assert outcome.state == DELIVERED
    assert outcome.delivered_at == NOW
    assert outcome.next_attempt_at is None
    assert outcome.failing_since is None
    assert not outcome.disable


def test_a_first_failure_is_retried_and_starts_the_webhooks_failing_streak() -> None:
    outcome = after_attempt(delivery(), REFUSED, POLICY, NOW)

    assert outcome.state == PENDING
    assert outcome.next_attempt_at == NOW + timedelta(seconds=5)
    assert outcome.delivered_at is None
    assert outcome.failing_since == NOW
    assert not outcome.disable


def test_a_later_failure_keeps_when_the_streak_began() -> None:
    began = NOW - timedelta(hours=2)

    outcome = after_attempt(delivery(attempts=1, failing_since=began), REFUSED, POLICY, NOW)

    assert outcome.failing_since == began
    assert outcome.next_attempt_at == NOW + timedelta(seconds=300)


def test_a_receiver_asking_for_more_time_gets_it() -> None:
    outcome = after_attempt(
        delivery(), DeliveryAnswer(delivered=False, retry_after=90), POLICY, NOW
    )

    assert outcome.next_attempt_at == NOW + timedelta(seconds=90)


def test_after_the_last_retry_the_delivery_fails_for_good() -> None:
    outcome = after_attempt(delivery(attempts=2), REFUSED, POLICY, NOW)

    assert outcome.state == FAILED
    assert outcome.next_attempt_at is None


def test_a_webhook_failing_for_as_long_as_the_threshold_is_disabled() -> None:
    almost = after_attempt(delivery(failing_since=NOW - timedelta(hours=23)), REFUSED, POLICY, NOW)
    over = after_attempt(delivery(failing_since=NOW - timedelta(hours=24)), REFUSED, POLICY, NOW)
    recovered = after_attempt(
        delivery(failing_since=NOW - timedelta(days=9)), ACCEPTED, POLICY, NOW
    )

    assert not almost.disable
    assert over.disable
    assert not recovered.disable
