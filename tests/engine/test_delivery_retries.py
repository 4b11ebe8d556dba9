"""Webhook retries and health, in-process, against real receivers on 127.0.0.1 that refuse,
throttle, stall or redirect.

The parts run with the default retry schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: eight
attempts in all) without jitter; instead of waiting, a test sends what is due within some time
from now. Covers: a refused delivery retried until accepted, with every attempt listed (status,
latency, error); the waits between attempts; any 2xx accepted and any other status retried;
``Retry-After`` (seconds or an HTTP date) honoured when it asks for more than the schedule and
ignored when it asks for less; the delivery ``failed`` and kept once the schedule is exhausted;
the next change of the same package held back until then, and sent after; a receiver slower than
the timeout, a refused connection and a redirect (never followed) each counting as a failed
attempt; a webhook disabled once it has only failed for ``SHIPTRACK_WEBHOOK_DISABLE_AFTER``, its
deliveries waiting (none dropped, later changes still queued) until an update enables it again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from shiptrack.domain.delivery import RetryPolicy
from shiptrack.domain.webhooks import WebhookChanges
from tests.conftest import free_port
from tests.e2e.webhook_support import Received, Reply, always, fail_first
from tests.engine.delivery_support import Listed, receiving, running_parts

#: The default retry schedule: seconds before each retry.
SCHEDULE = RetryPolicy().schedule
ATTEMPTS = len(SCHEDULE) + 1
#: Time enough to claim and send after a wait ends (attempts take milliseconds here).
MARGIN = 1.0


def seconds(value: float) -> timedelta:
    return timedelta(seconds=value)


def statuses(entry: Listed) -> list[int | None]:
    return [attempt.response_status for attempt in entry.attempts]


# --- retried until accepted -----------------------------------------------------------------------


async def test_a_refused_delivery_is_retried_until_the_receiver_accepts_it(
    tmp_path: Path,
) -> None:
    async with running_parts(tmp_path) as parts, receiving(fail_first(2)) as receiver:
        account = await parts.account()
        webhook, _ = await parts.webhook(account, receiver.url)
        delivery_id = await parts.test_event(account, webhook)

        await parts.deliver_everything()

        [entry] = await parts.deliveries(account, webhook)
        requests = receiver.requests

    assert [r.reply.status for r in requests] == [500, 500, 204]
    assert len({r.webhook_id for r in requests}) == 1
    assert entry.view.id == delivery_id
    assert entry.view.state == "delivered"
    assert entry.view.delivered_at is not None
    assert entry.view.next_attempt_at is None
    assert entry.view.last_error is None
    assert statuses(entry) == [500, 500, 204]
    assert [a.error for a in entry.attempts] == ["HTTP 500", "HTTP 500", None]
    for attempt in entry.attempts:
        assert attempt.latency_ms >= 0


async def test_each_retry_waits_for_its_turn_in_the_schedule(tmp_path: Path) -> None:
    async with running_parts(tmp_path) as parts, receiving(always(Reply(500))) as receiver:
        account = await parts.account()
        webhook, _ = await parts.webhook(account, receiver.url)
        await parts.test_event(account, webhook)
        assert len(await parts.deliver_due()) == 1

        for wait in SCHEDULE:
            # Not a moment before the wait is over, then at once.
            assert await parts.deliver_due(within=seconds(wait - MARGIN)) == []
            [entry] = await parts.deliveries(account, webhook)
            assert entry.view.next_attempt_at is not None
            assert len(await parts.deliver_due(within=seconds(wait + MARGIN))) == 1

        assert len(receiver.requests) == ATTEMPTS


@pytest.mark.parametrize("accepting", [200, 202, 299])
async def test_any_2xx_delivers_and_any_other_status_is_retried(
    tmp_path: Path, accepting: int
) -> None:
    answers = iter([404, 410, 400, accepting])
    async with running_parts(tmp_path) as parts, receiving(lambda _: Reply(next(answers))) as rx:
        account = await parts.account()
        webhook, _ = await parts.webhook(account, rx.url)
        await parts.test_event(account, webhook)

        await parts.deliver_everything()

        [entry] = await parts.deliveries(account, webhook)
        assert len(rx.requests) == 4

    assert entry.view.state == "delivered"
    assert statuses(entry) == [404, 410, 400, accepting]


# --- Retry-After ----------------------------------------------------------------------------------


def in_seconds(value: int) -> Callable[[], str]:
    return lambda: str(value)


def at_http_date(value: int) -> Callable[[], str]:
    return lambda: format_datetime(datetime.now(UTC) + seconds(value), usegmt=True)


@pytest.mark.parametrize(
    ("retry_after", "due_after"),
    [(in_seconds(600), 600), (at_http_date(600), 600), (in_seconds(1), SCHEDULE[0])],
    ids=["more-delta-seconds", "more-http-date", "less-than-the-schedule"],
)
async def test_retry_after_is_honoured_when_it_asks_for_more_than_the_schedule(
    tmp_path: Path, retry_after: Callable[[], str], due_after: float
) -> None:
    def throttle_once(request: Received) -> Reply:
        if request.attempt == 1:
            return Reply(429, {"Retry-After": retry_after()})
        return Reply()

    async with running_parts(tmp_path) as parts, receiving(throttle_once) as receiver:
        account = await parts.account()
        webhook, _ = await parts.webhook(account, receiver.url)
        await parts.test_event(account, webhook)
        await parts.deliver_due()

        # Not when the schedule says (5 s) if the receiver asked for more; never sooner than
        # the schedule if it asked for less. (An HTTP date counts in whole seconds.)
        assert await parts.deliver_due(within=seconds(due_after - MARGIN - 1)) == []
        assert len(await parts.deliver_due(within=seconds(due_after + MARGIN))) == 1

        [entry] = await parts.deliveries(account, webhook)
        assert [r.reply.status for r in receiver.requests] == [429, 204]

    assert statuses(entry) == [429, 204]
    assert entry.attempts[0].error == "HTTP 429"


# --- giving up ------------------------------------------------------------------------------------


async def test_after_the_last_retry_the_delivery_is_failed_and_kept(tmp_path: Path) -> None:
    async with running_parts(tmp_path) as parts, receiving(always(Reply(500))) as receiver:
        account = await parts.account()
        webhook, _ = await parts.webhook(account, receiver.url)
        delivery_id = await parts.test_event(account, webhook)

        await parts.deliver_everything()

        [entry] = await parts.deliveries(account, webhook)
        failed = await parts.deliveries(account, webhook, state="failed")
        assert await parts.deliveries(account, webhook, state="pending") == []
        assert await parts.deliveries(account, webhook, state="delivered") == []
        requests = receiver.requests

    assert len(requests) == ATTEMPTS
    assert len({r.webhook_id for r in requests}) == 1
    assert entry.view.state == "failed"
    assert entry.view.delivered_at is None
    assert entry.view.next_attempt_at is None
    assert entry.view.last_error == "HTTP 500"
    assert statuses(entry) == [500] * ATTEMPTS
    # Kept, and found by its state.
    assert [d.view.id for d in failed] == [delivery_id]


async def test_a_later_change_waits_until_the_earlier_one_has_failed_then_goes(
    tmp_path: Path,
) -> None:
    def refuse_the_first_change(request: Received) -> Reply:
        return Reply(503) if request.sequence == 1 else Reply()

    async with running_parts(tmp_path) as parts, receiving(refuse_the_first_change) as receiver:
        account = await parts.account()
        webhook, _ = await parts.webhook(account, receiver.url)
        await parts.start(account, "ups", "delivered")
        await parts.walk()

        await parts.deliver_everything()

        listed = {d.view.sequence: d for d in await parts.deliveries(account, webhook)}
        requests = receiver.requests

    queued = sorted(listed)
    refused = [r for r in requests if r.sequence == 1]
    assert len(refused) == ATTEMPTS
    # Nothing of the later changes was sent while the first one was still being retried.
    assert [r.sequence for r in requests[ATTEMPTS:]] == queued[1:]
    assert listed[1].view.state == "failed"
    assert statuses(listed[1]) == [503] * ATTEMPTS
    assert all(listed[s].view.state == "delivered" for s in queued[1:])


# --- failed attempts without a status -------------------------------------------------------------


async def test_a_receiver_slower_than_the_timeout_is_a_failed_attempt(tmp_path: Path) -> None:
    def stall_once(request: Received) -> Reply:
        # The first attempt is never answered while the test runs.
        return Reply(hang=True) if request.attempt == 1 else Reply()

    async with (
        running_parts(tmp_path, webhook_timeout=0.5) as parts,
        receiving(stall_once) as receiver,
    ):
        account = await parts.account()
        webhook, _ = await parts.webhook(account, receiver.url)
        await parts.test_event(account, webhook)

        [timed_out] = await parts.deliver_due()
        assert receiver.held == 1  # given up on, although the receiver still holds it
        [accepted] = await parts.deliver_due(within=seconds(SCHEDULE[0] + MARGIN))

        [entry] = await parts.deliveries(account, webhook)

    assert (timed_out.result.status, timed_out.result.error) == (None, "timed out")
    assert accepted.result.status == 204
    first, second = entry.attempts
    assert (first.response_status, first.error) == (None, "timed out")
    assert first.latency_ms >= 450  # the 0.5 s timeout, in whole milliseconds
    assert (second.response_status, second.error) == (204, None)
    assert entry.view.state == "delivered"


async def test_a_refused_connection_is_a_failed_attempt_and_retried(tmp_path: Path) -> None:
    async with running_parts(tmp_path) as parts:
        account = await parts.account()
        webhook, _ = await parts.webhook(account, f"http://127.0.0.1:{free_port()}/nobody")
        await parts.test_event(account, webhook)

        await parts.deliver_due()
        [waiting] = await parts.deliveries(account, webhook)
        await parts.deliver_due(within=seconds(SCHEDULE[0] + MARGIN))
        [entry] = await parts.deliveries(account, webhook)

    assert waiting.view.state == "pending"
    assert waiting.view.next_attempt_at is not None
    assert len(entry.attempts) == 2
    for attempt in entry.attempts:
        assert attempt.response_status is None
        assert attempt.error, attempt
        assert "timed out" not in attempt.error
    assert entry.view.last_error == entry.attempts[-1].error


async def test_redirects_are_not_followed(tmp_path: Path) -> None:
    async with running_parts(tmp_path) as parts, receiving() as receiver:
        elsewhere = f"http://127.0.0.1:{receiver.port}/elsewhere"
        receiver.behaviour = lambda request: (
            Reply() if request.path == "/elsewhere" else Reply(302, {"Location": elsewhere})
        )
        account = await parts.account()
        webhook, _ = await parts.webhook(account, receiver.url)
        await parts.test_event(account, webhook)

        await parts.deliver_due()
        await parts.deliver_due(within=seconds(SCHEDULE[0] + MARGIN))
        [entry] = await parts.deliveries(account, webhook)
        requests = receiver.requests

    assert {r.path for r in requests} == {"/hooks/track"}
    assert statuses(entry) == [302, 302]
    assert entry.attempts[0].error == "HTTP 302"
    assert entry.view.state == "pending"
    assert entry.view.delivered_at is None


# --- disabling ------------------------------------------------------------------------------------

#: A webhook that failed twice, any time apart, has failed for long enough to be disabled (the
#: threshold itself: tests/unit/test_after_attempt.py).
DISABLE_AFTER = 1e-6


async def test_a_webhook_failing_too_long_is_disabled_and_an_update_enables_it_again(
    tmp_path: Path,
) -> None:
    async with (
        running_parts(tmp_path, webhook_disable_after=DISABLE_AFTER) as parts,
        receiving(always(Reply(500))) as receiver,
    ):
        account = await parts.account()
        webhook, _ = await parts.webhook(account, receiver.url)
        await parts.start(account, "ups", "delivered")
        await parts.walk(hours=24)

        # The first failure starts the streak; the webhook still gets the retry.
        await parts.deliver_due()
        health = await parts.health(account, webhook)
        assert health.failing_since is not None
        assert health.disabled_at is None
        await parts.deliver_due(within=seconds(SCHEDULE[0] + MARGIN))
        health = await parts.health(account, webhook)
        assert health.disabled_at is not None and health.failing_since is not None
        assert health.disabled_at - health.failing_since >= seconds(DISABLE_AFTER)

        # Disabled: nothing is sent, whenever it is due, and the journey's later changes pile
        # up, nothing dropped.
        await parts.walk()
        assert await parts.deliver_everything() == []
        assert len(receiver.requests) == 2
        waiting = await parts.deliveries(account, webhook)
        queued = sorted(d.view.sequence for d in waiting)
        assert queued == list(range(1, len(queued) + 1)) and len(queued) >= 5
        assert {d.view.state for d in waiting} == {"pending"}
        assert (await parts.health(account, webhook)).disabled_at == health.disabled_at

        # Fixed receiver, any update: enabled again, and everything arrives in order.
        receiver.behaviour = always(Reply())
        await parts.parts.webhooks.update(account, f"se-{webhook.id}", WebhookChanges(name="x"))
        health = await parts.health(account, webhook)
        assert (health.disabled_at, health.failing_since) == (None, None)
        await parts.deliver_everything()
        assert [r.sequence for r in receiver.accepted()] == queued
