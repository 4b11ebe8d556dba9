"""What the console shows of a webhook's and a carrier connection's health, on every store: the
last successful delivery attempt and the failed attempts after it; each connection's newest
package check that ended without an error."""

from __future__ import annotations

from datetime import timedelta

from shiptrack.domain.delivery import FAILED
from shiptrack.store.port import Store
from tests.store.seeds import (
    NOW,
    Tenant,
    checked,
    claim_deliveries,
    claim_packages,
    new_connection,
    record_attempt,
)


async def test_a_webhook_without_attempts_has_no_success_and_no_failures(store: Store) -> None:
    tenant = await Tenant.create(store)
    hook = await tenant.webhook()
    await tenant.delivery(hook, await tenant.package("QUEUED"), 1)
    async with store.read() as tx:
        health = await tx.outbox.health(hook, cap=100)
    assert (health.last_success_at, health.consecutive_failures) == (None, 0)


async def test_failures_are_counted_after_the_last_success_up_to_the_cap(store: Store) -> None:
    tenant = await Tenant.create(store)
    hook = await tenant.webhook()
    other = await tenant.webhook("https://hooks.invalid/other")
    early = NOW - timedelta(hours=2)
    await tenant.settled_delivery(hook, await tenant.package("OLDFAIL"), 1, state=FAILED, at=early)
    delivered_at = NOW - timedelta(hours=1)
    await tenant.settled_delivery(hook, await tenant.package("OK"), 1, at=delivered_at)
    await tenant.delivery(hook, await tenant.package("FAILING"), 1)
    await tenant.delivery(other, await tenant.package("ELSEWHERE"), 1)
    for minutes in (1, 2, 3):
        claimed = await claim_deliveries(store, now=NOW + timedelta(minutes=minutes))
        for delivery in claimed:
            await record_attempt(
                store,
                delivery,
                at=NOW + timedelta(minutes=minutes),
                status=503,
                error="HTTP 503",
                next_attempt_at=NOW + timedelta(minutes=minutes + 1),
            )
    async with store.read() as tx:
        health = await tx.outbox.health(hook, cap=100)
        capped = await tx.outbox.health(hook, cap=2)
        elsewhere = await tx.outbox.health(other, cap=100)
    assert health.last_success_at == delivered_at
    assert health.consecutive_failures == 3
    assert capped.consecutive_failures == 2
    assert (elsewhere.last_success_at, elsewhere.consecutive_failures) == (None, 3)


async def test_a_connection_was_last_checked_by_its_newest_check_without_an_error(
    store: Store,
) -> None:
    tenant = await Tenant.create(store)
    idle = await new_connection(store, tenant.account_id, "fedex")
    await tenant.package("FIRST", now=NOW)
    await tenant.package("SECOND", now=NOW)
    claimed = sorted(
        await claim_packages(store, now=NOW), key=lambda c: c.subscription.tracking_number
    )
    first, second = claimed
    later = NOW + timedelta(minutes=7)
    async with store.write() as tx:
        await tx.packages.record_checks(
            [checked(first, "IT", at=NOW + timedelta(minutes=1)), checked(second, "IT", at=later)],
            {},
        )
    async with store.read() as tx:
        found = await tx.connections.last_checked([tenant.connection_id, idle])
    assert found == {tenant.connection_id: later, idle: None}
