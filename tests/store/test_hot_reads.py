"""The store's hot reads (``find_package`` for ``GET /v1/tracking``, ``find_by_public_token``
for the public page), on every store: they answer what a transaction's reads answer, see each
commit as soon as it lands (on SQLite they run on reader threads with connections of their own),
and find nothing for another account's package or an unknown token."""

from __future__ import annotations

import asyncio

from shiptrack.store.port import Store, WrittenPackages
from tests.store.seeds import LEASE, NOW, Tenant, checked, claim_packages
from tests.store.test_packages import SCANS


async def test_the_hot_reads_answer_as_a_transaction_does(store: Store) -> None:
    tenant, other = await Tenant.create(store), await Tenant.create(store, "other")
    package_id = await tenant.package("1ZHOT")
    [claimed] = [c for c in await claim_packages(store) if c.subscription.id == package_id]
    async with store.write() as tx:
        await tx.packages.record_checks([checked(claimed, "IT")], {package_id: SCANS})
    token = (await tenant.find("1ZHOT")).public_token
    assert token is not None

    async with store.read() as tx:
        subscription = await tx.packages.find(
            account_id=tenant.account_id, carrier_code="ups", tracking_number="1ZHOT"
        )
        histories = await tx.packages.histories([package_id])
    found = await store.find_package(
        account_id=tenant.account_id, carrier_code="ups", tracking_number="1ZHOT"
    )

    assert found is not None
    stored = [event for _, event in histories[package_id]]
    assert (found.subscription, found.events()) == (subscription, stored)
    assert found.subscription.status_code == "IT"
    assert found.events() == [event for _, event in SCANS]
    assert await store.find_by_public_token(token) == found
    # Another account's number, another carrier, an unknown token: nothing.
    assert (
        await store.find_package(
            account_id=other.account_id, carrier_code="ups", tracking_number="1ZHOT"
        )
        is None
    )
    assert (
        await store.find_package(
            account_id=tenant.account_id, carrier_code="fedex", tracking_number="1ZHOT"
        )
        is None
    )
    assert await store.find_by_public_token("A" * 22) is None


async def test_the_hot_read_sees_each_commit_as_it_lands(store: Store) -> None:
    tenant = await Tenant.create(store)

    async def status() -> str | None:
        found = await store.find_package(
            account_id=tenant.account_id, carrier_code="ups", tracking_number="1ZSEEN"
        )
        return None if found is None else found.subscription.status_code

    # Many reads at once (every reader thread busy), before and after each commit.
    assert set(await asyncio.gather(*(status() for _ in range(12)))) == {None}
    package_id = await tenant.package("1ZSEEN")
    assert set(await asyncio.gather(*(status() for _ in range(12)))) == {"UN"}
    [claimed] = [c for c in await claim_packages(store) if c.subscription.id == package_id]
    async with store.write() as tx:
        await tx.packages.record_checks([checked(claimed, "DE")], {package_id: SCANS})
    assert set(await asyncio.gather(*(status() for _ in range(12)))) == {"DE"}


async def test_the_store_tells_which_packages_each_of_its_writes_changed(store: Store) -> None:
    """What a cache of the hot reads relies on to forget at once (``services.answers``)."""
    tenant = await Tenant.create(store)
    told: list[WrittenPackages] = []
    store.watch_package_writes(told.append)

    first = await tenant.package("1ZTOLD1")
    second = await tenant.package("1ZTOLD2")
    # A start names its packages by key: the statement does not know their rows.
    key = (tenant.account_id, "ups", "1ZTOLD1")
    assert [written.keys for written in told] == [{key}, {(*key[:2], "1ZTOLD2")}]

    told.clear()
    claimed = {c.subscription.id: c for c in await claim_packages(store)}
    assert [written.ids for written in told] == [{first, second}]

    told.clear()
    async with store.write() as tx:
        await tx.packages.record_checks([checked(claimed[first], "IT")], {first: SCANS})
    async with store.write() as tx:
        await tx.packages.reschedule(
            [claimed[second]], next_check_at=NOW + LEASE, error="UPS timed out", now=NOW
        )
    async with store.write() as tx:
        await tx.packages.stop(first, reason="stopped_by_user", now=NOW)
    assert [written.ids for written in told] == [{first}, {second}, {first}]

    told.clear()
    # A write that changes no package tells nothing.
    async with store.write() as tx:
        await tx.accounts.create(name="quiet", sandbox=True, now=NOW)
    assert told == []
