"""Building what a contract test needs, through the store port only (no SQL, no private state)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from shiptrack.domain.check import ClaimedPackage, PackageState, StatusChangeRecord
from shiptrack.domain.delivery import (
    DELIVERED,
    PENDING,
    Attempt,
    ClaimedDelivery,
    DeliveryView,
    OutboxEntry,
)
from shiptrack.domain.tracking import StartRequest, Subscription
from shiptrack.store.port import NewConnection, NewWebhook, Store
from shiptrack.store.sql import SqlStore

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
#: A package's lease, and a delivery's.
LEASE = timedelta(minutes=5)
DELIVERY_LEASE = timedelta(seconds=60)


async def new_account(store: Store, name: str = "acme", *, sandbox: bool = True) -> int:
    """A new account; its id."""
    async with store.write() as tx:
        return (await tx.accounts.create(name=name, sandbox=sandbox, now=NOW)).id


async def new_connection(
    store: Store, account_id: int, carrier_code: str = "ups", *, nickname: str | None = None
) -> int:
    """A simulated connection of the account; its id."""
    async with store.write() as tx:
        return await tx.connections.create(
            NewConnection(
                account_id=account_id,
                carrier_code=carrier_code,
                nickname=nickname or carrier_code,
                account_number=None,
                base_url=None,
                sealed_credentials=None,
                simulated=True,
            ),
            now=NOW,
        )


def new_webhook_values(
    account_id: int, url: str = "https://hooks.invalid/track", event: str = "track"
) -> NewWebhook:
    """A webhook to create."""
    return NewWebhook(
        account_id=account_id,
        url=url,
        event=event,
        name=None,
        store_id=None,
        headers=(),
        sealed_secret=f"sealed:{url}",
    )


def checked(
    package: Subscription | ClaimedPackage,
    status_code: str,
    *,
    at: datetime = NOW,
    next_check_at: datetime | None = None,
    stop_reason: str | None = None,
    sequence: int | None = None,
) -> PackageState:
    """What a check decides for a package: its new status, checked ``at``."""
    subscription = package.subscription if isinstance(package, ClaimedPackage) else package
    return PackageState(
        subscription_id=subscription.id,
        status_code=status_code,
        status_detail_code=None,
        carrier_status_code=f"carrier-{status_code}",
        carrier_detail_code=None,
        carrier_status_description=f"status {status_code}",
        exception_description=None,
        ship_date="2026-03-01",
        estimated_delivery_date=None,
        actual_delivery_date=None,
        sequence=subscription.sequence + 1 if sequence is None else sequence,
        status_since=at,
        checked_at=at,
        next_check_at=None if stop_reason else (next_check_at or at + timedelta(hours=3)),
        stop_reason=stop_reason,
    )


@dataclass
class Tenant:
    """An account with one UPS connection, to hang packages and webhooks on."""

    store: Store
    account_id: int
    connection_id: int
    _changes: dict[tuple[int, int], int] = field(default_factory=dict)

    @classmethod
    async def create(cls, store: Store, name: str = "acme") -> Tenant:
        """A new account and its UPS connection."""
        account_id = await new_account(store, name)
        return cls(store, account_id, await new_connection(store, account_id))

    async def package(self, number: str, *, now: datetime = NOW) -> int:
        """Start tracking a package at ``now`` (so it is due then); its id."""
        async with self.store.write() as tx:
            await tx.packages.start([self.request(number)], now=now)
        return (await self.find(number)).id

    def request(self, number: str, connection_id: int | None = None) -> StartRequest:
        """A start request for one of the account's packages."""
        return StartRequest(
            account_id=self.account_id,
            connection_id=connection_id or self.connection_id,
            carrier_code="ups",
            tracking_number=number,
        )

    async def find(self, number: str) -> Subscription:
        """The account's package with this number, as stored."""
        async with self.store.read() as tx:
            found = await tx.packages.find(
                account_id=self.account_id, carrier_code="ups", tracking_number=number
            )
        assert found is not None, number
        return found

    async def stop(self, package_id: int, reason: str = "stopped_by_user") -> None:
        """Stop tracking a package."""
        async with self.store.write() as tx:
            await tx.packages.stop(package_id, reason=reason, now=NOW)

    async def webhook(self, url: str = "https://hooks.invalid/track") -> int:
        """A ``track`` webhook of the account; its id."""
        async with self.store.write() as tx:
            return (await tx.webhooks.create(new_webhook_values(self.account_id, url), now=NOW)).id

    async def delivery(
        self, webhook_id: int, package_id: int, sequence: int, *, due: datetime = NOW
    ) -> int:
        """Status change ``sequence`` of the package (kept once) and its delivery to the
        webhook, queued at ``due`` (and so due then); the delivery's id."""
        async with self.store.write() as tx:
            change_id = self._changes.get((package_id, sequence))
            if change_id is None:
                [change_id] = await tx.outbox.add_changes(
                    [
                        StatusChangeRecord(
                            subscription_id=package_id,
                            sequence=sequence,
                            previous_status="UN",
                            status_code="IT",
                            status_detail_code=None,
                            occurred_at=None,
                            detected_at=due,
                            correction=False,
                        )
                    ]
                )
                self._changes[(package_id, sequence)] = change_id
            await tx.outbox.add_deliveries(
                [
                    OutboxEntry(
                        webhook_id=webhook_id,
                        status_change_id=change_id,
                        subscription_id=package_id,
                        sequence=sequence,
                        message_id=f"msg_{change_id}_{webhook_id}",
                        payload=json.dumps({"sequence": sequence}).encode(),
                        created_at=due,
                    )
                ]
            )
            [newest] = await tx.outbox.page(webhook_id=webhook_id, before_id=None, limit=1)
        return newest.id

    async def settled_delivery(
        self,
        webhook_id: int,
        package_id: int,
        sequence: int,
        *,
        state: str = DELIVERED,
        at: datetime = NOW,
    ) -> int:
        """A delivery already sent (``DELIVERED``) or given up on (``FAILED``) at ``at``.

        It is queued, claimed and attempted at ``at``: nothing else may be due by then."""
        delivery_id = await self.delivery(webhook_id, package_id, sequence, due=at)
        [claimed] = await claim_deliveries(self.store, now=at)
        assert claimed.id == delivery_id, "another delivery was due: settle this one earlier"
        await record_attempt(
            self.store,
            claimed,
            at=at,
            state=state,
            status=200 if state == DELIVERED else 500,
        )
        return delivery_id

    async def test_event(self, webhook_id: int, *, now: datetime = NOW) -> int:
        """A test delivery (no package) queued the way ``POST .../test`` does; its id."""
        async with self.store.write() as tx:
            return await tx.outbox.add_test_delivery(
                webhook_id=webhook_id,
                message_id=f"msg_test_{webhook_id}_{now.timestamp()}",
                payload=b'{"test": true}',
                now=now,
            )


