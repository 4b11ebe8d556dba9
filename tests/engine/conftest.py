"""The tracking engine in-process: one process's parts, built by the composition root
(``shiptrack.app.build``) on the in-memory store, the poller's rounds run one at a time by the
test, and the sandbox carrier on a journey clock the test moves.

No server process and no fixed sleeps. A test creates accounts, webhooks and starts through the
same use cases the API calls, runs :meth:`Engine.check_at` (one poller round at a journey hour) or
:meth:`Engine.follow` (rounds at the journey hours the engine itself schedules, until every package
stopped), and reads what a user sees: the package as ``GET /v1/tracking`` answers it, its entry in
``GET /v1/tracking/subscriptions``, and the outbox rows, the notifications to be sent (read from
the store, where the API shows nothing, as ``tests/support.recorded`` reads them from SQL).

Two clocks. The engine keeps the real one (``detected_at``, ``last_checked_at``, leases,
back-offs); the sandbox carrier's journey clock is the test's. Before each round every active
package is made due through the store port (claimed and given back at once, as a stopping worker
gives back what it holds), so a round never waits for the real clock. :meth:`Engine.follow` moves
the journey clock by the interval the engine scheduled (``next_check_at - last_checked_at``, on
the sandbox clock): the checks happen at the journey hours a real poller would make them. The one
wait is for a carrier's back-off, which the engine times on the real clock: half a second at
least (:meth:`Engine.wait_out_backoff`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from shiptrack.api.routes.subscriptions import subscription_json
from shiptrack.app import Shiptrack, build, build_checks
from shiptrack.domain.accounts import Account
from shiptrack.domain.carriers import tracking_code_for
from shiptrack.domain.timefmt import utcnow
from shiptrack.domain.tracking import StartRequest, Subscription, normalise_tracking_number
from shiptrack.engine.checks import Checks
from shiptrack.services.tracking import PackageRef, SubscriptionFilter
from shiptrack.settings import Settings
from shiptrack.store.memory import MemoryStore
from shiptrack.store.memory.tables import DeliveryRow, StatusChangeRow

#: Sandbox journey seconds per real second. The shortest interval the schedule ever sets (half a
#: real second) is then one journey hour, so a journey walks at the schedule's own pace.
SPEED = 7200.0
#: Where ``resource_url`` values point.
PUBLIC_BASE_URL = "https://track.example.com"
#: More rounds than any journey needs: a package that never stops fails the test instead.
MAX_ROUNDS = 300


def engine_settings() -> Settings:
    """Settings of an in-process engine: the sandbox clock sped up, no jitter (every next check
    exact), nothing cached, and carrier fakes allowed on 127.0.0.1."""
    return Settings(
        secret_key="engine-tests-secret",
        sandbox_speed=SPEED,
        schedule_jitter=0,
        cache_seconds=0,
        public_base_url=PUBLIC_BASE_URL,
        outbound_allow="127.0.0.0/8",
    )


class JourneyClock:
    """The sandbox carrier's clock: ``hours`` of journey after the latest start (packages started
    a moment before are a moment further on)."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self.anchor = utcnow()
        self.hours = 0.0

    def __call__(self) -> datetime:
        return self.anchor + timedelta(hours=self.hours / self.speed)


@dataclass(frozen=True)
class Shipper:
    """An account and the ids of its ``track`` webhooks."""

    account: Account
    webhook_ids: list[int]


@dataclass(frozen=True)
class Recorded:
    """What the engine wrote for one package: its status changes and their outbox rows."""

    #: By ``sequence``.
    changes: list[StatusChangeRow]
    #: By id.
    deliveries: list[DeliveryRow]

    def deliveries_of(self, change: StatusChangeRow) -> list[DeliveryRow]:
        """The outbox rows of one change, by id."""
        return [row for row in self.deliveries if row.status_change_id == change.id]


