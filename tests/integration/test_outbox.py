"""The webhook outbox (``shiptrack.store.deliveries``) against the real database.

Covers which deliveries a dispatcher claims: pending and due, oldest due first, only the head of
each (package, webhook) queue so one package's notifications arrive in ``sequence`` order (test
events belong to no queue and never wait), never for a disabled or deleted webhook, never for a
webhook the dispatcher skips; the lease that keeps a claimed delivery away from other dispatchers
until it runs out; a dispatcher that lost its lease being unable to move the delivery on (its
attempt is still kept); an attempt recorded again (after a commit the dispatcher never saw) kept
once; deliveries given back unsent (released), also a whole claim whose answer was lost; replaying
deliveries; concurrent claimers never sharing a delivery; and the claim reading the partial index
``ix_deliveries_due`` (its SELECT) and leasing the picked rows by primary key (its UPDATE).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection

from shiptrack.domain.delivery import DELIVERED, FAILED, PENDING, Attempt, ClaimedDelivery
from shiptrack.domain.tracking import StartRequest
from shiptrack.sealing import Sealer
from shiptrack.store import deliveries as outbox
from shiptrack.store import migrate, polling
from shiptrack.store import subscriptions as subscription_store
from shiptrack.store import webhooks as webhook_store
from shiptrack.store.accounts import create_account
from shiptrack.store.connections import create_connection
from shiptrack.store.database import Database, create_database
from shiptrack.store.tables import deliveries
from tests.conftest import DatabaseServer

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)
SEALER = Sealer("outbox-tests")


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


@dataclass
class Account:
    """An account with one UPS connection, to hang packages and webhooks on."""

    database: Database
    id: int
    connection_id: int

    async def package(self, number: str) -> int:
        """A tracked package (a subscription); its id."""
        async with self.database.write() as conn:
            await subscription_store.start(
                conn,
                [
                    StartRequest(
                        account_id=self.id,
                        connection_id=self.connection_id,
                        carrier_code="ups",
                        tracking_number=number,
                    )
                ],
                now=NOW - timedelta(days=1),
            )
            found = await subscription_store.find(
                conn, account_id=self.id, carrier_code="ups", tracking_number=number
            )
        assert found is not None
        return found.id

    async def webhook(self, url: str = "https://hooks.example/track") -> int:
        """A ``track`` webhook; its id."""
        async with self.database.write() as conn:
            webhook = await webhook_store.create_webhook(
                conn,
                account_id=self.id,
                url=url,
                event="track",
                name=None,
                store_id=None,
                headers=[],
                sealed_secret=SEALER.seal({"secret": "whsec_x"}, owner=url),
                now=NOW - timedelta(days=1),
            )
        return webhook.id

    async def delivery(
        self,
        webhook_id: int,
        package_id: int,
        sequence: int,
        *,
        due: datetime = NOW,
        state: str = PENDING,
        created_at: datetime | None = None,
    ) -> int:
        """A status change of the package and its delivery to the webhook; the delivery's id."""
        created = created_at or due
        async with self.database.write() as conn:
            change_id = (
                await conn.execute(
                    sa.text(
                        "SELECT id FROM status_changes WHERE subscription_id = :s AND sequence = :n"
                    ),
                    {"s": package_id, "n": sequence},
                )
            ).scalar()
            if change_id is None:
                [change_id] = await polling.insert_status_changes(
                    conn,
                    [
                        {
                            "subscription_id": package_id,
                            "sequence": sequence,
                            "previous_status": "UN",
                            "status_code": "IT",
                            "detected_at": created,
                            "correction": False,
                        }
                    ],
                )
            result = await conn.execute(
                deliveries.insert()
                .values(
                    webhook_id=webhook_id,
                    status_change_id=change_id,
                    subscription_id=package_id,
                    sequence=sequence,
                    message_id=f"msg_{change_id}_{webhook_id}",
                    payload=json.dumps({"sequence": sequence}).encode(),
                    state=state,
                    attempts=0,
                    next_attempt_at=due if state == PENDING else None,
                    created_at=created,
                    delivered_at=created if state == DELIVERED else None,
                )
                .returning(deliveries.c.id)
            )
            return int(result.scalar_one())

    async def test_event(self, webhook_id: int, *, now: datetime = NOW) -> int:
        """A test delivery (no package) queued the way ``POST .../test`` does."""
        async with self.database.write() as conn:
            return await outbox.add_test_delivery(
                conn,
                webhook_id=webhook_id,
                message_id=f"msg_test_{webhook_id}_{now.timestamp()}",
                payload=b'{"test": true}',
                now=now,
            )


