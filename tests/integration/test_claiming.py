"""Claiming due packages (``shiptrack.store.polling``) against the real database.

Covers which subscriptions a worker claims (active, due, oldest due first, up to the batch size),
the lease that keeps a claimed package away from other workers until it runs out, concurrent
claimers that never share a package, a worker that lost its lease being unable to write its
result, and the claim reading the partial index ``ix_subscriptions_due`` rather than the table.
Also what keeps work from being stranded: a package stopped and restarted during its check (the
stale check holds nothing, the next one announces), packages given back (released) unchecked, a
claim whose answer was lost given back by its lease, and a carrier failure written twice.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection

from shiptrack.domain.check import ClaimedPackage, PackageState
from shiptrack.domain.tracking import StartRequest
from shiptrack.store import migrate, polling
from shiptrack.store import subscriptions as subscription_store
from shiptrack.store.accounts import create_account
from shiptrack.store.connections import create_connection
from shiptrack.store.database import Database, create_database
from shiptrack.store.tables import subscriptions
from tests.conftest import DatabaseServer

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


@pytest.fixture
def database_url(test_database: DatabaseServer, tmp_path: Path) -> Iterator[str]:
    """An empty database of the session's kind (created outside the test's event loop)."""
    yield test_database.fresh(tmp_path)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """The database, migrated to the newest schema."""
    database = create_database(database_url)
    await migrate.upgrade(database)
    try:
        yield database
    finally:
        await database.dispose()


async def _connection_id(database: Database) -> int:
    async with database.write() as conn:
        account = await create_account(conn, name="claims", sandbox=True, now=NOW)
        return await create_connection(
            conn,
            account_id=account.id,
            carrier_code="ups",
            nickname="ups",
            account_number=None,
            base_url=None,
            sealed_credentials=None,
            simulated=True,
            now=NOW,
        )


async def _add(
    database: Database,
    connection_id: int,
    number: str,
    *,
    next_check_at: datetime | None,
    active: bool = True,
) -> int:
    async with database.write() as conn:
        account_id = (
            await conn.execute(
                sa.text("SELECT account_id FROM carrier_connections WHERE id = :id"),
                {"id": connection_id},
            )
        ).scalar_one()
        result = await conn.execute(
            subscriptions.insert()
            .values(
                account_id=account_id,
                connection_id=connection_id,
                carrier_code="ups",
                tracking_number=number,
                active=active,
                status_code="UN",
                sequence=0,
                next_check_at=next_check_at,
                created_at=NOW - timedelta(days=1),
                updated_at=NOW - timedelta(days=1),
            )
            .returning(subscriptions.c.id)
        )
        return int(result.scalar_one())


async def _claim(
    database: Database, *, now: datetime = NOW, limit: int = 100
) -> list[ClaimedPackage]:
    async with database.write() as conn:
        return await polling.claim_due(conn, now=now, lease_until=now + LEASE, limit=limit)


async def _row(database: Database, subscription_id: int) -> sa.Row[Any]:
    async with database.read() as conn:
        return (
            await conn.execute(subscriptions.select().where(subscriptions.c.id == subscription_id))
        ).one()


def _ids(claimed: list[ClaimedPackage]) -> set[int]:
    return {item.subscription.id for item in claimed}


async def test_claim_takes_only_active_due_packages_oldest_due_first(database: Database) -> None:
    connection = await _connection_id(database)
    due_3h = await _add(database, connection, "A3", next_check_at=NOW - timedelta(hours=3))
    due_1h = await _add(database, connection, "A1", next_check_at=NOW - timedelta(hours=1))
    due_2h = await _add(database, connection, "A2", next_check_at=NOW - timedelta(hours=2))
    due_now = await _add(database, connection, "A0", next_check_at=NOW)
    await _add(
        database, connection, "STOPPED", next_check_at=NOW - timedelta(hours=5), active=False
    )
    await _add(database, connection, "LATER", next_check_at=NOW + timedelta(seconds=1))
    await _add(database, connection, "NEVER", next_check_at=None)

    first = await _claim(database, limit=2)
    assert _ids(first) == {due_3h, due_2h}
    second = await _claim(database, limit=2)
    assert _ids(second) == {due_1h, due_now}
    assert await _claim(database, limit=2) == []


async def test_a_claimed_package_carries_what_the_check_needs(database: Database) -> None:
    connection = await _connection_id(database)
    package = await _add(database, connection, "1ZSANDBOX0000001", next_check_at=NOW)

    [claimed] = await _claim(database)

    assert claimed.subscription.id == package
    assert claimed.subscription.tracking_number == "1ZSANDBOX0000001"
    assert claimed.subscription.connection_id == connection
    assert claimed.created_at == NOW - timedelta(days=1)
    assert claimed.lease_until == NOW + LEASE
    # Never checked yet: the first check records one change, from UN to what the carrier says.
    assert claimed.settled is False


async def test_a_claimed_package_is_not_claimable_again_until_its_lease_runs_out(
    database: Database,
) -> None:
    connection = await _connection_id(database)
    package = await _add(database, connection, "LEASED", next_check_at=NOW)

    assert _ids(await _claim(database)) == {package}
    row = await _row(database, package)
    assert row.lease_until == NOW + LEASE
    assert row.next_check_at == NOW + LEASE

    assert await _claim(database, now=NOW + timedelta(seconds=1)) == []
    assert await _claim(database, now=NOW + LEASE - timedelta(seconds=1)) == []
    # A worker that died mid-check lets the package become due again when its lease passes.
    again = await _claim(database, now=NOW + LEASE)
    assert _ids(again) == {package}
    assert again[0].lease_until == NOW + 2 * LEASE


async def test_concurrent_claimers_never_share_a_package_and_together_take_them_all(
    database: Database,
) -> None:
    connection = await _connection_id(database)
    packages = {
        await _add(database, connection, f"P{i}", next_check_at=NOW - timedelta(minutes=i))
        for i in range(40)
    }
    claimers, limit = 4, 7

    async def claimer() -> set[int]:
        async with database.write() as conn:
            claimed = await polling.claim_due(conn, now=NOW, lease_until=NOW + LEASE, limit=limit)
            # Hold the claim's row locks while the other claimers run: on PostgreSQL they skip
            # the locked rows instead of waiting for them (or taking them too).
            await asyncio.sleep(0.2)
            return _ids(claimed)

    seen: list[int] = []
    first_round = await asyncio.gather(*(claimer() for _ in range(claimers)))
    assert [len(ids) for ids in first_round] == [limit] * claimers
    for ids in first_round:
        seen.extend(ids)
    while True:
        rounds = await asyncio.gather(*(claimer() for _ in range(claimers)))
        if not any(rounds):
            break
        for ids in rounds:
            seen.extend(ids)

    assert len(seen) == len(set(seen)), "a package was claimed by two workers"
    assert set(seen) == packages


async def test_a_claim_does_not_wait_for_another_workers_open_claim(database: Database) -> None:
    if database.is_sqlite:
        pytest.skip("SQLite has one writer at a time: claims are serialised by its write lock")
    connection = await _connection_id(database)
    packages = {
        await _add(database, connection, f"W{i}", next_check_at=NOW - timedelta(minutes=i))
        for i in range(6)
    }
    first_claimed = asyncio.Event()
    second_done = asyncio.Event()

    async def first() -> set[int]:
        async with database.write() as conn:
            claimed = await polling.claim_due(conn, now=NOW, lease_until=NOW + LEASE, limit=3)
            first_claimed.set()
            # Keep the transaction (and its row locks) open until the second claim is back.
            await asyncio.wait_for(second_done.wait(), timeout=30)
            return _ids(claimed)

    async def second() -> set[int]:
        await first_claimed.wait()
        try:
            return _ids(await _claim(database, limit=6))
        finally:
            second_done.set()

    taken_first, taken_second = await asyncio.wait_for(
        asyncio.gather(first(), second()), timeout=60
    )
    assert len(taken_first) == 3
    assert taken_second == packages - taken_first


async def _write_result(database: Database, claimed: ClaimedPackage, status_code: str) -> bool:
    """Record a check the way the engine does: only while the claim is still held."""
    async with database.write() as conn:
        if claimed.subscription.id not in await polling.owned(conn, [claimed]):
            return False
        await polling.update_checked(
            conn,
            [
                PackageState(
                    subscription_id=claimed.subscription.id,
                    status_code=status_code,
                    status_detail_code=None,
                    carrier_status_code=None,
                    carrier_detail_code=None,
                    carrier_status_description=None,
                    exception_description=None,
                    ship_date=None,
                    estimated_delivery_date=None,
                    actual_delivery_date=None,
                    sequence=1,
                    status_since=NOW,
                    checked_at=NOW,
                    next_check_at=NOW + timedelta(hours=3),
                    stop_reason=None,
                )
            ],
        )
        return True


async def test_a_worker_that_lost_its_lease_cannot_write_its_result(database: Database) -> None:
    connection = await _connection_id(database)
    package = await _add(database, connection, "SLOW", next_check_at=NOW)
    [slow] = await _claim(database)
    # The slow worker's lease runs out; another worker takes the package over.
    [fast] = await _claim(database, now=NOW + LEASE)
    assert fast.lease_until != slow.lease_until

    assert await _write_result(database, slow, "IT") is False
    row = await _row(database, package)
    assert row.status_code == "UN"
    assert row.lease_until == fast.lease_until

    assert await _write_result(database, fast, "AC") is True
    row = await _row(database, package)
    assert row.status_code == "AC"
    assert row.lease_until is None
    assert row.next_check_at == NOW + timedelta(hours=3)
    assert row.last_checked_at == NOW


async def test_a_package_stopped_during_its_check_records_nothing_of_that_check(
    database: Database,
) -> None:
    connection = await _connection_id(database)
    package = await _add(database, connection, "STOPME", next_check_at=NOW)
    [claimed] = await _claim(database)
    async with database.write() as conn:
        await subscription_store.stop(conn, package, reason="stopped", now=NOW)

    # The account was told 204: the check under way must not notify or change anything.
    assert await _write_result(database, claimed, "IT") is False
    row = await _row(database, package)
    assert row.active is False
    assert row.stop_reason == "stopped"
    assert row.next_check_at is None
    assert row.status_code != "IT"
    assert await _claim(database, now=NOW + timedelta(days=1)) == []


async def test_a_package_stopped_and_restarted_during_its_check_is_announced_by_the_next_check(
    database: Database,
) -> None:
    connection = await _connection_id(database)
    package = await _add(database, connection, "RESTART", next_check_at=NOW)
    async with database.write() as conn:
        await conn.execute(
            subscriptions.update()
            .where(subscriptions.c.id == package)
            .values(last_checked_at=NOW - timedelta(hours=1), status_code="IT", sequence=1)
        )
    [stale] = await _claim(database)
    assert stale.settled is True
    row = await _row(database, package)
    async with database.write() as conn:
        await subscription_store.stop(conn, package, reason="stopped_by_user", now=NOW)
        await subscription_store.start(
            conn,
            [
                StartRequest(
                    account_id=row.account_id,
                    connection_id=connection,
                    carrier_code="ups",
                    tracking_number="RESTART",
                )
            ],
            now=NOW + timedelta(seconds=1),
        )

    # The check claimed before the stop holds nothing any more: its result is dropped ...
    async with database.write() as conn:
        assert await polling.owned(conn, [stale]) == set()
    row = await _row(database, package)
    assert (row.active, row.announce, row.lease_until) == (True, True, None)
    assert row.next_check_at == NOW + timedelta(seconds=1)
    # ... and the next check, due at once, announces the current state (it is not "settled").
    [fresh] = await _claim(database, now=NOW + timedelta(seconds=1))
    assert fresh.subscription.id == package
    assert (fresh.announce, fresh.settled) == (True, False)
    async with database.write() as conn:
        assert await polling.owned(conn, [fresh]) == {package}


async def test_a_stopped_package_holds_no_lease(database: Database) -> None:
    connection = await _connection_id(database)
    package = await _add(database, connection, "STOPLEASE", next_check_at=NOW)
    await _claim(database)
    async with database.write() as conn:
        await subscription_store.stop(conn, package, reason="stopped_by_user", now=NOW)

    row = await _row(database, package)
    assert (row.active, row.lease_until, row.next_check_at) == (False, None, None)


async def test_released_packages_are_due_at_once_and_unleased(database: Database) -> None:
    connection = await _connection_id(database)
    # Another worker took this one over once our lease ran out.
    taken = await _add(database, connection, "TAKEN", next_check_at=NOW - LEASE)
    [stale] = await _claim(database, now=NOW - LEASE)
    [newer] = await _claim(database)
    assert newer.subscription.id == taken
    mine = await _add(database, connection, "MINE", next_check_at=NOW)
    stopped = await _add(database, connection, "STOPPEDMEANWHILE", next_check_at=NOW)
    claimed = await _claim(database, now=NOW + timedelta(seconds=1))
    assert _ids(claimed) == {mine, stopped}
    await _add(database, connection, "NOTDUE", next_check_at=NOW + timedelta(seconds=30))
    async with database.write() as conn:
        await subscription_store.stop(conn, stopped, reason="stopped_by_user", now=NOW)
    later = NOW + timedelta(seconds=10)

    async with database.write() as conn:
        await polling.release(conn, [*claimed, stale], now=later)

    row = await _row(database, mine)
    assert (row.lease_until, row.next_check_at, row.status_code) == (None, later, "UN")
    row = await _row(database, stopped)
    assert (row.active, row.lease_until, row.next_check_at) == (False, None, None)
    row = await _row(database, taken)
    assert row.lease_until == newer.lease_until
    assert row.next_check_at == newer.lease_until
    assert _ids(await _claim(database, now=later)) == {mine}


async def test_a_claim_whose_answer_was_lost_is_released_by_its_lease(database: Database) -> None:
    connection = await _connection_id(database)
    lost = {await _add(database, connection, f"LOST{i}", next_check_at=NOW) for i in range(3)}
    claimed = await _claim(database)
    assert _ids(claimed) == lost
    other = await _add(database, connection, "OTHERCLAIM", next_check_at=NOW + timedelta(seconds=1))
    [kept] = await _claim(database, now=NOW + timedelta(seconds=1))
    later = NOW + timedelta(seconds=5)

    async with database.write() as conn:
        released = await polling.release_claim(conn, lease_until=NOW + LEASE, now=later)

    assert released == 3
    for package in lost:
        row = await _row(database, package)
        assert (row.lease_until, row.next_check_at) == (None, later)
    row = await _row(database, other)
    assert row.lease_until == kept.lease_until


async def test_a_carrier_failure_written_twice_is_counted_once(database: Database) -> None:
    connection = await _connection_id(database)
    until = NOW + timedelta(minutes=1)
    for _ in range(2):  # the first commit went through, but its answer was lost
        async with database.write() as conn:
            await polling.record_carrier_failure(conn, connection, until=until, error="HTTP 503")
    async with database.write() as conn:
        await polling.record_carrier_failure(
            conn, connection, until=until + timedelta(minutes=1), error="HTTP 503"
        )

    async with database.read() as conn:
        row = (
            await conn.execute(
                sa.text("SELECT failures, backoff_until FROM carrier_connections WHERE id = :id"),
                {"id": connection},
            )
        ).one()
    assert row.failures == 2


def _plan_nodes(plan: Any) -> Iterator[dict[str, Any]]:
    if isinstance(plan, dict):
        yield plan
        for value in plan.values():
            yield from _plan_nodes(value)
    elif isinstance(plan, list):
        for item in plan:
            yield from _plan_nodes(item)


async def test_the_claim_reads_the_due_index(database: Database) -> None:
    connection = await _connection_id(database)
    for i in range(200):
        await _add(
            database,
            connection,
            f"I{i}",
            next_check_at=NOW + timedelta(minutes=i - 10),
            active=i % 3 != 0,
        )

    captured: list[tuple[str, Any]] = []

    def capture(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> None:
        if "next_check_at" in statement and statement.lstrip().upper().startswith("UPDATE"):
            captured.append((statement, parameters))

    for engine in database.engines:
        event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        assert len(await _claim(database, limit=5)) == 5
    finally:
        for engine in database.engines:
            event.remove(engine.sync_engine, "before_cursor_execute", capture)
    [(statement, parameters)] = captured

    async with database.write() as conn:
        if database.is_sqlite:
            plan = await _sqlite_plan(conn, statement, parameters)
            assert "USING INDEX ix_subscriptions_due" in plan, plan
        else:
            await conn.exec_driver_sql("ANALYZE subscriptions")
            await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            result = await conn.exec_driver_sql(
                "EXPLAIN (FORMAT JSON) " + statement, tuple(parameters)
            )
            raw = result.scalar_one()
            plan_json = json.loads(raw) if isinstance(raw, str) else raw
            indexes = {node.get("Index Name") for node in _plan_nodes(plan_json)}
            assert "ix_subscriptions_due" in indexes, json.dumps(plan_json, indent=1)


async def _sqlite_plan(conn: AsyncConnection, statement: str, parameters: Any) -> str:
    result = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, tuple(parameters))
    return "\n".join(str(row[-1]) for row in result)
