"""Transactions, on every store: a write commits whole or not at all, nobody sees it before it
commits, and a read sees one state however many statements it takes."""

from __future__ import annotations

import asyncio

import pytest

from shiptrack.domain.errors import WebhookConflict
from shiptrack.store.port import Store
from tests.store.seeds import NOW, Tenant, new_account, new_webhook_values


class Boom(Exception):
    """An error in the middle of a write block."""


async def test_a_write_is_seen_by_later_transactions(store: Store) -> None:
    account_id = await new_account(store, "seen")

    async with store.read() as tx:
        assert [a.id for a in await tx.accounts.all()] == [account_id]
    async with store.quick_read() as tx:
        found = await tx.accounts.get(account_id)
    assert found is not None and found.name == "seen"


async def test_a_write_block_that_raises_leaves_nothing_behind(store: Store) -> None:
    tenant = await Tenant.create(store)
    package_id = await tenant.package("1ZKEPT")

    with pytest.raises(Boom):
        async with store.write() as tx:
            await tx.accounts.create(name="never", sandbox=False, now=NOW)
            await tx.packages.start([tenant.request("1ZNEVER")], now=NOW)
            await tx.packages.stop(package_id, reason="stopped_by_user", now=NOW)
            await tx.accounts.set_rate_limit(tenant.account_id, 5)
            raise Boom

    async with store.read() as tx:
        assert [a.name for a in await tx.accounts.all()] == ["acme"]
        account = await tx.accounts.get(tenant.account_id)
        assert account is not None and account.rate_limit_per_minute is None
        assert (
            await tx.packages.find(
                account_id=tenant.account_id, carrier_code="ups", tracking_number="1ZNEVER"
            )
            is None
        )
    assert (await tenant.find("1ZKEPT")).active is True


async def test_nobody_sees_a_write_before_it_commits(store: Store) -> None:
    written, go_on = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        async with store.write() as tx:
            await tx.accounts.create(name="pending", sandbox=True, now=NOW)
            written.set()
            await asyncio.wait_for(go_on.wait(), timeout=30)

    task = asyncio.create_task(writer())
    await asyncio.wait_for(written.wait(), timeout=30)
    try:
        async with store.read() as tx:
            assert await tx.accounts.all() == []
    finally:
        go_on.set()
        await task
    async with store.read() as tx:
        assert [a.name for a in await tx.accounts.all()] == ["pending"]


async def test_a_read_sees_one_state_while_writes_commit(store: Store) -> None:
    await new_account(store, "before")

    async with store.read() as tx:
        before = [a.name for a in await tx.accounts.all()]
        await new_account(store, "during")
        # The same read, a second statement: the account committed meanwhile is not in it.
        again = [a.name for a in await tx.accounts.all()]
        assert await tx.accounts.find_by_name("during") == []

    assert before == again == ["before"]
    async with store.read() as tx:
        assert [a.name for a in await tx.accounts.all()] == ["before", "during"]


async def test_a_refused_write_does_not_spoil_its_transaction(store: Store) -> None:
    account_id = await new_account(store)

    async with store.write() as tx:
        first = await tx.webhooks.create(
            new_webhook_values(account_id, "https://a.invalid/"), now=NOW
        )
        with pytest.raises(WebhookConflict):
            await tx.webhooks.create(new_webhook_values(account_id, "https://a.invalid/"), now=NOW)
        second = await tx.webhooks.create(
            new_webhook_values(account_id, "https://b.invalid/"), now=NOW
        )

    async with store.read() as tx:
        assert [w.id for w in await tx.webhooks.of_account(account_id)] == [first.id, second.id]


async def test_ids_grow_in_the_order_rows_are_made(store: Store) -> None:
    made = [await new_account(store, f"a{i}") for i in range(3)]

    assert made == sorted(made)
    assert len(set(made)) == 3


async def test_a_ready_store_reports_no_schema_problem(store: Store) -> None:
    assert await store.schema_problem() is None
