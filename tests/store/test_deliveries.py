"""Claiming webhook deliveries and recording their attempts, on every store.

Covers which deliveries a dispatcher claims: pending and due, oldest due first, only the head of
each (package, webhook) queue so one package's notifications arrive in ``sequence`` order (test
events belong to no queue and never wait), never for a disabled or deleted webhook, never for a
webhook the dispatcher skips, at most as many per webhook as it has free slots; the lease that keeps
a claimed delivery away from other dispatchers until it runs out; a dispatcher that lost its lease
being unable to move the delivery on (its attempt is still kept); an attempt recorded again (after
a commit the dispatcher never saw) kept once; deliveries given back unsent, also a whole claim
whose answer was lost; and concurrent claimers never sharing a delivery.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from shiptrack.domain.delivery import DELIVERED, FAILED, PENDING, ClaimedDelivery
from shiptrack.domain.webhooks import WebhookChanges, WebhookHeader
from shiptrack.store.port import Store
from tests.store.seeds import (
    DELIVERY_LEASE,
    NOW,
    Tenant,
    claim_deliveries,
    delivery_view,
    hold_open,
    ids,
    record_attempt,
)

LEASE = DELIVERY_LEASE


async def _moved_on(store: Store, delivery: ClaimedDelivery, **outcome: Any) -> bool:
    """Record one attempt as the dispatcher does; whether it moved the delivery on (``False``:
    the lease was lost meanwhile, the delivery is left to whoever holds it now)."""
    before = (await delivery_view(store, delivery.webhook_id, delivery.id)).attempts
    await record_attempt(store, delivery, **outcome)
    return (await delivery_view(store, delivery.webhook_id, delivery.id)).attempts == before + 1


async def _attempts(store: Store, delivery_id: int) -> list[tuple[int | None, str | None]]:
    async with store.read() as tx:
        found = (await tx.outbox.attempts_of([delivery_id]))[delivery_id]
    return [(a.response_status, a.error) for a in found]


# What is claimed


async def test_claim_takes_pending_due_deliveries_oldest_due_first(store: Store) -> None:
    tenant = await Tenant.create(store)
    hook = await tenant.webhook()
    settled_at = NOW - timedelta(days=1)
    await tenant.settled_delivery(hook, await tenant.package("DONE"), 1, at=settled_at)
    await tenant.settled_delivery(
        hook, await tenant.package("GAVEUP"), 1, state=FAILED, at=settled_at
    )
    due = {}
    for minutes in (30, 10, 20, 0):
        package = await tenant.package(f"DUE{minutes}")
        due[minutes] = await tenant.delivery(hook, package, 1, due=NOW - timedelta(minutes=minutes))
    soon = NOW + timedelta(seconds=1)
    later = await tenant.delivery(hook, await tenant.package("LATER"), 1, due=soon)

    assert ids(await claim_deliveries(store, limit=2)) == {due[30], due[20]}
    assert ids(await claim_deliveries(store, limit=2)) == {due[10], due[0]}
    assert await claim_deliveries(store) == []
    assert ids(await claim_deliveries(store, now=soon)) == {later}


async def test_a_claimed_delivery_carries_what_sending_it_needs(store: Store) -> None:
    tenant = await Tenant.create(store)
    hook = await tenant.webhook("https://hooks.invalid/a")
    async with store.write() as tx:
        webhook = await tx.webhooks.get(tenant.account_id, hook)
        assert webhook is not None
        await tx.webhooks.update(
            webhook,
            WebhookChanges(headers=(WebhookHeader("X-Team", "tracking"),)),
            now=NOW,
        )
        await tx.webhooks.set_secrets(
            hook,
            sealed_secret="sealed-new",
            sealed_previous_secret="sealed-old",
            previous_secret_expires_at=NOW + timedelta(days=1),
        )
        await tx.webhooks.record_health(hook, failing_since=NOW - timedelta(hours=1))
    delivery_id = await tenant.delivery(hook, await tenant.package("1ZCARRIES"), 1)
    view = await delivery_view(store, hook, delivery_id)

    [claimed] = await claim_deliveries(store)

    assert (claimed.id, claimed.webhook_id, claimed.account_id) == (
        delivery_id,
        hook,
        tenant.account_id,
    )
    assert claimed.url == "https://hooks.invalid/a"
    assert claimed.headers == [{"key": "X-Team", "value": "tracking"}]
    assert claimed.message_id == view.message_id
    assert claimed.payload == b'{"sequence": 1}'
    assert (claimed.attempts, claimed.lease_until) == (0, NOW + LEASE)
    assert (claimed.sealed_secret, claimed.sealed_previous_secret) == ("sealed-new", "sealed-old")
    assert claimed.previous_secret_expires_at == NOW + timedelta(days=1)
    assert claimed.failing_since == NOW - timedelta(hours=1)


async def test_only_the_head_of_a_package_queue_is_claimed(store: Store) -> None:
    tenant = await Tenant.create(store)
    hook = await tenant.webhook()
    package, other = await tenant.package("QUEUE"), await tenant.package("OTHER")
    first = await tenant.delivery(hook, package, 1, due=NOW - timedelta(minutes=1))
    second = await tenant.delivery(hook, package, 2, due=NOW - timedelta(minutes=2))
    third = await tenant.delivery(hook, package, 3, due=NOW - timedelta(minutes=3))
    elsewhere = await tenant.delivery(hook, other, 1)

    claimed = await claim_deliveries(store)
    assert ids(claimed) == {first, elsewhere}

    # Delivered: the next change of the package may go, and only it.
    [head] = [delivery for delivery in claimed if delivery.id == first]
    assert await _moved_on(store, head, state=DELIVERED) is True
    [head] = await claim_deliveries(store)
    assert head.id == second
    assert await _moved_on(store, head, state=DELIVERED) is True
    assert ids(await claim_deliveries(store)) == {third}


async def test_a_later_change_waits_for_an_earlier_one_that_is_not_due(store: Store) -> None:
    tenant = await Tenant.create(store)
    hook = await tenant.webhook()
    package = await tenant.package("RETRYING")
    first = await tenant.delivery(hook, package, 1, due=NOW + timedelta(minutes=30))
    second = await tenant.delivery(hook, package, 2, due=NOW - timedelta(minutes=5))

    assert await claim_deliveries(store) == []
    assert ids(await claim_deliveries(store, now=NOW + timedelta(minutes=30))) == {first}
    assert second not in ids(await claim_deliveries(store, now=NOW + timedelta(hours=5)))


async def test_a_change_that_failed_for_good_no_longer_holds_the_queue(store: Store) -> None:
    tenant = await Tenant.create(store)
    hook = await tenant.webhook()
    package = await tenant.package("GIVENUP")
    first = await tenant.delivery(hook, package, 1)
    second = await tenant.delivery(hook, package, 2)

    [head] = await claim_deliveries(store)
    assert head.id == first
    assert await _moved_on(store, head, state=FAILED, status=500, error="HTTP 500") is True

    assert ids(await claim_deliveries(store)) == {second}


async def test_each_webhook_has_its_own_queue(store: Store) -> None:
    tenant = await Tenant.create(store)
    slow, fast = await tenant.webhook("https://slow.invalid/"), await tenant.webhook()
    package = await tenant.package("TWOHOOKS")
    await tenant.settled_delivery(fast, package, 1, at=NOW - timedelta(hours=1))
    await tenant.delivery(slow, package, 1, due=NOW + timedelta(hours=2))
    fast_second = await tenant.delivery(fast, package, 2)

    # The slow webhook's retry of change 1 does not hold change 2 back from the other webhook.
    assert ids(await claim_deliveries(store)) == {fast_second}


async def test_test_deliveries_are_never_held_back(store: Store) -> None:
    tenant = await Tenant.create(store)
    hook = await tenant.webhook()
    package = await tenant.package("BLOCKED")
    await tenant.delivery(hook, package, 1, due=NOW + timedelta(hours=1))
    blocked = await tenant.delivery(hook, package, 2)
    first_test = await tenant.test_event(hook, now=NOW - timedelta(seconds=2))
    second_test = await tenant.test_event(hook, now=NOW - timedelta(seconds=1))

    claimed = await claim_deliveries(store)

    # Two pending test events do not queue behind each other, nor behind a package.
    assert ids(claimed) == {first_test, second_test}
    assert blocked not in ids(claimed)


async def test_a_disabled_webhooks_deliveries_wait_until_it_is_enabled(store: Store) -> None:
    tenant = await Tenant.create(store)
    hook, healthy = await tenant.webhook("https://down.invalid/"), await tenant.webhook()
    waiting = await tenant.delivery(hook, await tenant.package("DOWN"), 1)
    going = await tenant.delivery(healthy, await tenant.package("UP"), 1)
    async with store.write() as tx:
        await tx.webhooks.record_health(
            hook, failing_since=NOW - timedelta(days=5), disabled_at=NOW
        )

    assert ids(await claim_deliveries(store)) == {going}
    assert (await delivery_view(store, hook, waiting)).state == PENDING  # waiting, not dropped

    # Any update of the webhook (the API's PUT) enables it again.
    async with store.write() as tx:
        webhook = await tx.webhooks.get(tenant.account_id, hook)
        assert webhook is not None and webhook.disabled_at is not None
        await tx.webhooks.update(webhook, WebhookChanges(name="fixed"), now=NOW)
    assert ids(await claim_deliveries(store)) == {waiting}


async def test_a_deleted_webhooks_deliveries_are_never_claimed(store: Store) -> None:
    tenant = await Tenant.create(store)
    hook = await tenant.webhook()
    delivery_id = await tenant.delivery(hook, await tenant.package("GONE"), 1)
    test_id = await tenant.test_event(hook)
    async with store.write() as tx:
        await tx.webhooks.delete(hook, now=NOW)

    assert await claim_deliveries(store, now=NOW + timedelta(days=30)) == []
    assert (await delivery_view(store, hook, delivery_id)).state == PENDING
    assert (await delivery_view(store, hook, test_id)).state == PENDING


async def test_skipped_webhooks_are_left_for_later(store: Store) -> None:
    tenant = await Tenant.create(store)
    full, other = await tenant.webhook("https://full.invalid/"), await tenant.webhook()
    held = await tenant.delivery(full, await tenant.package("FULL"), 1, due=NOW - LEASE)
    taken = await tenant.delivery(other, await tenant.package("FREE"), 1)

    assert ids(await claim_deliveries(store, skip_webhooks=(full,))) == {taken}
    assert ids(await claim_deliveries(store)) == {held}


async def test_a_webhook_gets_no_more_than_its_free_slots(store: Store) -> None:
    tenant = await Tenant.create(store)
    busy, calm, new = (
        await tenant.webhook("https://busy.invalid/"),
        await tenant.webhook("https://calm.invalid/"),
        await tenant.webhook("https://new.invalid/"),
    )
    backlog = [
        await tenant.delivery(
            busy, await tenant.package(f"B{i}"), 1, due=NOW - timedelta(hours=1, seconds=-i)
        )
        for i in range(5)
    ]
    # Distinct due times: which of two deliveries due at once goes first is not defined.
    calm_ones = [
        await tenant.delivery(
            calm, await tenant.package(f"C{i}"), 1, due=NOW - timedelta(minutes=30, seconds=-i)
        )
        for i in range(3)
    ]
    new_ones = [
        await tenant.delivery(
            new, await tenant.package(f"N{i}"), 1, due=NOW - timedelta(minutes=10, seconds=-i)
        )
        for i in range(3)
    ]

    # ``busy`` has one free slot, ``calm`` none; a webhook not named gets the default (two).
    claimed = await claim_deliveries(
        store, limit=10, per_webhook={busy: 1, calm: 0}, default_per_webhook=2
    )

    # The busy webhook's backlog, due first, does not keep the others from being claimed.
    assert ids(claimed) == {backlog[0], *new_ones[:2]}
    assert not ids(claimed) & set(calm_ones)
    # Uncapped, the rest goes, oldest due first.
    rest = await claim_deliveries(store, limit=5)
    assert ids(rest) == {*backlog[1:], calm_ones[0]}


# The lease


async def test_a_claimed_delivery_is_not_claimable_again_until_its_lease_runs_out(
    store: Store,
) -> None:
    tenant = await Tenant.create(store)
    hook = await tenant.webhook()
    delivery_id = await tenant.delivery(hook, await tenant.package("LEASED"), 1)

    [first] = await claim_deliveries(store)
    assert first.id == delivery_id
    assert (await delivery_view(store, hook, delivery_id)).next_attempt_at == NOW + LEASE
    assert await claim_deliveries(store, now=NOW + timedelta(seconds=1)) == []
    assert await claim_deliveries(store, now=NOW + LEASE - timedelta(seconds=1)) == []

    # The dispatcher died mid-send: once the lease passes the delivery goes again, same webhook-id.
    [again] = await claim_deliveries(store, now=NOW + LEASE)
    assert again.id == delivery_id
    assert again.message_id == first.message_id
    assert again.lease_until == NOW + 2 * LEASE


async def test_a_dispatcher_that_lost_its_lease_cannot_move_the_delivery_on(store: Store) -> None:
    tenant = await Tenant.create(store)
    hook = await tenant.webhook()
    delivery_id = await tenant.delivery(hook, await tenant.package("SLOW"), 1)
    [slow] = await claim_deliveries(store)
    [fast] = await claim_deliveries(store, now=NOW + LEASE)

    late = NOW + LEASE + timedelta(seconds=5)
    retry = NOW + timedelta(hours=1)
    assert not await _moved_on(
        store, slow, at=late, status=500, error="HTTP 500", next_attempt_at=retry
    )
    view = await delivery_view(store, hook, delivery_id)
    assert (view.state, view.attempts, view.last_error) == (PENDING, 0, None)
    assert view.next_attempt_at == fast.lease_until  # still the new holder's
    # What the slow dispatcher saw is not lost: its attempt is on record.
    assert await _attempts(store, delivery_id) == [(500, "HTTP 500")]

    assert await _moved_on(store, fast, at=late, state=DELIVERED) is True
    view = await delivery_view(store, hook, delivery_id)
    assert (view.state, view.attempts, view.delivered_at) == (DELIVERED, 1, late)
    assert [status for status, _ in await _attempts(store, delivery_id)] == [500, 200]


async def test_a_failed_attempt_schedules_the_retry(store: Store) -> None:
    tenant = await Tenant.create(store)
    hook = await tenant.webhook()
    delivery_id = await tenant.delivery(hook, await tenant.package("RETRY"), 1)
    [claimed] = await claim_deliveries(store)

    retry_at = NOW + timedelta(minutes=5)
    assert await _moved_on(store, claimed, status=None, error="timeout", next_attempt_at=retry_at)

    view = await delivery_view(store, hook, delivery_id)
    assert (view.state, view.attempts, view.last_error) == (PENDING, 1, "timeout")
    assert view.next_attempt_at == retry_at
    assert await claim_deliveries(store, now=retry_at - timedelta(seconds=1)) == []
    [again] = await claim_deliveries(store, now=retry_at)
    assert (again.id, again.attempts) == (delivery_id, 1)


async def test_an_attempt_recorded_again_after_its_commit_went_through_is_kept_once(
    store: Store,
) -> None:
    tenant = await Tenant.create(store)
    hook = await tenant.webhook()
    delivery_id = await tenant.delivery(hook, await tenant.package("TWICE"), 1)
    [claimed] = await claim_deliveries(store)

    assert await _moved_on(store, claimed, state=DELIVERED) is True
    await record_attempt(store, claimed, state=DELIVERED, again=True)

    view = await delivery_view(store, hook, delivery_id)
    assert (view.state, view.attempts) == (DELIVERED, 1)
    assert len(await _attempts(store, delivery_id)) == 1


async def test_an_attempt_recorded_again_after_its_commit_failed_is_recorded(
    store: Store,
) -> None:
    tenant = await Tenant.create(store)
    hook = await tenant.webhook()
    delivery_id = await tenant.delivery(hook, await tenant.package("RETRIED"), 1)
    [claimed] = await claim_deliveries(store)

    await record_attempt(store, claimed, state=DELIVERED, again=True)

    view = await delivery_view(store, hook, delivery_id)
    assert (view.state, view.attempts, view.delivered_at) == (DELIVERED, 1, NOW)
    assert len(await _attempts(store, delivery_id)) == 1


async def test_released_deliveries_are_due_at_once_with_no_attempt_counted(store: Store) -> None:
    tenant = await Tenant.create(store)
    hook = await tenant.webhook()
    first = await tenant.delivery(hook, await tenant.package("RELEASED"), 1)
    taken = await tenant.delivery(hook, await tenant.package("TAKENOVER"), 1, due=NOW - LEASE)
    [stale_taken] = await claim_deliveries(store, now=NOW - LEASE)
    assert stale_taken.id == taken
    claimed = await claim_deliveries(store)  # ours; and another dispatcher takes `taken` over
    assert ids(claimed) == {first, taken}
    [mine] = [d for d in claimed if d.id == first]
    later = NOW + timedelta(seconds=3)

    async with store.write() as tx:
        await tx.outbox.release([mine, stale_taken], now=later)

    view = await delivery_view(store, hook, first)
    assert (view.state, view.attempts, view.next_attempt_at) == (PENDING, 0, later)
    assert await _attempts(store, first) == []
    assert (await delivery_view(store, hook, taken)).next_attempt_at == NOW + LEASE
    [again] = await claim_deliveries(store, now=later)
    assert (again.id, again.message_id) == (first, mine.message_id)


async def test_a_delivery_claim_whose_answer_was_lost_is_released_by_its_lease(
    store: Store,
) -> None:
    tenant = await Tenant.create(store)
    hook = await tenant.webhook()
    lost = {await tenant.delivery(hook, await tenant.package(f"LOST{i}"), 1) for i in range(3)}
    assert ids(await claim_deliveries(store)) == lost
    other = await tenant.delivery(hook, await tenant.package("OTHER"), 1)
    [kept] = await claim_deliveries(store, now=NOW + timedelta(seconds=1))
    later = NOW + timedelta(seconds=5)

    async with store.write() as tx:
        released = await tx.outbox.release_claim(lease_until=NOW + LEASE, now=later)

    assert released == 3
    for delivery_id in lost:
        view = await delivery_view(store, hook, delivery_id)
        assert (view.next_attempt_at, view.attempts) == (later, 0)
    assert (await delivery_view(store, hook, other)).next_attempt_at == kept.lease_until
    assert ids(await claim_deliveries(store, now=later)) == lost


# Concurrency


async def test_concurrent_claimers_never_share_a_delivery(store: Store) -> None:
    tenant = await Tenant.create(store)
    hook, other_hook = await tenant.webhook(), await tenant.webhook("https://b.invalid/")
    heads = set()
    for i in range(20):
        package = await tenant.package(f"C{i}")
        for webhook_id in (hook, other_hook):
            head = await tenant.delivery(webhook_id, package, 1, due=NOW - timedelta(seconds=i))
            await tenant.delivery(webhook_id, package, 2, due=NOW - timedelta(hours=1))
            heads.add(head)
    claimers, limit = 4, 7

    async def claimer() -> set[int]:
        async with store.write() as tx:
            claimed = await tx.outbox.claim(now=NOW, lease_until=NOW + LEASE, limit=limit)
            # Hold the claim open while the other claimers run: on PostgreSQL they skip the
            # locked rows (and must not take a queue's next change meanwhile).
            await asyncio.sleep(hold_open(store))
            return ids(claimed)

    seen: list[int] = []
    while rounds := [r for r in await asyncio.gather(*(claimer() for _ in range(claimers))) if r]:
        for taken in rounds:
            seen.extend(taken)

    assert len(seen) == len(set(seen)), "a delivery was claimed by two dispatchers"
    assert set(seen) == heads