@pytest.fixture
async def account(database: Database) -> Account:
    async with database.write() as conn:
        created = await create_account(conn, name="outbox", sandbox=True, now=NOW)
        connection_id = await create_connection(
            conn,
            account_id=created.id,
            carrier_code="ups",
            nickname="ups",
            account_number=None,
            base_url=None,
            sealed_credentials=None,
            simulated=True,
            now=NOW,
        )
    return Account(database, created.id, connection_id)


async def _claim(
    database: Database,
    *,
    now: datetime = NOW,
    limit: int = 100,
    skip_webhooks: tuple[int, ...] = (),
) -> list[ClaimedDelivery]:
    async with database.write() as conn:
        return await outbox.claim(
            conn, now=now, lease_until=now + LEASE, limit=limit, skip_webhooks=skip_webhooks
        )


def _ids(claimed: list[ClaimedDelivery]) -> set[int]:
    return {delivery.id for delivery in claimed}


async def _record(
    database: Database,
    delivery: ClaimedDelivery,
    outcome: dict[str, Any],
    *,
    at: datetime = NOW,
    status: int | None = 200,
    error: str | None = None,
) -> bool:
    """Record one attempt as the dispatcher does; whether it moved the delivery on (``False``: the
    lease was lost meanwhile, the delivery is left to whoever holds it now)."""
    attempts_before = (await _row(database, delivery.id)).attempts
    async with database.write() as conn:
        await outbox.record_attempts(
            conn,
            [
                Attempt(
                    delivery=delivery,
                    attempted_at=at,
                    response_status=status,
                    latency_ms=12,
                    error=error,
                    state=outcome.get("state", PENDING),
                    next_attempt_at=outcome.get("next_attempt_at"),
                    delivered_at=outcome.get("delivered_at"),
                )
            ],
        )
    return bool((await _row(database, delivery.id)).attempts == attempts_before + 1)


def _delivered(at: datetime = NOW) -> dict[str, Any]:
    return {"state": DELIVERED, "delivered_at": at, "next_attempt_at": None}


async def _row(database: Database, delivery_id: int) -> sa.Row[Any]:
    async with database.read() as conn:
        return (await conn.execute(deliveries.select().where(deliveries.c.id == delivery_id))).one()


async def _attempts(database: Database, delivery_id: int) -> list[Any]:
    async with database.read() as conn:
        return (await outbox.attempts_of(conn, [delivery_id]))[delivery_id]


async def _replay(database: Database, webhook_id: int, *, now: datetime, **kwargs: Any) -> int:
    async with database.write() as conn:
        return await outbox.replay(conn, webhook_id=webhook_id, now=now, **kwargs)


# What is claimed


async def test_claim_takes_pending_due_deliveries_oldest_due_first(account: Account) -> None:
    hook = await account.webhook()
    due = {}
    for minutes in (30, 10, 20, 0):
        package = await account.package(f"DUE{minutes}")
        due[minutes] = await account.delivery(
            hook, package, 1, due=NOW - timedelta(minutes=minutes)
        )
    soon = NOW + timedelta(seconds=1)
    later = await account.delivery(hook, await account.package("LATER"), 1, due=soon)
    await account.delivery(hook, await account.package("DONE"), 1, state=DELIVERED)
    await account.delivery(hook, await account.package("GAVEUP"), 1, state=FAILED)

    assert _ids(await _claim(account.database, limit=2)) == {due[30], due[20]}
    assert _ids(await _claim(account.database, limit=2)) == {due[10], due[0]}
    assert await _claim(account.database) == []
    assert _ids(await _claim(account.database, now=soon)) == {later}