async def claim_packages(
    store: Store, *, now: datetime = NOW, limit: int = 100
) -> list[ClaimedPackage]:
    """Claim due packages as a worker does, for one lease."""
    async with store.write() as tx:
        return await tx.packages.claim_due(now=now, lease_until=now + LEASE, limit=limit)


async def claim_deliveries(
    store: Store,
    *,
    now: datetime = NOW,
    limit: int = 100,
    skip_webhooks: tuple[int, ...] = (),
    per_webhook: dict[int, int] | None = None,
    default_per_webhook: int | None = None,
) -> list[ClaimedDelivery]:
    """Claim due deliveries as a dispatcher does, for one lease."""
    async with store.write() as tx:
        return await tx.outbox.claim(
            now=now,
            lease_until=now + DELIVERY_LEASE,
            limit=limit,
            skip_webhooks=skip_webhooks,
            per_webhook=per_webhook,
            default_per_webhook=default_per_webhook,
        )


def attempt(
    delivery: ClaimedDelivery,
    *,
    at: datetime = NOW,
    state: str = PENDING,
    status: int | None = 200,
    error: str | None = None,
    next_attempt_at: datetime | None = None,
) -> Attempt:
    """One finished attempt of a claimed delivery, and what follows from it."""
    return Attempt(
        delivery=delivery,
        attempted_at=at,
        response_status=status,
        latency_ms=12,
        error=error,
        state=state,
        next_attempt_at=next_attempt_at,
        delivered_at=at if state == DELIVERED else None,
    )


async def record_attempt(
    store: Store,
    delivery: ClaimedDelivery,
    *,
    again: bool = False,
    at: datetime = NOW,
    state: str = PENDING,
    status: int | None = 200,
    error: str | None = None,
    next_attempt_at: datetime | None = None,
) -> None:
    """Record one attempt as the dispatcher does (``again``: after a try whose commit it never
    saw)."""
    recorded = attempt(
        delivery, at=at, state=state, status=status, error=error, next_attempt_at=next_attempt_at
    )
    async with store.write() as tx:
        await tx.outbox.record_attempts([recorded], again=again)


async def delivery_view(store: Store, webhook_id: int, delivery_id: int) -> DeliveryView:
    """A delivery as its webhook's list shows it."""
    async with store.read() as tx:
        [view] = await tx.outbox.page(webhook_id=webhook_id, before_id=delivery_id + 1, limit=1)
    assert view.id == delivery_id
    return view


def hold_open(store: Store) -> float:
    """How long a concurrency test keeps a claim's transaction open so that the other claimers
    run meanwhile: long enough for PostgreSQL's row locks to matter; no time at all where
    writers take turns anyway (the in-memory store, SQLite)."""
    on_postgresql = isinstance(store, SqlStore) and not store.database.is_sqlite
    return 0.05 if on_postgresql else 0.0


def ids(claimed: list[ClaimedPackage] | list[ClaimedDelivery]) -> set[int]:
    """The ids of what was claimed (packages' subscription ids, or delivery ids)."""
    return {
        item.subscription.id if isinstance(item, ClaimedPackage) else item.id for item in claimed
    }
