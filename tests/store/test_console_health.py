"""What the console shows of a webhook's and a carrier connection's health, on every store: the
last success and the failed attempts after it; when a call through a connection last worked; a
webhook's deliveries failures first, a page at a time."""

from __future__ import annotations

from asyncio import Event
from datetime import datetime, timedelta

import pytest

from shiptrack.domain.accounts import Account
from shiptrack.domain.delivery import DELIVERED, FAILED
from shiptrack.domain.errors import NotFound
from shiptrack.domain.ids import format_id
from shiptrack.services.deliveries import Deliveries
from shiptrack.store.port import Store
from tests.store.seeds import (
    NOW,
    Tenant,
    claim_deliveries,
    record_attempt,
)


async def test_a_webhook_without_attempts_has_no_success_and_no_failures(store: Store) -> None:
    tenant = await Tenant.create(store)
    hook = await tenant.webhook()
    await tenant.delivery(hook, await tenant.package("QUEUED"), 1)
    async with store.read() as tx:
        health = await tx.outbox.health(hook, cap=100)
    assert (health.last_success_at, health.consecutive_failures) == (None, 0)


async def test_failures_are_counted_after_the_last_success_up_to_the_cap(store: Store) -> None:
    tenant = await Tenant.create(store)
    hook = await tenant.webhook()
    other = await tenant.webhook("https://hooks.invalid/other")
    early = NOW - timedelta(hours=2)
    await tenant.settled_delivery(hook, await tenant.package("OLDFAIL"), 1, state=FAILED, at=early)
    delivered_at = NOW - timedelta(hours=1)
    await tenant.settled_delivery(hook, await tenant.package("OK"), 1, at=delivered_at)
    await tenant.delivery(hook, await tenant.package("FAILING"), 1)
    await tenant.delivery(other, await tenant.package("ELSEWHERE"), 1)
    for minutes in (1, 2, 3):
        claimed = await claim_deliveries(store, now=NOW + timedelta(minutes=minutes))
        for delivery in claimed:
            await record_attempt(
                store,
                delivery,
                at=NOW + timedelta(minutes=minutes),
                status=503,
                error="HTTP 503",
                next_attempt_at=NOW + timedelta(minutes=minutes + 1),
            )
    async with store.read() as tx:
        health = await tx.outbox.health(hook, cap=100)
        capped = await tx.outbox.health(hook, cap=2)
        elsewhere = await tx.outbox.health(other, cap=100)
    assert health.last_success_at == delivered_at
    assert health.consecutive_failures == 3
    assert capped.consecutive_failures == 2
    assert (elsewhere.last_success_at, elsewhere.consecutive_failures) == (None, 3)


async def test_a_connections_last_success_is_noted_at_most_once_a_minute(store: Store) -> None:
    tenant = await Tenant.create(store)

    async def noted() -> datetime | None:
        async with store.read() as tx:
            state = (await tx.connections.states([tenant.connection_id]))[tenant.connection_id]
        assert state.success_to_note(NOW + timedelta(hours=1))  # an hour later: noted again
        return state.last_success_at

    assert await noted() is None
    for seconds in (0, 30, 59):  # within the minute: the first one stands (no write)
        async with store.write() as tx:
            await tx.connections.record_success(
                tenant.connection_id, now=NOW + timedelta(seconds=seconds)
            )
    assert await noted() == NOW
    async with store.write() as tx:
        await tx.connections.record_success(tenant.connection_id, now=NOW + timedelta(seconds=61))
    assert await noted() == NOW + timedelta(seconds=61)
    # A failure in between: the next success is noted at once, and ends the back-off.
    async with store.write() as tx:
        await tx.connections.record_failure(
            tenant.connection_id, until=NOW + timedelta(minutes=5), error="HTTP 503"
        )
        await tx.connections.record_success(tenant.connection_id, now=NOW + timedelta(seconds=70))
    assert await noted() == NOW + timedelta(seconds=70)


async def test_the_console_lists_failed_deliveries_first_a_page_at_a_time(store: Store) -> None:
    tenant = await Tenant.create(store)
    hook = await tenant.webhook()
    at = NOW - timedelta(hours=3)
    made: dict[str, list[int]] = {"failed": [], "other": []}
    for index, state in enumerate([DELIVERED, FAILED, DELIVERED, FAILED, DELIVERED, FAILED]):
        number = f"P{index}"
        settled_at = at + timedelta(minutes=index)
        delivery_id = await tenant.settled_delivery(
            hook, await tenant.package(number, now=settled_at), 1, state=state, at=settled_at
        )
        made["failed" if state == FAILED else "other"].append(delivery_id)
    made["other"].append(await tenant.delivery(hook, await tenant.package("WAITING"), 1))
    deliveries = Deliveries(store, public_base_url="https://x.invalid", deliveries_due=Event())
    account = Account(id=tenant.account_id, name="acme", sandbox=True)
    seen: list[list[int]] = []
    cursor = None
    while True:
        page = await deliveries.failures_first(account, format_id(hook), limit=3, cursor=cursor)
        seen.append([row.id for row in page.deliveries])
        assert set(page.attempts) == set(seen[-1])
        cursor = page.next_cursor
        if cursor is None:
            break
    newest_failed = sorted(made["failed"], reverse=True)
    newest_other = sorted(made["other"], reverse=True)
    assert seen == [newest_failed, newest_other[:3], newest_other[3:]]
    stranger = Account(id=tenant.account_id + 1000, name="other", sandbox=True)
    with pytest.raises(NotFound):
        await deliveries.failures_first(stranger, format_id(hook), limit=3, cursor=None)
