"""What only the SQL store has: quick reads that hold no snapshot (the in-memory store may give
one), claims that skip each other's locked rows on PostgreSQL (two real
connections at once; the in-memory store and SQLite run one writer at a time, so a claim there
waits by design), and claims that read the partial indexes ``ix_subscriptions_due`` and
``ix_deliveries_due`` instead of the tables."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection

from shiptrack.domain.check import StatusChangeRecord
from shiptrack.domain.delivery import DELIVERED, OutboxEntry
from shiptrack.domain.errors import ServiceUnavailable
from shiptrack.store.database import Database, create_database
from shiptrack.store.port import Transaction
from shiptrack.store.sql import SqlStore
from tests.store.seeds import (
    DELIVERY_LEASE,
    LEASE,
    NOW,
    Tenant,
    attempt,
    claim_deliveries,
    claim_packages,
    ids,
    new_account,
)


def _postgresql_only(
    store: SqlStore,
    why: str = "SQLite has one writer at a time: claims are serialised by its write lock",
) -> None:
    if store.database.is_sqlite:
        pytest.skip(why)


async def _while_held(
    store: SqlStore,
    hold: Callable[[Transaction], Awaitable[set[int]]],
    other: Callable[[], Awaitable[Any]],
) -> tuple[set[int], set[int]]:
    """What ``hold`` claims in a transaction kept open (its row locks held) until ``other``,
    started meanwhile on another connection, is back; and what ``other`` claimed."""
    first_claimed, second_done = asyncio.Event(), asyncio.Event()

    async def first() -> set[int]:
        async with store.write() as tx:
            claimed = await hold(tx)
            first_claimed.set()
            await asyncio.wait_for(second_done.wait(), timeout=30)
            return claimed

    async def second() -> set[int]:
        await first_claimed.wait()
        try:
            return ids(await other())
        finally:
            second_done.set()

    return await asyncio.wait_for(asyncio.gather(first(), second()), timeout=60)


async def test_a_claim_does_not_wait_for_another_workers_open_claim(sql_store: SqlStore) -> None:
    _postgresql_only(sql_store)
    tenant = await Tenant.create(sql_store)
    packages = {await tenant.package(f"W{i}", now=NOW - timedelta(minutes=i)) for i in range(6)}

    async def hold(tx: Transaction) -> set[int]:
        return ids(await tx.packages.claim_due(now=NOW, lease_until=NOW + LEASE, limit=3))

    taken_first, taken_second = await _while_held(
        sql_store, hold, lambda: claim_packages(sql_store, limit=6)
    )
    assert len(taken_first) == 3
    assert taken_second == packages - taken_first


async def test_a_claim_does_not_wait_for_another_dispatchers_open_claim(
    sql_store: SqlStore,
) -> None:
    _postgresql_only(sql_store)
    tenant = await Tenant.create(sql_store)
    hook = await tenant.webhook()
    all_ids = {
        await tenant.delivery(
            hook, await tenant.package(f"W{i}"), 1, due=NOW - timedelta(minutes=i)
        )
        for i in range(6)
    }

    async def hold(tx: Transaction) -> set[int]:
        return ids(await tx.outbox.claim(now=NOW, lease_until=NOW + DELIVERY_LEASE, limit=3))

    taken_first, taken_second = await _while_held(
        sql_store, hold, lambda: claim_deliveries(sql_store, limit=6)
    )
    assert len(taken_first) == 3
    assert taken_second == all_ids - taken_first


# The indexes


def _plan_nodes(plan: Any) -> Iterator[dict[str, Any]]:
    if isinstance(plan, dict):
        yield plan
        for value in plan.values():
            yield from _plan_nodes(value)
    elif isinstance(plan, list):
        for item in plan:
            yield from _plan_nodes(item)


class _Statements:
    """Captures the statements sent to a database while it is open."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.seen: list[tuple[str, Any]] = []

    def _capture(
        self, _conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, _many: bool
    ) -> None:
        self.seen.append((statement, parameters))

    def __enter__(self) -> _Statements:
        for engine in self.database.engines:
            event.listen(engine.sync_engine, "before_cursor_execute", self._capture)
        return self

    def __exit__(self, *_: object) -> None:
        for engine in self.database.engines:
            event.remove(engine.sync_engine, "before_cursor_execute", self._capture)

    def starting(self, prefix: str, table: str) -> list[tuple[str, Any]]:
        """The captured statements of this kind on this table."""
        found = []
        for statement, parameters in self.seen:
            text = " ".join(statement.split()).upper()
            if text.startswith(prefix) and f" {table.upper()} " in f" {text} ":
                found.append((statement, parameters))
        return found