async def test_a_claimed_delivery_carries_what_sending_it_needs(account: Account) -> None:
    hook = await account.webhook("https://hooks.example/a")
    package = await account.package("1ZCARRIES")
    delivery_id = await account.delivery(hook, package, 1)
    stored = await _row(account.database, delivery_id)

    [claimed] = await _claim(account.database)

    assert claimed.id == delivery_id
    assert claimed.webhook_id == hook
    assert claimed.account_id == account.id
    assert claimed.url == "https://hooks.example/a"
    assert claimed.message_id == stored.message_id
    assert claimed.payload == b'{"sequence": 1}'
    assert claimed.attempts == 0
    assert claimed.lease_until == NOW + LEASE
    assert SEALER.open(claimed.sealed_secret or "", owner="https://hooks.example/a") == {
        "secret": "whsec_x"
    }
    assert claimed.failing_since is None


async def test_only_the_head_of_a_package_queue_is_claimed(account: Account) -> None:
    hook = await account.webhook()
    package, other = await account.package("QUEUE"), await account.package("OTHER")
    first = await account.delivery(hook, package, 1, due=NOW - timedelta(minutes=1))
    second = await account.delivery(hook, package, 2, due=NOW - timedelta(minutes=2))
    third = await account.delivery(hook, package, 3, due=NOW - timedelta(minutes=3))
    elsewhere = await account.delivery(hook, other, 1)

    claimed = await _claim(account.database)
    assert _ids(claimed) == {first, elsewhere}

    # Delivered: the next change of the package may go, and only it.
    [head] = [delivery for delivery in claimed if delivery.id == first]
    assert await _record(account.database, head, _delivered()) is True
    [head] = await _claim(account.database)
    assert head.id == second
    assert await _record(account.database, head, _delivered()) is True
    assert _ids(await _claim(account.database)) == {third}


async def test_a_later_change_waits_for_an_earlier_one_that_is_not_due(account: Account) -> None:
    hook = await account.webhook()
    package = await account.package("RETRYING")
    first = await account.delivery(hook, package, 1, due=NOW + timedelta(minutes=30))
    second = await account.delivery(hook, package, 2, due=NOW - timedelta(minutes=5))

    assert await _claim(account.database) == []
    assert _ids(await _claim(account.database, now=NOW + timedelta(minutes=30))) == {first}
    assert second not in _ids(await _claim(account.database, now=NOW + timedelta(hours=5)))


async def test_a_change_that_failed_for_good_no_longer_holds_the_queue(account: Account) -> None:
    hook = await account.webhook()
    package = await account.package("GIVENUP")
    first = await account.delivery(hook, package, 1)
    second = await account.delivery(hook, package, 2)

    [head] = await _claim(account.database)
    assert head.id == first
    failed = {"state": FAILED, "next_attempt_at": None}
    assert await _record(account.database, head, failed, status=500, error="HTTP 500") is True

    assert _ids(await _claim(account.database)) == {second}


async def test_each_webhook_has_its_own_queue(account: Account) -> None:
    slow, fast = await account.webhook("https://slow.example/"), await account.webhook()
    package = await account.package("TWOHOOKS")
    await account.delivery(slow, package, 1, due=NOW + timedelta(hours=2))
    await account.delivery(fast, package, 1, state=DELIVERED)
    fast_second = await account.delivery(fast, package, 2)

    # The slow webhook's retry of change 1 does not hold change 2 back from the other webhook.
    assert _ids(await _claim(account.database)) == {fast_second}


async def test_test_deliveries_are_never_held_back(account: Account) -> None:
    hook = await account.webhook()
    package = await account.package("BLOCKED")
    await account.delivery(hook, package, 1, due=NOW + timedelta(hours=1))
    blocked = await account.delivery(hook, package, 2)
    first_test = await account.test_event(hook, now=NOW - timedelta(seconds=2))
    second_test = await account.test_event(hook, now=NOW - timedelta(seconds=1))

    claimed = await _claim(account.database)

    # Two pending test events do not queue behind each other, nor behind a package.
    assert _ids(claimed) == {first_test, second_test}
    assert blocked not in _ids(claimed)


async def test_a_disabled_webhooks_deliveries_wait_until_it_is_enabled(account: Account) -> None:
    hook, healthy = await account.webhook("https://down.example/"), await account.webhook()
    waiting = await account.delivery(hook, await account.package("DOWN"), 1)
    going = await account.delivery(healthy, await account.package("UP"), 1)
    async with account.database.write() as conn:
        await outbox.update_webhook_health(
            conn, hook, {"failing_since": NOW - timedelta(days=5), "disabled_at": NOW}
        )

    assert _ids(await _claim(account.database)) == {going}
    assert (await _row(account.database, waiting)).state == PENDING  # waiting, not dropped

    # Any update of the webhook (the API's PUT) enables it again.
    async with account.database.write() as conn:
        webhook = await webhook_store.get_webhook(conn, account.id, hook)
        assert webhook is not None and webhook.disabled_at is not None
        await webhook_store.update_webhook(conn, webhook, {"name": "fixed"}, now=NOW)
    assert _ids(await _claim(account.database)) == {waiting}


