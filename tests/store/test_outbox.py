"""The outbox as a webhook's owner sees it, on every store: status changes kept, deliveries listed
newest first with their attempts, and deliveries replayed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shiptrack.domain.check import StatusChangeRecord
from shiptrack.domain.delivery import DELIVERED, FAILED, PENDING
from shiptrack.store.port import Store
from tests.store.seeds import (
    DELIVERY_LEASE,
    NOW,
    Tenant,
    claim_deliveries,
    delivery_view,
    ids,
    record_attempt,
)


def _change(package_id: int, sequence: int, status_code: str = "IT") -> StatusChangeRecord:
    return StatusChangeRecord(
        subscription_id=package_id,
        sequence=sequence,
        previous_status="UN" if sequence == 1 else "IT",
        status_code=status_code,
        status_detail_code=None,
        occurred_at=NOW - timedelta(hours=1),
        detected_at=NOW,
        correction=False,
    )


async def test_status_changes_are_kept_and_their_ids_given_in_order(store: Store) -> None:
    tenant = await Tenant.create(store)
    package = await tenant.package("1ZCHANGES")

    async with store.write() as tx:
        first = await tx.outbox.add_changes([_change(package, 1), _change(package, 2, "DE")])
        assert await tx.outbox.add_changes([]) == []
        second = await tx.outbox.add_changes([_change(package, 3, "EX")])

    assert len(set(first + second)) == 3
    assert first == sorted(first) and second[0] > first[-1]


async def test_a_webhooks_deliveries_are_listed_newest_first_with_their_package(
    store: Store,
) -> None:
    tenant = await Tenant.create(store)
    hook, other_hook = await tenant.webhook(), await tenant.webhook("https://other.invalid/")
    package = await tenant.package("1ZLISTED")
    first = await tenant.delivery(hook, package, 1, due=NOW - timedelta(minutes=2))
    await tenant.delivery(other_hook, package, 1)
    second = await tenant.delivery(hook, package, 2, due=NOW - timedelta(minutes=1))
    test_event = await tenant.test_event(hook)

    async with store.read() as tx:
        listed = await tx.outbox.page(webhook_id=hook, before_id=None, limit=10)
        older = await tx.outbox.page(webhook_id=hook, before_id=second, limit=10)
        one = await tx.outbox.page(webhook_id=hook, before_id=None, limit=1)

    assert [view.id for view in listed] == [test_event, second, first]
    assert [view.id for view in older] == [first]
    assert [view.id for view in one] == [test_event]
    view = listed[1]
    assert (view.webhook_id, view.sequence, view.state, view.attempts) == (hook, 2, PENDING, 0)
    assert (view.carrier_code, view.tracking_number, view.status_code) == ("ups", "1ZLISTED", "IT")
    assert (view.created_at, view.next_attempt_at) == (NOW - timedelta(minutes=1),) * 2
    assert (view.delivered_at, view.last_error) == (None, None)
    assert view.status_change_id is not None
    assert view.message_id == f"msg_{view.status_change_id}_{hook}"
    test_view = listed[0]
    assert (test_view.status_change_id, test_view.carrier_code, test_view.tracking_number) == (
        None,
        None,
        None,
    )
    assert (test_view.status_code, test_view.sequence) == (None, 0)


async def test_a_webhooks_deliveries_are_listed_by_state(store: Store) -> None:
    tenant = await Tenant.create(store)
    hook = await tenant.webhook()
    delivered = await tenant.settled_delivery(
        hook, await tenant.package("1ZOK"), 1, at=NOW - timedelta(hours=2)
    )
    failed = await tenant.settled_delivery(
        hook, await tenant.package("1ZKO"), 1, state=FAILED, at=NOW - timedelta(hours=1)
    )
    pending = await tenant.delivery(hook, await tenant.package("1ZWAIT"), 1)

    async def listed(state: str) -> list[int]:
        async with store.read() as tx:
            found = await tx.outbox.page(webhook_id=hook, before_id=None, limit=10, state=state)
        return [view.id for view in found]

    assert await listed(DELIVERED) == [delivered]
    assert await listed(FAILED) == [failed]
    assert await listed(PENDING) == [pending]
    view = await delivery_view(store, hook, delivered)
    assert (view.state, view.attempts, view.delivered_at) == (
        DELIVERED,
        1,
        NOW - timedelta(hours=2),
    )
    view = await delivery_view(store, hook, failed)
    assert (view.state, view.next_attempt_at, view.delivered_at) == (FAILED, None, None)


async def test_attempts_are_listed_per_delivery_oldest_first(store: Store) -> None:
    tenant = await Tenant.create(store)
    hook = await tenant.webhook()
    retried = await tenant.delivery(hook, await tenant.package("1ZRETRIED"), 1)
    untried = await tenant.delivery(hook, await tenant.package("1ZUNTRIED"), 1, due=NOW)
    [claimed] = [d for d in await claim_deliveries(store) if d.id == retried]
    retry_at = NOW + timedelta(minutes=1)
    await record_attempt(store, claimed, status=503, error="HTTP 503", next_attempt_at=retry_at)
    [again] = [d for d in await claim_deliveries(store, now=retry_at) if d.id == retried]
    await record_attempt(store, again, at=retry_at, state=DELIVERED)

    async with store.read() as tx:
        found = await tx.outbox.attempts_of([retried, untried])
        assert await tx.outbox.attempts_of([]) == {}

    assert set(found) == {retried, untried}
    assert found[untried] == []
    assert [(a.attempted_at, a.response_status, a.error, a.latency_ms) for a in found[retried]] == [
        (NOW, 503, "HTTP 503", 12),
        (retry_at, 200, None, 12),
    ]


async def test_a_delivery_exists_only_for_its_webhook(store: Store) -> None:
    tenant = await Tenant.create(store)
    hook, other_hook = await tenant.webhook(), await tenant.webhook("https://other.invalid/")
    delivery_id = await tenant.delivery(hook, await tenant.package("1ZEXISTS"), 1)

    async with store.read() as tx:
        assert await tx.outbox.exists(webhook_id=hook, delivery_id=delivery_id) is True
        assert await tx.outbox.exists(webhook_id=other_hook, delivery_id=delivery_id) is False
        assert await tx.outbox.exists(webhook_id=hook, delivery_id=delivery_id + 1) is False


# Replay


async def _replay(store: Store, webhook_id: int, **kwargs: Any) -> int:
    async with store.write() as tx:
        return await tx.outbox.replay(webhook_id=webhook_id, **kwargs)


async def test_replay_sends_a_delivered_or_failed_delivery_again(store: Store) -> None:
    tenant = await Tenant.create(store)
    hook = await tenant.webhook()
    package = await tenant.package("REPLAYED")
    delivered = await tenant.settled_delivery(hook, package, 1, at=NOW - timedelta(hours=2))
    failed = await tenant.settled_delivery(
        hook, package, 2, state=FAILED, at=NOW - timedelta(hours=1)
    )
    later = NOW + timedelta(days=2)

    assert await _replay(store, hook, now=later, delivery_id=delivered) == 1
    assert await _replay(store, hook, now=later, delivery_id=failed) == 1

    for delivery_id in (delivered, failed):
        view = await delivery_view(store, hook, delivery_id)
        assert (view.state, view.attempts, view.next_attempt_at, view.delivered_at) == (
            PENDING,
            0,
            later,
            None,
        )
    # Replayed in order: change 1 first, with the same webhook-id as before.
    [first] = await claim_deliveries(store, now=later)
    assert first.id == delivered
    assert first.message_id == (await delivery_view(store, hook, delivered)).message_id


async def test_replay_leaves_a_delivery_being_sent_alone(store: Store) -> None:
    tenant = await Tenant.create(store)
    hook = await tenant.webhook()
    delivery_id = await tenant.delivery(hook, await tenant.package("INFLIGHT"), 1)
    [claimed] = await claim_deliveries(store)

    assert await _replay(store, hook, now=NOW + timedelta(seconds=1)) == 0

    view = await delivery_view(store, hook, delivery_id)
    assert view.next_attempt_at == claimed.lease_until
    # The dispatcher sending it still owns it and records the outcome.
    await record_attempt(store, claimed, state=DELIVERED)
    assert (await delivery_view(store, hook, delivery_id)).state == DELIVERED


async def test_replay_takes_back_a_delivery_whose_sender_died(store: Store) -> None:
    tenant = await Tenant.create(store)
    hook = await tenant.webhook()
    delivery_id = await tenant.delivery(hook, await tenant.package("ORPHAN"), 1)
    [orphaned] = await claim_deliveries(store)

    # Its lease has run out: nobody is sending it any more.
    later = NOW + DELIVERY_LEASE + timedelta(seconds=1)
    assert await _replay(store, hook, now=later) == 1

    assert (await delivery_view(store, hook, delivery_id)).next_attempt_at == later
    await record_attempt(store, orphaned, state=DELIVERED)
    view = await delivery_view(store, hook, delivery_id)
    assert (view.state, view.attempts) == (PENDING, 0)  # the dead sender's word moves nothing
    assert ids(await claim_deliveries(store, now=later)) == {delivery_id}


async def test_replay_brings_a_retry_waiting_for_later_forward(store: Store) -> None:
    tenant = await Tenant.create(store)
    hook = await tenant.webhook()
    delivery_id = await tenant.delivery(hook, await tenant.package("WAITING"), 1)
    [claimed] = await claim_deliveries(store)
    retry_at = NOW + timedelta(hours=2)
    await record_attempt(store, claimed, status=503, next_attempt_at=retry_at)

    # Nobody is sending it: "redeliver" must send it now, not in two hours.
    now = NOW + timedelta(minutes=1)
    assert await _replay(store, hook, now=now, delivery_id=delivery_id) == 1
    view = await delivery_view(store, hook, delivery_id)
    assert (view.state, view.attempts, view.next_attempt_at) == (PENDING, 0, now)
    assert ids(await claim_deliveries(store, now=now)) == {delivery_id}


async def test_replay_of_a_range_takes_the_deliveries_created_in_it(store: Store) -> None:
    tenant = await Tenant.create(store)
    hook, other_hook = await tenant.webhook(), await tenant.webhook("https://other.invalid/")
    package = await tenant.package("RANGE")
    times = [NOW - timedelta(hours=h) for h in (3, 2, 1)]
    before, inside, after = [
        await tenant.settled_delivery(hook, package, n, at=at)
        for n, at in enumerate(times, start=1)
    ]
    elsewhere = await tenant.settled_delivery(other_hook, package, 2, at=times[1])

    count = await _replay(store, hook, now=NOW, since=times[1], until=times[2])

    assert count == 1
    states = {i: (await delivery_view(store, hook, i)).state for i in (before, inside, after)}
    assert states == {before: DELIVERED, inside: PENDING, after: DELIVERED}
    assert (await delivery_view(store, other_hook, elsewhere)).state == DELIVERED
    assert await _replay(store, hook, now=NOW, delivery_id=elsewhere) == 0
