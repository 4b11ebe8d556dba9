"""The console's reads on every store: the package list (filters, keyset order, one account's
packages only), one package by id, its status changes and its deliveries."""

from __future__ import annotations

from datetime import datetime, timedelta

from shiptrack.domain.package_list import PackageFilter, PageRequest
from shiptrack.domain.tracking import StartRequest, Subscription
from shiptrack.store.port import Store
from tests.store.seeds import NOW, Tenant, checked, claim_packages, new_connection


async def _page(
    store: Store,
    tenant: Tenant,
    query: PackageFilter | None = None,
    request: PageRequest | None = None,
    limit: int = 100,
) -> list[str]:
    async with store.read() as tx:
        found = await tx.packages.console_page(
            account_id=tenant.account_id,
            query=query or PackageFilter(),
            request=request or PageRequest(),
            limit=limit,
        )
    return [package.tracking_number for package in found]


async def _check(
    store: Store, package: Subscription, status: str, next_check_at: datetime | None = None
) -> None:
    async with store.write() as tx:
        await tx.packages.record_checks([checked(package, status, next_check_at=next_check_at)], {})


async def test_the_list_is_newest_first_in_keyset_pages_both_ways(store: Store) -> None:
    tenant = await Tenant.create(store)
    ids = [await tenant.package(f"1ZPAGE{n}") for n in range(5)]

    assert await _page(store, tenant) == [f"1ZPAGE{n}" for n in (4, 3, 2, 1, 0)]
    assert await _page(store, tenant, limit=2) == ["1ZPAGE4", "1ZPAGE3"]
    older = PageRequest(before_id=ids[3])
    assert await _page(store, tenant, request=older, limit=2) == ["1ZPAGE2", "1ZPAGE1"]
    # Going back: the rows just newer than the cursor, still newest first.
    newer = PageRequest(after_id=ids[1])
    assert await _page(store, tenant, request=newer, limit=2) == ["1ZPAGE3", "1ZPAGE2"]
    assert await _page(store, tenant, request=PageRequest(after_id=ids[4])) == []


async def test_the_list_shows_only_the_accounts_packages(store: Store) -> None:
    tenant = await Tenant.create(store)
    other = await Tenant.create(store, "other")
    await tenant.package("1ZMINE")
    other_id = await other.package("1ZTHEIRS")

    assert await _page(store, tenant) == ["1ZMINE"]
    assert await _page(store, tenant, PackageFilter(number_prefix="1Z")) == ["1ZMINE"]
    assert await _page(store, other) == ["1ZTHEIRS"]
    async with store.read() as tx:
        assert (
            await tx.packages.get_with_events(
                account_id=tenant.account_id, subscription_id=other_id
            )
            is None
        )
        found = await tx.packages.get_with_events(
            account_id=other.account_id, subscription_id=other_id
        )
    assert found is not None
    assert found[0].tracking_number == "1ZTHEIRS"
    assert found[1] == []


async def test_filters_by_status_carrier_and_active(store: Store) -> None:
    tenant = await Tenant.create(store)
    fedex = await new_connection(store, tenant.account_id, "fedex")
    await tenant.package("1ZUNKNOWN")
    await tenant.package("1ZTRANSIT")
    await _check(store, await tenant.find("1ZTRANSIT"), "IT")
    stopped_id = await tenant.package("1ZSTOPPED")
    await tenant.stop(stopped_id)
    async with store.write() as tx:
        fedex_package = StartRequest(
            account_id=tenant.account_id,
            connection_id=fedex,
            carrier_code="fedex",
            tracking_number="799900000001",
        )
        await tx.packages.start([fedex_package], now=NOW)

    assert await _page(store, tenant, PackageFilter(status_code="IT")) == ["1ZTRANSIT"]
    assert await _page(store, tenant, PackageFilter(status_code="UN")) == [
        "799900000001",
        "1ZSTOPPED",
        "1ZUNKNOWN",
    ]
    assert await _page(store, tenant, PackageFilter(carrier_code="fedex")) == ["799900000001"]
    assert await _page(store, tenant, PackageFilter(active=False)) == ["1ZSTOPPED"]
    assert await _page(store, tenant, PackageFilter(active=True, carrier_code="ups")) == [
        "1ZTRANSIT",
        "1ZUNKNOWN",
    ]
    assert await _page(store, tenant, PackageFilter(status_code="UN", active=True)) == [
        "799900000001",
        "1ZUNKNOWN",
    ]