@dataclass
class Engine:
    """One process's parts on the in-memory store, driven round by round."""

    parts: Shiptrack
    store: MemoryStore
    checks: Checks
    clock: JourneyClock
    #: ``(account id, stored carrier code, tracking number)`` of every package started.
    started: list[tuple[int, str, str]] = field(default_factory=list)

    @classmethod
    def build(cls, settings: Settings) -> Engine:
        """The parts of a process built from ``settings`` on a fresh in-memory store."""
        store = MemoryStore()
        parts = build(settings, store=store)
        clock = JourneyClock(settings.sandbox_speed)
        parts.carriers.sandbox.clock = clock
        return cls(parts=parts, store=store, checks=build_checks(parts), clock=clock)

    # --- accounts and packages ------------------------------------------------------------------

    async def shipper(
        self,
        name: str = "shipper",
        *,
        sandbox: bool = True,
        webhooks: int = 1,
        exception_watch_days: int | None = None,
    ) -> Shipper:
        """A new account with ``webhooks`` ``track`` webhooks (on a host that never resolves:
        nothing is sent), watching exceptions as ``shiptrack account update`` sets it."""
        account, _key = await self.parts.accounts.create(name=name, sandbox=sandbox)
        if exception_watch_days is not None:
            async with self.store.write() as tx:
                await tx.accounts.set_exception_watch(account.id, exception_watch_days)
            found = await self._account(account.id)
            account = found
        webhook_ids = []
        for i in range(webhooks):
            webhook, _secret = await self.parts.webhooks.create(
                account,
                url=f"https://hooks.invalid/{name}/{i}",
                event="track",
                name=None,
                store_id=None,
                headers=[],
            )
            webhook_ids.append(webhook.id)
        return Shipper(account, webhook_ids)

    async def _account(self, account_id: int) -> Account:
        async with self.store.read() as tx:
            found = await tx.accounts.get(account_id)
        assert found is not None
        return found

    async def start(self, account: Account, carrier_code: str, tracking_number: str) -> None:
        """``POST /v1/tracking/start``; the journey clock counts from the latest start."""
        await self.parts.tracking.start(account, _ref(carrier_code, tracking_number))
        package = await self.subscription(account, carrier_code, tracking_number)
        key = (account.id, package.carrier_code, package.tracking_number)
        if key not in self.started:
            self.started.append(key)
        if package.created_at is not None and package.created_at > self.clock.anchor:
            self.clock.anchor = package.created_at

    async def start_earlier(
        self, account: Account, carrier_code: str, tracking_number: str, *, hours_ago: float
    ) -> None:
        """A start written ``hours_ago`` journey hours ago, through the store port as the start
        use case writes it: the package is that old at its first check."""
        speed = self.parts.settings.sandbox_speed
        async with self.store.write() as tx:
            (connection,) = await tx.connections.of_account(account.id, codes=[carrier_code])
            request = StartRequest(
                account_id=account.id,
                connection_id=connection.id,
                carrier_code=tracking_code_for(carrier_code),
                tracking_number=tracking_number,
            )
            await tx.packages.start([request], now=utcnow() - timedelta(hours=hours_ago / speed))
        self.started.append((account.id, request.carrier_code, tracking_number))

    async def stop(self, account: Account, carrier_code: str, tracking_number: str) -> None:
        """``POST /v1/tracking/stop``."""
        await self.parts.tracking.stop(account, _ref(carrier_code, tracking_number))

    async def subscription(
        self, account: Account, carrier_code: str, tracking_number: str
    ) -> Subscription:
        """The account's package as stored."""
        async with self.store.read() as tx:
            found = await tx.packages.find(
                account_id=account.id,
                carrier_code=tracking_code_for(carrier_code),
                tracking_number=normalise_tracking_number(tracking_number),
            )
        assert found is not None, (carrier_code, tracking_number)
        return found

    # --- what a user sees -----------------------------------------------------------------------

    async def tracking(
        self, account: Account, carrier_code: str, tracking_number: str
    ) -> dict[str, Any]:
        """``GET /v1/tracking``'s body (as JSON would carry it)."""
        body = await self.parts.tracking.get(account, _ref(carrier_code, tracking_number))
        decoded: dict[str, Any] = json.loads(body)
        return decoded

    async def listing(
        self,
        account: Account,
        *,
        status_code: str | None = None,
        carrier_code: str | None = None,
        active: bool | None = None,
    ) -> list[dict[str, Any]]:
        """Every entry of ``GET /v1/tracking/subscriptions`` with these filters (one page)."""
        found, cursor = await self.parts.tracking.list_subscriptions(
            account,
            SubscriptionFilter(status_code=status_code, carrier_code=carrier_code, active=active),
            cursor=None,
            limit=500,
        )
        assert cursor is None
        return [subscription_json(subscription) for subscription in found]

    async def recorded(self, account: Account, carrier_code: str, tracking_number: str) -> Recorded:
        """The package's status changes and outbox rows."""
        package = await self.subscription(account, carrier_code, tracking_number)
        # The port reads outbox rows only as a webhook's delivery log, without their payloads:
        # the committed tables are read directly, as tests/support.recorded reads SQL.
        tables = self.store.committed
        changes = sorted(
            (row for row in tables.status_changes.rows() if row.subscription_id == package.id),
            key=lambda row: row.sequence,
        )
        rows = sorted(
            (row for row in tables.deliveries.rows() if row.subscription_id == package.id),
            key=lambda row: row.id,
        )
        return Recorded(changes, rows)

    # --- the poller's rounds --------------------------------------------------------------------

    async def make_due(self) -> None:
        """Every active package due now, as if its next check had come: claimed and given back
        through the store port."""
        far = utcnow() + timedelta(days=36500)
        async with self.store.write() as tx:
            claimed = await tx.packages.claim_due(now=far, lease_until=far, limit=1_000_000)
            await tx.packages.release(claimed, now=utcnow())

    async def check_at(self, hours: float) -> int:
        """One poller round with the sandbox carrier ``hours`` into the journey; how many
        packages it checked."""
        self.clock.hours = hours
        await self.make_due()
        return await self.checks.run_round()

    async def follow(self, *, since: float = 0.0) -> float:
        """Rounds from journey hour ``since`` at the hours the engine schedules, until every
        started package has stopped; the journey hour of the last round."""
        hours = since
        for _ in range(MAX_ROUNDS):
            await self.check_at(hours)
            waits = []
            for account_id, carrier_code, number in self.started:
                async with self.store.read() as tx:
                    package = await tx.packages.find(
                        account_id=account_id, carrier_code=carrier_code, tracking_number=number
                    )
                assert package is not None
                if not package.active:
                    continue
                assert package.last_error is None, package.last_error
                assert package.next_check_at is not None and package.last_checked_at is not None
                waits.append(package.next_check_at - package.last_checked_at)
            if not waits:
                return hours
            hours += min(waits).total_seconds() * self.clock.speed / 3600
        raise AssertionError(f"still tracking after {MAX_ROUNDS} rounds ({hours:.1f} h)")

    async def wait_out_backoff(self) -> None:
        """Wait (in real time: the engine's clock) until every active package is due again: a
        carrier's back-off is over."""
        latest = utcnow()
        for account_id, carrier_code, number in self.started:
            async with self.store.read() as tx:
                package = await tx.packages.find(
                    account_id=account_id, carrier_code=carrier_code, tracking_number=number
                )
            if package is not None and package.next_check_at is not None:
                latest = max(latest, package.next_check_at)
        await asyncio.sleep((latest - utcnow()).total_seconds())


def _ref(carrier_code: str, tracking_number: str) -> PackageRef:
    return PackageRef.parse(
        carrier_code=carrier_code, tracking_number=tracking_number, carrier_id=None
    )


@pytest.fixture
async def engine() -> AsyncIterator[Engine]:
    """An in-process engine on a fresh in-memory store."""
    built = Engine.build(engine_settings())
    try:
        yield built
    finally:
        await built.parts.close()
