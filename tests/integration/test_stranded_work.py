"""No stranded work: the poller's rounds and the dispatcher against a database that goes away, and
what they give back when they stop.

The workers run in the test's event loop over real parts: the database of the session, a fake UPS
on 127.0.0.1 whose answers a :class:`~tests.fakes.gate.Gate` holds (a check "under way"), and a real
webhook receiver. The database "goes away" the way it does in production:

- PostgreSQL: the workers reach it through a TCP proxy that the test cuts (every connection closed,
  new ones refused) and restores: what a server restart looks like to its clients.
- SQLite has no server to restart. What makes its writes fail is another process holding the write
  lock longer than the writer waits (0.2 s here, ``SQLITE_LOCK_WAIT`` in production): the same
  ``ServiceUnavailable`` the workers see from PostgreSQL.

Covers: a check answered while the database is away is recorded once it is back (the round waits
for it instead of leaving the packages to their lease); a round cancelled (a shutdown's grace
period over) or stopping gives its packages back; a check recorded a second time (its first commit
went through unseen) changes nothing; the dispatcher records an attempt made while the database was
away once it is back, with the delivery sent once; a cancelled dispatcher gives back what it was
sending, with no attempt counted.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from shiptrack.app import Shiptrack, build, build_checks, build_sending
from shiptrack.carriers.base import TrackRequest
from shiptrack.domain.accounts import Account
from shiptrack.domain.timefmt import utcnow
from shiptrack.engine.dispatcher import Dispatcher
from shiptrack.services.connections import ConnectRequest
from shiptrack.services.tracking import PackageRef
from shiptrack.settings import Settings
from shiptrack.store import migrate
from shiptrack.store.database import Database, create_database
from shiptrack.store.sql import SqlStore
from shiptrack.store.tables import deliveries, delivery_attempts, status_changes, subscriptions
from tests.conftest import DatabaseServer
from tests.e2e.webhook_support import Receiver, Reply, always
from tests.fakes import ups
from tests.fakes.gate import Gate
from tests.fakes.server import FakeServer, serve
from tests.fakes.tcp_proxy import proxying

#: How long a write waits for another process's SQLite write lock before failing, here.
LOCK_WAIT = 0.2
#: Leases long enough that anything left to them would plainly miss every deadline below.
LEASE = 600
#: How long a test waits for what the workers do by themselves.
DEADLINE = 20.0
SANDBOX_NUMBER = "1ZSANDBOX0000001"


# --- the database going away ------------------------------------------------------------------

#: Holds SQLite's write lock on a file until its stdin is closed.
HOLDER = """
import sqlite3, sys
# A long busy timeout: the server under test keeps writing, and under a loaded CI machine the
# default 5 s of retries can all land while one of its writes holds the lock.
connection = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=60)
connection.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.read()
connection.execute("ROLLBACK")
"""


@contextmanager
def _sqlite_lock_held(path: str) -> Iterator[None]:
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, path],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline().strip() == "locked"
        try:
            yield
        finally:
            holder.stdin.close()
            assert holder.wait(timeout=30) == 0


@dataclass
class FailingDatabase:
    """The session's kind of database, and a way to make it unavailable for a while."""

    #: What the workers connect to (through the proxy on PostgreSQL).
    url: str
    #: Makes every write fail while the block runs.
    outage: Callable[[], AbstractContextManager[None]]


@pytest.fixture
def database(test_database: DatabaseServer, tmp_path: Path) -> Iterator[FailingDatabase]:
    url = test_database.fresh(tmp_path)
    asyncio.run(_migrate(url))
    if test_database.dialect == "sqlite":
        path = sa.engine.make_url(url).database
        assert path
        yield FailingDatabase(url=url, outage=lambda: _sqlite_lock_held(path))
        return
    with proxying(url) as proxy:
        yield FailingDatabase(url=proxy.url(url), outage=proxy.down)


async def _migrate(url: str) -> None:
    database = create_database(url)
    try:
        await migrate.upgrade(database)
    finally:
        await database.dispose()


@pytest.fixture
async def services(database: FailingDatabase, tmp_path: Path) -> AsyncIterator[Shiptrack]:
    """The process's parts, built by the composition root on a store with a short SQLite lock
    wait, so that an outage shows within the test."""
    settings = Settings(
        database_url=database.url,
        data_dir=tmp_path / "data",
        secret_key="stranded-work-tests",
        webhook_allow_private=True,
        poll_lease=LEASE,
        webhook_lease=LEASE,
        webhook_timeout=30,
    )
    built = build(
        settings,
        store=SqlStore(create_database(settings.resolved_database_url, sqlite_lock_wait=LOCK_WAIT)),
    )
    try:
        yield built
    finally:
        await built.close()