async def test_stale_means_active_and_due_before_the_cutoff(store: Store) -> None:
    tenant = await Tenant.create(store)
    await tenant.package("1ZOVERDUE", now=NOW - timedelta(hours=1))
    await tenant.package("1ZDUENOW", now=NOW)
    stopped = await tenant.package("1ZSTOPPEDOLD", now=NOW - timedelta(hours=2))
    await tenant.stop(stopped)
    await tenant.package("1ZLATER")
    await _check(store, await tenant.find("1ZLATER"), "IT", next_check_at=NOW + timedelta(hours=1))

    cutoff = NOW - timedelta(minutes=5)
    assert await _page(store, tenant, PackageFilter(stale_before=cutoff)) == ["1ZOVERDUE"]
    later = NOW + timedelta(hours=2)
    assert await _page(store, tenant, PackageFilter(stale_before=later)) == [
        "1ZLATER",
        "1ZDUENOW",
        "1ZOVERDUE",
    ]


async def test_search_by_tracking_number_prefix(store: Store) -> None:
    tenant = await Tenant.create(store)
    for number in ("1ZAB100", "1ZAB200", "1ZAC100", "1ZA-B300", "1ZAZ900", "1ZB", "9ZAB100"):
        await tenant.package(number)

    assert await _page(store, tenant, PackageFilter(number_prefix="1ZAB")) == [
        "1ZAB200",
        "1ZAB100",
    ]
    assert await _page(store, tenant, PackageFilter(number_prefix="1ZA-")) == ["1ZA-B300"]
    assert await _page(store, tenant, PackageFilter(number_prefix="1ZAZ")) == ["1ZAZ900"]
    assert await _page(store, tenant, PackageFilter(number_prefix="1ZAB200")) == ["1ZAB200"]
    assert await _page(store, tenant, PackageFilter(number_prefix="1ZAB2001")) == []
    assert await _page(store, tenant, PackageFilter(number_prefix="ZZ")) == []
    prefixed = PackageFilter(number_prefix="1Z", status_code="UN")
    assert await _page(store, tenant, prefixed, limit=2) == ["1ZB", "1ZAZ900"]


async def test_a_packages_status_changes_and_deliveries_newest_first(store: Store) -> None:
    tenant = await Tenant.create(store)
    other = await tenant.package("1ZQUIET")
    package_id = await tenant.package("1ZBUSY")
    first_hook = await tenant.webhook("https://hooks.invalid/one")
    second_hook = await tenant.webhook("https://hooks.invalid/two")
    await claim_packages(store)  # nothing else is due while deliveries are settled below
    delivered = await tenant.settled_delivery(first_hook, package_id, 1)
    pending = await tenant.delivery(second_hook, package_id, 1)
    later = await tenant.delivery(first_hook, package_id, 2)

    async with store.read() as tx:
        changes = await tx.outbox.changes_of(package_id, limit=10)
        deliveries = await tx.outbox.deliveries_of_package(package_id, limit=10)
        attempts = await tx.outbox.attempts_of([d.id for d in deliveries])
        assert await tx.outbox.changes_of(other, limit=10) == []
        assert await tx.outbox.deliveries_of_package(other, limit=10) == []
        assert [c.sequence for c in await tx.outbox.changes_of(package_id, limit=1)] == [2]

    assert [(c.sequence, c.status_code, c.previous_status) for c in changes] == [
        (2, "IT", "UN"),
        (1, "IT", "UN"),
    ]
    assert [(d.id, d.webhook_id, d.sequence) for d in deliveries] == [
        (later, first_hook, 2),
        (pending, second_hook, 1),
        (delivered, first_hook, 1),
    ]
    assert deliveries[0].tracking_number == "1ZBUSY"
    assert deliveries[2].state == "delivered"
    assert [a.response_status for a in attempts[delivered]] == [200]
    assert attempts[pending] == []


async def test_searches_and_stale_pages_stay_right_past_many_matches(store: Store) -> None:
    tenant = await Tenant.create(store)
    numbers = [f"1ZMANY{n:04d}" for n in range(520)]
    async with store.write() as tx:
        for number in numbers:  # one by one: ids in this order
            await tx.packages.start([tenant.request(number)], now=NOW - timedelta(hours=1))
    newest = (await tenant.find(numbers[-1])).id
    cutoff = NOW - timedelta(minutes=5)

    for query in (PackageFilter(number_prefix="1ZMANY"), PackageFilter(stale_before=cutoff)):
        assert await _page(store, tenant, query, limit=3) == numbers[::-1][:3]
        older = PageRequest(before_id=newest - 500)
        assert await _page(store, tenant, query, older, limit=3) == numbers[::-1][501:504]
        newer = PageRequest(after_id=newest - 3)
        assert await _page(store, tenant, query, newer, limit=2) == numbers[::-1][1:3]
    assert await _page(store, tenant, PackageFilter(number_prefix="1ZMANY05")) == numbers[::-1][:20]
