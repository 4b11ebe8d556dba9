"""What the metrics' database gauges read, on every store: tracked packages by status, the
deliveries still to be sent, and the disabled webhooks."""

from __future__ import annotations

from datetime import timedelta

from shiptrack.domain.delivery import FAILED
from shiptrack.store.port import PendingDeliveries, Store
from tests.store.seeds import NOW, Tenant, checked, claim_packages


async def test_tracked_packages_are_counted_by_status_and_stopped_ones_are_not(
    store: Store,
) -> None:
    tenant = await Tenant.create(store)
    other = await Tenant.create(store, "other")
    for number in ("A", "B", "C", "D"):
        await tenant.package(number, now=NOW - timedelta(minutes=1))
    await other.package("E", now=NOW - timedelta(minutes=1))
    claimed = {item.subscription.tracking_number: item for item in await claim_packages(store)}
    async with store.write() as tx:
        await tx.packages.record_checks(
            [
                checked(claimed["A"], "IT"),
                checked(claimed["B"], "IT"),
                checked(claimed["C"], "DE", stop_reason="delivered"),
            ],
            {},
        )
    await tenant.stop(claimed["D"].subscription.id)

    async with store.read() as tx:
        counted = await tx.packages.count_active()

    # C stopped when it was delivered, D by its account; E, never checked, is unknown.
    assert counted == {"IT": 2, "UN": 1}


async def test_nothing_tracked_counts_nothing(store: Store) -> None:
    async with store.read() as tx:
        assert await tx.packages.count_active() == {}
        assert await tx.outbox.pending() == PendingDeliveries(count=0, oldest_created_at=None)
        assert await tx.webhooks.count_disabled() == 0


async def test_pending_deliveries_of_live_enabled_webhooks_are_counted_with_the_oldest(
    store: Store,
) -> None:
    tenant = await Tenant.create(store)
    hook = await tenant.webhook()
    disabled = await tenant.webhook("https://disabled.invalid/")
    deleted = await tenant.webhook("https://deleted.invalid/")
    package = await tenant.package("1ZPENDING")
    await tenant.settled_delivery(hook, package, 1, at=NOW - timedelta(hours=5))
    await tenant.settled_delivery(hook, package, 2, state=FAILED, at=NOW - timedelta(hours=4))
    await tenant.delivery(hook, package, 3, due=NOW - timedelta(hours=2))
    await tenant.delivery(hook, package, 4, due=NOW - timedelta(hours=1))
    await tenant.delivery(disabled, package, 3, due=NOW - timedelta(hours=3))
    await tenant.delivery(deleted, package, 3, due=NOW - timedelta(hours=3))
    async with store.write() as tx:
        await tx.webhooks.record_health(
            disabled, failing_since=NOW - timedelta(days=5), disabled_at=NOW
        )
        await tx.webhooks.delete(deleted, now=NOW)

    async with store.read() as tx:
        pending = await tx.outbox.pending()

    # Delivered and failed ones are done; those of a disabled or deleted webhook are not sent.
    assert pending == PendingDeliveries(count=2, oldest_created_at=NOW - timedelta(hours=2))


async def test_disabled_webhooks_are_counted_until_deleted_or_enabled_again(store: Store) -> None:
    tenant = await Tenant.create(store)
    hooks = [await tenant.webhook(f"https://hook{i}.invalid/") for i in range(4)]
    async with store.write() as tx:
        for hook in hooks[:3]:
            await tx.webhooks.record_health(hook, failing_since=NOW, disabled_at=NOW)
        await tx.webhooks.delete(hooks[0], now=NOW)
        await tx.webhooks.record_health(hooks[3], failing_since=NOW)  # failing, not disabled

    async with store.read() as tx:
        assert await tx.webhooks.count_disabled() == 2