# --- accounts, carriers, receivers --------------------------------------------------------------


@pytest.fixture
def gate() -> Gate:
    return Gate("/api/track/")


@pytest.fixture
def fake_ups(gate: Gate) -> Iterator[FakeServer]:
    """The fake UPS, its track answers held while ``gate`` is closed."""
    with serve(gate.hold(ups.app())) as fake:
        try:
            yield fake
        finally:
            gate.open()  # held requests end before the fake stops


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver that takes a second to answer 204."""
    started = Receiver(always(Reply(delay=1.0))).start()
    try:
        yield started
    finally:
        started.close()


async def _account(services: Shiptrack, *, sandbox: bool, webhook_url: str) -> Account:
    account, _key = await services.accounts.create(name="stranded", sandbox=sandbox)
    await services.webhooks.create(
        account, url=webhook_url, event="track", name=None, store_id=None, headers=[]
    )
    return account


async def _ups_package(services: Shiptrack, fake: FakeServer) -> int:
    """A production account tracking UPS's in-transit package through the fake; its id."""
    account = await _account(services, sandbox=False, webhook_url="https://hooks.invalid/track")
    await services.connections.connect(
        account,
        "ups",
        ConnectRequest(client_id=ups.CLIENT_ID, client_secret=ups.CLIENT_SECRET, base_url=fake.url),
    )
    return await _start(services, account, ups.IN_TRANSIT)


async def _start(services: Shiptrack, account: Account, number: str) -> int:
    ref = PackageRef.parse(carrier_code="ups", tracking_number=number, carrier_id=None)
    await services.tracking.start(account, ref)
    async with _database(services).read() as conn:
        return int(
            (
                await conn.execute(
                    sa.select(subscriptions.c.id).where(
                        subscriptions.c.account_id == account.id,
                        subscriptions.c.tracking_number == number,
                    )
                )
            ).scalar_one()
        )


def _database(services: Shiptrack) -> Database:
    """The SQL database under the services (the tests read its tables as an operator would)."""
    assert isinstance(services.store, SqlStore)
    return services.store.database


async def _until(probe: Callable[[], Any], what: str) -> None:
    """Wait (without blocking the loop) until ``probe()`` is true."""
    give_up = time.monotonic() + DEADLINE
    while not probe():
        if time.monotonic() > give_up:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def _subscription(services: Shiptrack, subscription_id: int) -> sa.Row[Any]:
    async with _database(services).read() as conn:
        return (
            await conn.execute(subscriptions.select().where(subscriptions.c.id == subscription_id))
        ).one()


async def _rows(services: Shiptrack, table: sa.Table, **where: int) -> list[sa.Row[Any]]:
    async with _database(services).read() as conn:
        query = table.select().where(*(table.c[name] == value for name, value in where.items()))
        return list(await conn.execute(query.order_by(table.c.id)))


# --- the poller -------------------------------------------------------------------------------


async def test_a_check_answered_while_the_database_is_away_is_recorded_once_it_is_back(
    services: Shiptrack, database: FailingDatabase, fake_ups: FakeServer, gate: Gate
) -> None:
    package = await _ups_package(services, fake_ups)
    gate.close()
    round_ = asyncio.create_task(build_checks(services).run_round())
    await _until(lambda: gate.held, "the check to reach UPS")

    with database.outage():
        gate.open()
        await _until(lambda: ups.track_requests(fake_ups), "UPS to answer")
        await asyncio.sleep(1.5)  # several tries to record fail meanwhile
        # The round keeps UPS's answer and waits for the database instead of giving up.
        assert not round_.done(), round_
    assert await asyncio.wait_for(round_, timeout=DEADLINE) == 1

    row = await _subscription(services, package)
    assert (row.status_code, row.lease_until, row.last_error) == ("IT", None, None)
    assert row.last_checked_at is not None
    assert row.next_check_at > utcnow() + timedelta(minutes=15)  # the schedule's, not the lease's
    changes = await _rows(services, status_changes, subscription_id=package)
    assert [(c.sequence, c.previous_status, c.status_code) for c in changes] == [(1, "UN", "IT")]
    assert len(await _rows(services, deliveries, subscription_id=package)) == 1
    assert ups.track_requests(fake_ups) == [ups.IN_TRANSIT]