async def test_a_deleted_webhooks_deliveries_are_never_claimed(account: Account) -> None:
    hook = await account.webhook()
    delivery_id = await account.delivery(hook, await account.package("GONE"), 1)
    test_id = await account.test_event(hook)
    async with account.database.write() as conn:
        await webhook_store.delete_webhook(conn, hook, now=NOW)

    assert await _claim(account.database, now=NOW + timedelta(days=30)) == []
    assert (await _row(account.database, delivery_id)).state == PENDING
    assert (await _row(account.database, test_id)).state == PENDING


async def test_skipped_webhooks_are_left_for_later(account: Account) -> None:
    full, other = await account.webhook("https://full.example/"), await account.webhook()
    held = await account.delivery(full, await account.package("FULL"), 1, due=NOW - LEASE)
    taken = await account.delivery(other, await account.package("FREE"), 1)

    assert _ids(await _claim(account.database, skip_webhooks=(full,))) == {taken}
    assert _ids(await _claim(account.database)) == {held}


# The lease


async def test_a_claimed_delivery_is_not_claimable_again_until_its_lease_runs_out(
    account: Account,
) -> None:
    hook = await account.webhook()
    delivery_id = await account.delivery(hook, await account.package("LEASED"), 1)

    [first] = await _claim(account.database)
    assert first.id == delivery_id
    assert await _claim(account.database, now=NOW + timedelta(seconds=1)) == []
    assert await _claim(account.database, now=NOW + LEASE - timedelta(seconds=1)) == []

    # The dispatcher died mid-send: once the lease passes the delivery goes again, same webhook-id.
    [again] = await _claim(account.database, now=NOW + LEASE)
    assert again.id == delivery_id
    assert again.message_id == first.message_id
    assert again.lease_until == NOW + 2 * LEASE


async def test_a_dispatcher_that_lost_its_lease_cannot_move_the_delivery_on(
    account: Account,
) -> None:
    hook = await account.webhook()
    delivery_id = await account.delivery(hook, await account.package("SLOW"), 1)
    [slow] = await _claim(account.database)
    [fast] = await _claim(account.database, now=NOW + LEASE)

    retry = {"next_attempt_at": NOW + timedelta(hours=1)}
    late = NOW + LEASE + timedelta(seconds=5)
    assert await _record(account.database, slow, retry, at=late, status=500, error="HTTP 500") is (
        False
    )
    row = await _row(account.database, delivery_id)
    assert (row.state, row.attempts, row.last_error) == (PENDING, 0, None)
    assert row.next_attempt_at == fast.lease_until  # still the new holder's
    # What the slow dispatcher saw is not lost: its attempt is on record.
    [attempt] = await _attempts(account.database, delivery_id)
    assert (attempt.response_status, attempt.error) == (500, "HTTP 500")

    assert await _record(account.database, fast, _delivered(late), at=late) is True
    row = await _row(account.database, delivery_id)
    assert (row.state, row.attempts, row.delivered_at) == (DELIVERED, 1, late)
    assert [a.response_status for a in await _attempts(account.database, delivery_id)] == [
        500,
        200,
    ]


async def test_a_failed_attempt_schedules_the_retry(account: Account) -> None:
    hook = await account.webhook()
    delivery_id = await account.delivery(hook, await account.package("RETRY"), 1)
    [claimed] = await _claim(account.database)

    retry_at = NOW + timedelta(minutes=5)
    outcome = {"next_attempt_at": retry_at}
    assert await _record(account.database, claimed, outcome, status=None, error="timeout") is True

    row = await _row(account.database, delivery_id)
    assert (row.state, row.attempts, row.last_error) == (PENDING, 1, "timeout")
    assert await _claim(account.database, now=retry_at - timedelta(seconds=1)) == []
    [again] = await _claim(account.database, now=retry_at)
    assert (again.id, again.attempts) == (delivery_id, 1)