async def _sqlite_plan(conn: AsyncConnection, statement: str, parameters: Any) -> str:
    result = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, tuple(parameters))
    return "\n".join(str(row[-1]) for row in result)


async def _postgresql_indexes(conn: AsyncConnection, statement: str, parameters: Any) -> set[str]:
    """The indexes PostgreSQL's plan for ``statement`` reads."""
    result = await conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, tuple(parameters))
    raw = result.scalar_one()
    plan = json.loads(raw) if isinstance(raw, str) else raw
    indexes = {node.get("Index Name") for node in _plan_nodes(plan)} - {None}
    assert indexes, json.dumps(plan, indent=1)
    return {str(name) for name in indexes}


async def test_the_package_claim_reads_the_due_index(sql_store: SqlStore) -> None:
    tenant = await Tenant.create(sql_store)
    async with sql_store.write() as tx:
        for i in range(200):
            await tx.packages.start([tenant.request(f"I{i}")], now=NOW + timedelta(minutes=i - 10))
        for package in await tx.packages.page(account_id=tenant.account_id, after_id=0, limit=200):
            if package.id % 3 == 0:
                await tx.packages.stop(package.id, reason="stopped_by_user", now=NOW)
    database = sql_store.database

    with _Statements(database) as captured:
        assert len(await claim_packages(sql_store, limit=5)) == 5
    [(statement, parameters)] = captured.starting("UPDATE", "subscriptions")

    async with database.write() as conn:
        if database.is_sqlite:
            # SQLite reads the due rows first (their due times), then leases them by id.
            [(select, selected)] = captured.starting("SELECT", "subscriptions")
            plan = await _sqlite_plan(conn, select, selected)
            assert "USING INDEX ix_subscriptions_due" in plan, plan
            plan = await _sqlite_plan(conn, statement, parameters)
            assert "USING INTEGER PRIMARY KEY" in plan, plan
        else:
            await conn.exec_driver_sql("ANALYZE subscriptions")
            await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            indexes = await _postgresql_indexes(conn, statement, parameters)
            assert "ix_subscriptions_due" in indexes


async def test_the_delivery_claim_reads_the_due_index_and_leases_by_primary_key(
    sql_store: SqlStore,
) -> None:
    tenant = await Tenant.create(sql_store)
    hook = await tenant.webhook()
    async with sql_store.write() as tx:
        await tx.packages.start([tenant.request(f"I{i}") for i in range(60)], now=NOW)
        packages = await tx.packages.page(account_id=tenant.account_id, after_id=0, limit=60)
        changes = await tx.outbox.add_changes(
            [
                StatusChangeRecord(p.id, sequence, None, "IT", None, None, NOW, False)
                for p in packages
                for sequence in (1, 2)
            ]
        )

    def entries(sequence: int, due: Any) -> list[OutboxEntry]:
        return [
            OutboxEntry(
                webhook_id=hook,
                status_change_id=changes[2 * index + sequence - 1],
                subscription_id=package.id,
                sequence=sequence,
                message_id=f"msg_{package.id}_{sequence}",
                payload=b"{}",
                created_at=due(index),
            )
            for index, package in enumerate(packages)
        ]

    # Change 1 of every package delivered, change 2 pending and due over an hour.
    async with sql_store.write() as tx:
        await tx.outbox.add_deliveries(entries(1, lambda _: NOW - timedelta(days=1)))
    sent = await claim_deliveries(sql_store, now=NOW - timedelta(days=1))
    async with sql_store.write() as tx:
        await tx.outbox.record_attempts(
            [attempt(d, at=NOW - timedelta(days=1), state=DELIVERED) for d in sent]
        )
        await tx.outbox.add_deliveries(entries(2, lambda i: NOW + timedelta(minutes=i - 10)))
    database = sql_store.database

    # The claim is one statement, as the dispatcher makes it (each webhook's free slots given):
    # an UPDATE that leases, by id, the due heads its subquery finds (and on PostgreSQL locks,
    # SKIP LOCKED) and picks within those slots.
    with _Statements(database) as captured:
        assert len(await claim_deliveries(sql_store, limit=5, default_per_webhook=8)) == 5
    assert not captured.starting("SELECT", "deliveries")
    [update] = captured.starting("UPDATE", "deliveries")

    async with database.write() as conn:
        if database.is_sqlite:
            plan = await _sqlite_plan(conn, *update)
            assert "USING INDEX ix_deliveries_due" in plan, plan
            assert "USING INTEGER PRIMARY KEY" in plan, plan
        else:
            await conn.exec_driver_sql("ANALYZE deliveries")
            await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            indexes = await _postgresql_indexes(conn, *update)
            assert {"ix_deliveries_due", "pk_deliveries"} <= indexes, indexes