async def test_a_check_recorded_twice_is_recorded_once(services: Shiptrack) -> None:
    account = await _account(services, sandbox=True, webhook_url="https://hooks.invalid/track")
    package = await _start(services, account, SANDBOX_NUMBER)
    now = utcnow()
    async with services.store.write() as tx:
        claimed = await tx.packages.claim_due(
            now=now, lease_until=now + timedelta(seconds=LEASE), limit=10
        )
    async with services.store.read() as tx:
        states = await tx.connections.states({c.subscription.connection_id for c in claimed})
    [state] = states.values()
    adapter = services.carriers.adapter("ups", simulated=True)
    answers = await adapter.track(services.opener.context(state), [TrackRequest(SANDBOX_NUMBER)])

    # The first commit went through, but its answer never reached the worker: it writes again.
    for _ in range(2):
        async with services.store.write() as tx:
            await services.recorder.record(tx, state, claimed, answers, speed=1.0)

    assert len(await _rows(services, status_changes, subscription_id=package)) == 1
    assert len(await _rows(services, deliveries, subscription_id=package)) == 1
    assert (await _subscription(services, package)).sequence == 1


async def test_a_cancelled_round_gives_its_packages_back_due_at_once(
    services: Shiptrack, fake_ups: FakeServer, gate: Gate
) -> None:
    package = await _ups_package(services, fake_ups)
    gate.close()
    round_ = asyncio.create_task(build_checks(services).run_round())
    await _until(lambda: gate.held, "the check to reach UPS")
    claimed = await _subscription(services, package)
    assert claimed.lease_until is not None

    round_.cancel()  # what a shutdown does once its grace period is over
    with pytest.raises(asyncio.CancelledError):
        await round_

    row = await _subscription(services, package)
    assert row.lease_until is None
    assert row.next_check_at <= utcnow()
    assert (row.status_code, row.active, row.last_checked_at) == ("UN", True, None)


async def test_a_stopping_round_asks_no_carrier_and_gives_its_packages_back(
    services: Shiptrack, fake_ups: FakeServer
) -> None:
    package = await _ups_package(services, fake_ups)
    stopping = asyncio.Event()
    stopping.set()

    assert await build_checks(services).run_round(stopping=stopping) == 1

    assert ups.track_requests(fake_ups) == []
    row = await _subscription(services, package)
    assert row.lease_until is None
    assert row.next_check_at <= utcnow()


# --- the dispatcher ---------------------------------------------------------------------------


async def _one_delivery(services: Shiptrack, receiver: Receiver) -> int:
    """A sandbox package checked once: one status change, one delivery queued to ``receiver``;
    the delivery's id."""
    account = await _account(services, sandbox=True, webhook_url=receiver.url)
    package = await _start(services, account, SANDBOX_NUMBER)
    assert await build_checks(services).run_round() == 1
    [delivery] = await _rows(services, deliveries, subscription_id=package)
    return int(delivery.id)


async def test_an_attempt_made_while_the_database_is_away_is_recorded_once_it_is_back(
    services: Shiptrack, database: FailingDatabase, receiver: Receiver
) -> None:
    delivery_id = await _one_delivery(services, receiver)
    stopping = asyncio.Event()
    dispatcher = asyncio.create_task(
        Dispatcher(build_sending(services), services.settings).run(stopping)
    )
    try:
        await _until(lambda: receiver.requests, "the delivery to reach the receiver")
        with database.outage():
            # The receiver answers after a second; recording its answer fails meanwhile.
            await asyncio.sleep(2.0)
        delivered: list[sa.Row[Any]] = []

        async def probe() -> bool:
            delivered[:] = await _rows(services, deliveries, id=delivery_id)
            return bool(delivered[0].state == "delivered")

        give_up = time.monotonic() + DEADLINE
        while not await probe():
            assert time.monotonic() < give_up, "the attempt was not recorded"
            await asyncio.sleep(0.05)
    finally:
        stopping.set()
        await asyncio.wait_for(dispatcher, timeout=DEADLINE)

    [row] = delivered
    assert (row.attempts, row.lease_until) == (1, None)
    [attempt] = await _rows(services, delivery_attempts, delivery_id=delivery_id)
    assert attempt.response_status == 204
    assert len(receiver.requests) == 1


async def test_a_cancelled_dispatcher_gives_back_what_it_was_sending(
    services: Shiptrack, receiver: Receiver
) -> None:
    receiver.behaviour = always(Reply(hang=True))
    delivery_id = await _one_delivery(services, receiver)
    stopping = asyncio.Event()
    dispatcher = asyncio.create_task(
        Dispatcher(build_sending(services), services.settings).run(stopping)
    )
    await _until(lambda: receiver.requests, "the delivery to reach the receiver")

    stopping.set()
    await asyncio.sleep(0.2)
    dispatcher.cancel()  # the shutdown's grace period is over
    with pytest.raises(asyncio.CancelledError):
        await dispatcher

    [row] = await _rows(services, deliveries, id=delivery_id)
    assert (row.state, row.attempts, row.lease_until) == ("pending", 0, None)
    assert row.next_attempt_at <= utcnow()
    assert await _rows(services, delivery_attempts, delivery_id=delivery_id) == []