async def _record_again(
    database: Database, delivery: ClaimedDelivery, outcome: dict[str, Any], *, at: datetime = NOW
) -> None:
    """Record an attempt the way a dispatcher does after a try whose commit it never saw."""
    async with database.write() as conn:
        await outbox.record_attempts(
            conn,
            [
                Attempt(
                    delivery=delivery,
                    attempted_at=at,
                    response_status=200,
                    latency_ms=12,
                    error=None,
                    state=outcome.get("state", PENDING),
                    next_attempt_at=outcome.get("next_attempt_at"),
                    delivered_at=outcome.get("delivered_at"),
                )
            ],
            again=True,
        )


async def test_an_attempt_recorded_again_after_its_commit_went_through_is_kept_once(
    account: Account,
) -> None:
    hook = await account.webhook()
    delivery_id = await account.delivery(hook, await account.package("TWICE"), 1)
    [claimed] = await _claim(account.database)

    assert await _record(account.database, claimed, _delivered()) is True
    await _record_again(account.database, claimed, _delivered())

    row = await _row(account.database, delivery_id)
    assert (row.state, row.attempts) == (DELIVERED, 1)
    assert len(await _attempts(account.database, delivery_id)) == 1


async def test_an_attempt_recorded_again_after_its_commit_failed_is_recorded(
    account: Account,
) -> None:
    hook = await account.webhook()
    delivery_id = await account.delivery(hook, await account.package("RETRIED"), 1)
    [claimed] = await _claim(account.database)

    await _record_again(account.database, claimed, _delivered())

    row = await _row(account.database, delivery_id)
    assert (row.state, row.attempts, row.lease_until) == (DELIVERED, 1, None)
    assert len(await _attempts(account.database, delivery_id)) == 1


async def test_released_deliveries_are_due_at_once_with_no_attempt_counted(
    account: Account,
) -> None:
    hook = await account.webhook()
    package = await account.package("RELEASED")
    first = await account.delivery(hook, package, 1)
    taken = await account.delivery(hook, await account.package("TAKENOVER"), 1, due=NOW - LEASE)
    [stale_taken] = await _claim(account.database, now=NOW - LEASE)
    assert stale_taken.id == taken
    claimed = await _claim(account.database)  # ours; and another dispatcher takes `taken` over
    assert _ids(claimed) == {first, taken}
    [mine] = [d for d in claimed if d.id == first]
    later = NOW + timedelta(seconds=3)

    async with account.database.write() as conn:
        await outbox.release(conn, [mine, stale_taken], now=later)

    row = await _row(account.database, first)
    assert (row.state, row.attempts, row.lease_until, row.next_attempt_at) == (
        PENDING,
        0,
        None,
        later,
    )
    assert await _attempts(account.database, first) == []
    row = await _row(account.database, taken)
    assert row.lease_until == NOW + LEASE
    [again] = await _claim(account.database, now=later)
    assert (again.id, again.message_id) == (first, mine.message_id)


async def test_a_delivery_claim_whose_answer_was_lost_is_released_by_its_lease(
    account: Account,
) -> None:
    hook = await account.webhook()
    lost = {await account.delivery(hook, await account.package(f"LOST{i}"), 1) for i in range(3)}
    assert _ids(await _claim(account.database)) == lost
    other = await account.delivery(hook, await account.package("OTHER"), 1)
    [kept] = await _claim(account.database, now=NOW + timedelta(seconds=1))
    later = NOW + timedelta(seconds=5)

    async with account.database.write() as conn:
        released = await outbox.release_claim(conn, lease_until=NOW + LEASE, now=later)

    assert released == 3
    for delivery_id in lost:
        row = await _row(account.database, delivery_id)
        assert (row.lease_until, row.next_attempt_at, row.attempts) == (None, later, 0)
    assert (await _row(account.database, other)).lease_until == kept.lease_until


# Replay