async def test_a_quick_read_sees_each_commit_as_it_lands(sql_store: SqlStore) -> None:
    await new_account(sql_store, "before")

    async with sql_store.quick_read() as tx:
        first = [a.name for a in await tx.accounts.all()]
        await new_account(sql_store, "during")
        # A quick read holds no snapshot: its next statement sees what committed meanwhile.
        second = [a.name for a in await tx.accounts.all()]

    assert (first, second) == (["before"], ["before", "during"])
    # Its connection goes back to the pool as it came: a read on it still holds one snapshot.
    for _ in range(3):
        async with sql_store.read() as tx:
            before = [a.name for a in await tx.accounts.all()]
            await new_account(sql_store, f"later-{len(before)}")
            assert [a.name for a in await tx.accounts.all()] == before


async def test_postgresql_callers_wait_their_turn_for_a_connection_then_get_503(
    postgresql_url: str,
) -> None:
    # pool_size 1: two connections (twice the setting), so two callers at a time.
    database = create_database(postgresql_url, pool_size=1, connection_wait=0.3)
    try:
        first, second = database.quick_read(), database.quick_read()
        await first.__aenter__()
        await second.__aenter__()
        with pytest.raises(ServiceUnavailable, match="Every database connection is busy"):
            async with database.quick_read():
                pass
        # Once one caller is done, the next one gets its connection.
        await first.__aexit__(None, None, None)
        async with database.quick_read() as conn:
            assert (await conn.execute(sa.text("SELECT 1"))).scalar() == 1
        await second.__aexit__(None, None, None)
    finally:
        await database.dispose()


async def _kill_every_connection_of(store: SqlStore) -> None:
    """End every server connection to the store's database, as a restart does."""
    url = store.database.engine.url.set(drivername="postgresql")
    killer = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        await killer.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await killer.close()


async def test_a_quick_read_whose_connection_is_lost_under_it_is_read_again(
    sql_store: SqlStore,
) -> None:
    """A restart or failover after the checkout ping must not reach the client: the read runs
    once more on a fresh connection. A second loss is the usual 503."""
    _postgresql_only(sql_store, "SQLite has no server whose restart could end a connection")
    account_id = await new_account(sql_store)
    tries: list[int] = []

    async def read(tx: Transaction, *, losses: int) -> object:
        tries.append(1)
        if len(tries) <= losses:
            await _kill_every_connection_of(sql_store)  # this one's too, after its ping
        found = await tx.accounts.get(account_id)
        return None if found is None else found.id

    assert await sql_store.read_quickly(lambda tx: read(tx, losses=1)) == account_id
    assert len(tries) == 2

    tries.clear()
    with pytest.raises(ServiceUnavailable):
        await sql_store.read_quickly(lambda tx: read(tx, losses=2))
    assert len(tries) == 2
