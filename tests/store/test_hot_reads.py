"""The store's hot reads (``find_package`` for ``GET /v1/tracking``, ``find_by_public_token``
for the public page), on every store: they answer what a transaction's reads answer, see each
commit as soon as it lands (on SQLite they run on reader threads with connections of their own),
and find nothing for another account's package or an unknown token."""

from __future__ import annotations

import asyncio

from shiptrack.store.port import Store
from tests.store.seeds import Tenant, checked, claim_packages
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
        expected = await tx.packages.find_with_events(
            account_id=tenant.account_id, carrier_code="ups", tracking_number="1ZHOT"
        )
    found = await store.find_package(
        account_id=tenant.account_id, carrier_code="ups", tracking_number="1ZHOT"
    )

    assert expected is not None and found == expected
    assert found[0].status_code == "IT"
    assert found[1] == [event for _, event in SCANS]
    assert await store.find_by_public_token(token) == expected
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
        return None if found is None else found[0].status_code

    # Many reads at once (every reader thread busy), before and after each commit.
    assert set(await asyncio.gather(*(status() for _ in range(12)))) == {None}
    package_id = await tenant.package("1ZSEEN")
    assert set(await asyncio.gather(*(status() for _ in range(12)))) == {"UN"}
    [claimed] = [c for c in await claim_packages(store) if c.subscription.id == package_id]
    async with store.write() as tx:
        await tx.packages.record_checks([checked(claimed, "DE")], {package_id: SCANS})
    assert set(await asyncio.gather(*(status() for _ in range(12)))) == {"DE"}