async def test_replay_sends_a_delivered_or_failed_delivery_again(account: Account) -> None:
    hook = await account.webhook()
    package = await account.package("REPLAYED")
    delivered = await account.delivery(hook, package, 1, state=DELIVERED)
    failed = await account.delivery(hook, package, 2, state=FAILED)
    async with account.database.write() as conn:
        await conn.execute(deliveries.update().where(deliveries.c.id == failed).values(attempts=8))
    later = NOW + timedelta(days=2)

    assert await _replay(account.database, hook, now=later, delivery_id=delivered) == 1
    assert await _replay(account.database, hook, now=later, delivery_id=failed) == 1

    for delivery_id in (delivered, failed):
        row = await _row(account.database, delivery_id)
        assert (row.state, row.attempts, row.next_attempt_at, row.delivered_at) == (
            PENDING,
            0,
            later,
            None,
        )
    # Replayed in order: change 1 first, with the same webhook-id as before.
    [first] = await _claim(account.database, now=later)
    assert first.id == delivered
    assert first.message_id == (await _row(account.database, delivered)).message_id


async def test_replay_leaves_a_delivery_being_sent_alone(account: Account) -> None:
    hook = await account.webhook()
    delivery_id = await account.delivery(hook, await account.package("INFLIGHT"), 1)
    [claimed] = await _claim(account.database)

    assert await _replay(account.database, hook, now=NOW + timedelta(seconds=1)) == 0

    row = await _row(account.database, delivery_id)
    assert row.next_attempt_at == claimed.lease_until
    # The dispatcher sending it still owns it and records the outcome.
    assert await _record(account.database, claimed, _delivered()) is True


async def test_replay_takes_back_a_delivery_whose_sender_died(account: Account) -> None:
    hook = await account.webhook()
    delivery_id = await account.delivery(hook, await account.package("ORPHAN"), 1)
    [orphaned] = await _claim(account.database)

    # Its lease has run out: nobody is sending it any more.
    later = NOW + LEASE + timedelta(seconds=1)
    assert await _replay(account.database, hook, now=later) == 1

    assert (await _row(account.database, delivery_id)).next_attempt_at == later
    assert await _record(account.database, orphaned, _delivered()) is False
    assert _ids(await _claim(account.database, now=later)) == {delivery_id}


async def test_replay_brings_a_retry_waiting_for_later_forward(account: Account) -> None:
    hook = await account.webhook()
    delivery_id = await account.delivery(hook, await account.package("WAITING"), 1)
    [claimed] = await _claim(account.database)
    retry_at = NOW + timedelta(hours=2)
    assert await _record(account.database, claimed, {"next_attempt_at": retry_at}, status=503)

    # Nobody is sending it: "redeliver" must send it now, not in two hours.
    now = NOW + timedelta(minutes=1)
    assert await _replay(account.database, hook, now=now, delivery_id=delivery_id) == 1
    row = await _row(account.database, delivery_id)
    assert (row.state, row.attempts, row.next_attempt_at) == (PENDING, 0, now)
    assert _ids(await _claim(account.database, now=now)) == {delivery_id}


async def test_replay_of_a_range_takes_the_deliveries_created_in_it(account: Account) -> None:
    hook, other_hook = await account.webhook(), await account.webhook("https://other.example/")
    package = await account.package("RANGE")
    times = [NOW - timedelta(hours=h) for h in (3, 2, 1)]
    before, inside, after = [
        await account.delivery(hook, package, n, state=DELIVERED, created_at=at)
        for n, at in enumerate(times, start=1)
    ]
    elsewhere = await account.delivery(other_hook, package, 2, state=DELIVERED, created_at=times[1])

    count = await _replay(account.database, hook, now=NOW, since=times[1], until=times[2])

    assert count == 1
    states = {i: (await _row(account.database, i)).state for i in (before, inside, after)}
    assert states == {before: DELIVERED, inside: PENDING, after: DELIVERED}
    assert (await _row(account.database, elsewhere)).state == DELIVERED


# Concurrency and the index


async def test_concurrent_claimers_never_share_a_delivery(account: Account) -> None:
    hook, other_hook = await account.webhook(), await account.webhook("https://b.example/")
    heads = set()
    for i in range(20):
        package = await account.package(f"C{i}")
        for webhook_id in (hook, other_hook):
            head = await account.delivery(webhook_id, package, 1, due=NOW - timedelta(seconds=i))
            await account.delivery(webhook_id, package, 2, due=NOW - timedelta(hours=1))
            heads.add(head)
    claimers, limit = 4, 7
    database = account.database

    async def claimer() -> set[int]:
        async with database.write() as conn:
            claimed = await outbox.claim(conn, now=NOW, lease_until=NOW + LEASE, limit=limit)
            # Hold the row locks while the other claimers run: on PostgreSQL they skip the
            # locked rows (and must not take a queue's next change meanwhile).
            await asyncio.sleep(0.2)
            return _ids(claimed)

    seen: list[int] = []
    while True:
        rounds = await asyncio.gather(*(claimer() for _ in range(claimers)))
        if not any(rounds):
            break
        for ids in rounds:
            seen.extend(ids)

    assert len(seen) == len(set(seen)), "a delivery was claimed by two dispatchers"
    assert set(seen) == heads


