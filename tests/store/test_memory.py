"""What only the in-memory store promises beyond the contract: it refuses what the SQL store's
constraints refuse, and it catches misuse the SQL store would let through (a write in a read, a
transaction used after its block), so unit tests built on it find those bugs too."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from shiptrack.domain.check import StatusChangeRecord
from shiptrack.domain.delivery import OutboxEntry
from shiptrack.store.memory import ConstraintViolation, MemoryStore, ReadOnlyTransaction
from tests.store.seeds import NOW, Tenant, new_account


@pytest.fixture
def memory() -> MemoryStore:
    return MemoryStore()


async def test_a_read_cannot_write(memory: MemoryStore) -> None:
    account_id = await new_account(memory)

    async with memory.read() as tx:
        with pytest.raises(ReadOnlyTransaction):
            await tx.accounts.set_rate_limit(account_id, 5)
    async with memory.quick_read() as tx:
        with pytest.raises(ReadOnlyTransaction):
            await tx.accounts.create(name="sneaky", sandbox=True, now=NOW)

    async with memory.read() as tx:
        account = await tx.accounts.get(account_id)
        assert [a.id for a in await tx.accounts.all()] == [account_id]
    assert account is not None and account.rate_limit_per_minute is None


async def test_a_transaction_cannot_write_after_its_block(memory: MemoryStore) -> None:
    async with memory.write() as tx:
        account = await tx.accounts.create(name="kept", sandbox=True, now=NOW)

    with pytest.raises(ReadOnlyTransaction):
        await tx.accounts.set_rate_limit(account.id, 5)
    async with memory.read() as reader:
        found = await reader.accounts.get(account.id)
    assert found is not None and found.rate_limit_per_minute is None


async def test_writers_take_turns(memory: MemoryStore) -> None:
    account_id = await new_account(memory)
    async with memory.write() as tx:
        await tx.accounts.set_rate_limit(account_id, 0)

    async def increment() -> None:
        async with memory.write() as tx:
            account = await tx.accounts.get(account_id)
            assert account is not None and account.rate_limit_per_minute is not None
            await asyncio.sleep(0)  # let the other writers try to run
            await tx.accounts.set_rate_limit(account_id, account.rate_limit_per_minute + 1)

    await asyncio.gather(*(increment() for _ in range(10)))

    async with memory.read() as tx:
        account = await tx.accounts.get(account_id)
    assert account is not None and account.rate_limit_per_minute == 10


async def test_a_status_change_is_kept_once(memory: MemoryStore) -> None:
    tenant = await Tenant.create(memory)
    package = await tenant.package("1ZONCE")
    change = StatusChangeRecord(package, 1, "UN", "IT", None, None, NOW, False)
    async with memory.write() as tx:
        await tx.outbox.add_changes([change])

    with pytest.raises(ConstraintViolation):
        async with memory.write() as tx:
            await tx.outbox.add_changes([change])


async def test_rows_must_refer_to_rows_that_exist(memory: MemoryStore) -> None:
    tenant = await Tenant.create(memory)
    hook = await tenant.webhook()

    with pytest.raises(ConstraintViolation):
        async with memory.write() as tx:
            await tx.packages.start([tenant.request("1ZNOWHERE", connection_id=999)], now=NOW)
    with pytest.raises(ConstraintViolation):
        async with memory.write() as tx:
            await tx.outbox.add_deliveries([OutboxEntry(hook, 999, 999, 1, "msg_x", b"{}", NOW)])
    async with memory.read() as tx:
        assert await tx.packages.page(account_id=tenant.account_id, after_id=0, limit=10) == []


async def test_naive_datetimes_are_refused_as_the_sql_store_refuses_them(
    memory: MemoryStore,
) -> None:
    with pytest.raises(ValueError, match="naive"):
        async with memory.write() as tx:
            await tx.accounts.create(name="naive", sandbox=True, now=datetime(2026, 3, 2, 12))