async def test_a_claim_does_not_wait_for_another_dispatchers_open_claim(
    account: Account,
) -> None:
    if account.database.is_sqlite:
        pytest.skip("SQLite has one writer at a time: claims are serialised by its write lock")
    hook = await account.webhook()
    all_ids = {
        await account.delivery(
            hook, await account.package(f"W{i}"), 1, due=NOW - timedelta(minutes=i)
        )
        for i in range(6)
    }
    first_claimed, second_done = asyncio.Event(), asyncio.Event()

    async def first() -> set[int]:
        async with account.database.write() as conn:
            claimed = await outbox.claim(conn, now=NOW, lease_until=NOW + LEASE, limit=3)
            first_claimed.set()
            await asyncio.wait_for(second_done.wait(), timeout=30)
            return _ids(claimed)

    async def second() -> set[int]:
        await first_claimed.wait()
        try:
            return _ids(await _claim(account.database, limit=6))
        finally:
            second_done.set()

    taken_first, taken_second = await asyncio.wait_for(
        asyncio.gather(first(), second()), timeout=60
    )
    assert len(taken_first) == 3
    assert taken_second == all_ids - taken_first


def _plan_nodes(plan: Any) -> Iterator[dict[str, Any]]:
    if isinstance(plan, dict):
        yield plan
        for value in plan.values():
            yield from _plan_nodes(value)
    elif isinstance(plan, list):
        for item in plan:
            yield from _plan_nodes(item)


async def test_the_claim_reads_the_due_index(account: Account) -> None:
    hook = await account.webhook()
    for i in range(60):
        package = await account.package(f"I{i}")
        await account.delivery(hook, package, 1, state=DELIVERED)
        await account.delivery(hook, package, 2, due=NOW + timedelta(minutes=i - 10))

    # The claim is two statements: a SELECT that finds (and on PostgreSQL locks, SKIP LOCKED)
    # the due heads, and an UPDATE that leases the ones picked, by id.
    selects: list[tuple[str, Any]] = []
    updates: list[tuple[str, Any]] = []

    def capture(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> None:
        text = " ".join(statement.split()).upper()
        if text.startswith("UPDATE DELIVERIES"):
            updates.append((statement, parameters))
        elif text.startswith("SELECT") and " FROM DELIVERIES " in f"{text} ":
            selects.append((statement, parameters))

    database = account.database
    for engine in database.engines:
        event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        assert len(await _claim(database, limit=5)) == 5
    finally:
        for engine in database.engines:
            event.remove(engine.sync_engine, "before_cursor_execute", capture)
    [select] = selects
    [update] = updates

    async with database.write() as conn:
        if database.is_sqlite:
            plan = await _sqlite_plan(conn, *select)
            assert "USING INDEX ix_deliveries_due" in plan, plan
            plan = await _sqlite_plan(conn, *update)
            assert "USING INTEGER PRIMARY KEY" in plan, plan
        else:
            await conn.exec_driver_sql("ANALYZE deliveries")
            await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            assert "ix_deliveries_due" in await _postgresql_indexes(conn, *select)
            assert "pk_deliveries" in await _postgresql_indexes(conn, *update)


async def _postgresql_indexes(conn: AsyncConnection, statement: str, parameters: Any) -> set[str]:
    """The indexes PostgreSQL's plan for ``statement`` reads."""
    result = await conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, tuple(parameters))
    raw = result.scalar_one()
    plan = json.loads(raw) if isinstance(raw, str) else raw
    indexes = {node.get("Index Name") for node in _plan_nodes(plan)} - {None}
    assert indexes, json.dumps(plan, indent=1)
    return {str(name) for name in indexes}


async def _sqlite_plan(conn: AsyncConnection, statement: str, parameters: Any) -> str:
    result = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, tuple(parameters))
    return "\n".join(str(row[-1]) for row in result)
