"""The webhook outbox in memory (see :class:`shiptrack.store.port.Outbox`).

The rules are the SQL store's (``store.outbox``): a delivery is claimable when it is pending, due,
its webhook is live and enabled, and no earlier delivery of its package to that webhook is still
pending; a claim moves ``next_attempt_at`` to the end of the lease, and an attempt moves its
delivery on only while ``next_attempt_at`` is still that lease.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from shiptrack.domain.check import StatusChangeRecord
from shiptrack.domain.delivery import (
    DELIVERED,
    FAILED,
    PENDING,
    RECENT_SUCCESSES,
    Attempt,
    AttemptView,
    ClaimedDelivery,
    DeliveryHealth,
    DeliveryView,
    OutboxEntry,
)
from shiptrack.store.memory.tables import (
    AttemptRow,
    ConstraintViolation,
    DeliveryRow,
    StatusChangeRow,
    Tables,
    WebhookRow,
    utc,
    utc_or_none,
)
from shiptrack.store.port import PendingDeliveries


def _claimed(row: DeliveryRow, hook: WebhookRow, lease_until: datetime) -> ClaimedDelivery:
    return ClaimedDelivery(
        id=row.id,
        webhook_id=row.webhook_id,
        account_id=hook.account_id,
        message_id=row.message_id,
        payload=row.payload,
        attempts=row.attempts,
        lease_until=lease_until,
        url=hook.url,
        headers=[{"key": header.key, "value": header.value} for header in hook.headers],
        sealed_secret=hook.secret,
        sealed_previous_secret=hook.previous_secret,
        previous_secret_expires_at=hook.previous_secret_expires_at,
        failing_since=hook.failing_since,
        signatures=hook.signatures,
        test_event=row.status_change_id is None,
    )


class MemoryOutbox:
    """Status changes and deliveries of one in-memory transaction."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables
        self._changes = tables.status_changes
        self._deliveries = tables.deliveries
        self._attempts = tables.attempts

    async def add_changes(self, changes: Sequence[StatusChangeRecord]) -> list[int]:
        """Keep status changes; their ids, in order."""
        taken = {(row.subscription_id, row.sequence) for row in self._changes.rows()}
        ids = []
        for change in changes:
            self._tables.subscriptions.require(change.subscription_id, "subscription")
            key = (change.subscription_id, change.sequence)
            if key in taken:
                raise ConstraintViolation(f"status change {key} is stored already")
            taken.add(key)
            row = StatusChangeRow(
                id=self._changes.new_id(),
                subscription_id=change.subscription_id,
                sequence=change.sequence,
                previous_status=change.previous_status,
                status_code=change.status_code,
                status_detail_code=change.status_detail_code,
                occurred_at=utc_or_none(change.occurred_at),
                detected_at=utc(change.detected_at),
                correction=change.correction,
            )
            self._changes.put(row)
            ids.append(row.id)
        return ids

    async def add_deliveries(self, entries: Sequence[OutboxEntry]) -> None:
        """Queue deliveries, due at once."""
        taken = {(row.webhook_id, row.status_change_id) for row in self._deliveries.rows()}
        for entry in entries:
            self._tables.webhooks.require(entry.webhook_id, "webhook")
            self._changes.require(entry.status_change_id, "status change")
            self._tables.subscriptions.require(entry.subscription_id, "subscription")
            key = (entry.webhook_id, entry.status_change_id)
            if key in taken:
                raise ConstraintViolation(f"delivery {key} is queued already")
            taken.add(key)
            created_at = utc(entry.created_at)
            self._deliveries.put(
                DeliveryRow(
                    id=self._deliveries.new_id(),
                    webhook_id=entry.webhook_id,
                    status_change_id=entry.status_change_id,
                    subscription_id=entry.subscription_id,
                    sequence=entry.sequence,
                    message_id=entry.message_id,
                    payload=bytes(entry.payload),
                    state=PENDING,
                    attempts=0,
                    next_attempt_at=created_at,
                    created_at=created_at,
                )
            )

    async def add_test_delivery(
        self, *, webhook_id: int, message_id: str, payload: bytes, now: datetime
    ) -> int:
        """Queue a test event to one webhook (outside any package's order); its id."""
        self._tables.webhooks.require(webhook_id, "webhook")
        now = utc(now)
        row = DeliveryRow(
            id=self._deliveries.new_id(),
            webhook_id=webhook_id,
            status_change_id=None,
            subscription_id=None,
            sequence=0,
            message_id=message_id,
            payload=bytes(payload),
            state=PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        self._deliveries.put(row)
        return row.id

    async def claim(
        self,
        *,
        now: datetime,
        lease_until: datetime,
        limit: int,
        skip_webhooks: Collection[int] = (),
        per_webhook: Mapping[int, int] | None = None,
        default_per_webhook: int | None = None,
    ) -> list[ClaimedDelivery]:
        """Take up to ``limit`` due deliveries of live, enabled webhooks, oldest due first, each
        at the head of its package's queue for its webhook; ``per_webhook`` (free slots) and
        ``default_per_webhook`` cap how many go to one webhook."""
        now, lease_until = utc(now), utc(lease_until)
        hooks = self._tables.webhooks
        skipped = set(skip_webhooks)
        pending = [row for row in self._deliveries.rows() if row.state == PENDING]
        # Each (package, webhook) queue's head: its pending change with the lowest sequence.
        heads: dict[tuple[int, int], int] = {}
        for row in pending:
            if row.subscription_id is not None:
                queue = (row.subscription_id, row.webhook_id)
                heads[queue] = min(heads.get(queue, row.sequence), row.sequence)

        def head_of_queue(row: DeliveryRow) -> bool:
            # A test event belongs to no package's queue: it never waits.
            return (
                row.subscription_id is None
                or heads[(row.subscription_id, row.webhook_id)] == row.sequence
            )

        def claimable(row: DeliveryRow) -> bool:
            hook = hooks.get(row.webhook_id)
            return (
                row.next_attempt_at is not None
                and row.next_attempt_at <= now
                and hook is not None
                and hook.deleted_at is None
                and hook.disabled_at is None
                and row.webhook_id not in skipped
                and head_of_queue(row)
            )

        due = sorted(
            (row for row in pending if claimable(row)),
            key=lambda row: (row.next_attempt_at, row.id),
        )
        capped = per_webhook is not None or default_per_webhook is not None
        # The SQL store looks this far down the due list for deliveries that fit the caps.
        window = due[: max(limit * 4 if capped else limit, 0)]
        picked: list[DeliveryRow] = []
        taken: dict[int, int] = {}
        for row in window:
            if len(picked) >= limit:
                break
            if capped:
                free = (per_webhook or {}).get(row.webhook_id, default_per_webhook or limit)
                if taken.get(row.webhook_id, 0) >= free:
                    continue
                taken[row.webhook_id] = taken.get(row.webhook_id, 0) + 1
            picked.append(row)
        claimed = []
        for row in picked:
            leased = replace(row, next_attempt_at=lease_until, lease_until=lease_until)
            self._deliveries.put(leased)
            hook = hooks.get(row.webhook_id)
            assert hook is not None  # claimable() saw it
            claimed.append(_claimed(leased, hook, lease_until))
        return claimed

    async def record_attempts(self, attempts: Sequence[Attempt], *, again: bool = False) -> None:
        """Keep each attempt and move its delivery on (if still under the lease); ``again``:
        attempts already kept are not kept twice."""
        if again:
            kept = {(row.delivery_id, row.attempted_at) for row in self._attempts.rows()}
            attempts = [a for a in attempts if (a.delivery.id, utc(a.attempted_at)) not in kept]
        for attempt in attempts:
            self._deliveries.require(attempt.delivery.id, "delivery")
            self._attempts.put(
                AttemptRow(
                    id=self._attempts.new_id(),
                    delivery_id=attempt.delivery.id,
                    attempted_at=utc(attempt.attempted_at),
                    response_status=attempt.response_status,
                    latency_ms=attempt.latency_ms,
                    error=attempt.error,
                )
            )
        for attempt in attempts:
            row = self._deliveries.get(attempt.delivery.id)
            if (
                row is None
                or row.state != PENDING
                or row.next_attempt_at != utc(attempt.delivery.lease_until)
            ):
                continue  # the lease was lost: the dispatcher holding it now moves it on
            self._deliveries.put(
                replace(
                    row,
                    attempts=row.attempts + 1,
                    last_error=attempt.error,
                    lease_until=None,
                    state=attempt.state,
                    next_attempt_at=utc_or_none(attempt.next_attempt_at),
                    delivered_at=utc_or_none(attempt.delivered_at),
                )
            )

    async def release(self, claimed: Collection[ClaimedDelivery], *, now: datetime) -> None:
        """Give claimed deliveries back unsent, due at once (those still under the lease)."""
        now = utc(now)
        for delivery in claimed:
            row = self._deliveries.get(delivery.id)
            if row is None or row.state != PENDING or row.lease_until != delivery.lease_until:
                continue
            self._deliveries.put(replace(row, lease_until=None, next_attempt_at=now))

    async def release_claim(self, *, lease_until: datetime, now: datetime) -> int:
        """Give back whatever a claim that set ``lease_until`` took; how many."""
        lease_until, now = utc(lease_until), utc(now)
        released = 0
        for row in self._deliveries.rows():
            if (
                row.state == PENDING
                and row.next_attempt_at == lease_until
                and row.lease_until == lease_until
            ):
                self._deliveries.put(replace(row, lease_until=None, next_attempt_at=now))
                released += 1
        return released

    async def page(
        self, *, webhook_id: int, before_id: int | None, limit: int, state: str | None = None
    ) -> list[DeliveryView]:
        """A page of a webhook's deliveries, newest first."""
        found: list[DeliveryView] = []
        for row in reversed(self._deliveries.rows()):
            if len(found) >= limit:
                break
            if (
                row.webhook_id != webhook_id
                or (before_id is not None and row.id >= before_id)
                or (state is not None and row.state != state)
            ):
                continue
            found.append(self._view(row))
        return found

    def _view(self, row: DeliveryRow) -> DeliveryView:
        package = self._tables.subscriptions.get(row.subscription_id)
        change = self._changes.get(row.status_change_id)
        return DeliveryView.of(
            row,
            carrier_code=package.carrier_code if package else None,
            tracking_number=package.tracking_number if package else None,
            status_code=change.status_code if change else None,
        )

    async def changes_of(self, subscription_id: int, *, limit: int) -> list[StatusChangeRecord]:
        """The package's status changes, the latest first."""
        rows = [row for row in self._changes.rows() if row.subscription_id == subscription_id]
        rows.sort(key=lambda row: row.sequence, reverse=True)
        return [StatusChangeRecord.of(row) for row in rows[:limit]]

    async def deliveries_of_package(
        self, subscription_id: int, *, limit: int
    ) -> list[DeliveryView]:
        """The package's deliveries to any webhook, newest first."""
        rows = [row for row in self._deliveries.rows() if row.subscription_id == subscription_id]
        return [self._view(row) for row in reversed(rows)][:limit]

    async def attempts_of(self, delivery_ids: Collection[int]) -> dict[int, list[AttemptView]]:
        """The attempts of each delivery, oldest first."""
        found: dict[int, list[AttemptView]] = {i: [] for i in delivery_ids}
        for row in self._attempts.rows():
            if row.delivery_id in found:
                found[row.delivery_id].append(
                    AttemptView(
                        attempted_at=row.attempted_at,
                        response_status=row.response_status,
                        latency_ms=row.latency_ms,
                        error=row.error,
                    )
                )
        return found

    async def replay(
        self,
        *,
        webhook_id: int,
        now: datetime,
        delivery_id: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> int:
        """Queue deliveries again (one, or every one created in a range), leaving one being
        attempted right now alone; how many."""
        now = utc(now)
        since, until = utc_or_none(since), utc_or_none(until)
        replayed = 0
        for row in self._deliveries.rows():
            if (
                row.webhook_id != webhook_id
                or (delivery_id is not None and row.id != delivery_id)
                or (since is not None and row.created_at < since)
                or (until is not None and row.created_at >= until)
            ):
                continue
            # In flight: claimed, and the lease has not run out (a retry waiting is not).
            if row.state == PENDING and row.lease_until is not None and row.lease_until > now:
                continue
            self._deliveries.put(
                replace(
                    row,
                    state=PENDING,
                    attempts=0,
                    next_attempt_at=now,
                    lease_until=None,
                    delivered_at=None,
                )
            )
            replayed += 1
        return replayed

    async def exists(self, *, webhook_id: int, delivery_id: int) -> bool:
        """Whether a delivery of this webhook exists."""
        row = self._deliveries.get(delivery_id)
        return row is not None and row.webhook_id == webhook_id

    async def health(self, webhook_id: int, *, cap: int) -> DeliveryHealth:
        """A webhook's last success (the latest arrival among its newest delivered deliveries)
        and the failed attempts after it of its newest failed and pending deliveries."""
        mine = sorted(
            (row for row in self._deliveries.rows() if row.webhook_id == webhook_id),
            key=lambda row: row.id,
            reverse=True,
        )

        def newest(state: str, limit: int) -> list[DeliveryRow]:
            return [row for row in mine if row.state == state][:limit]

        arrived = [row.delivered_at for row in newest(DELIVERED, RECENT_SUCCESSES)]
        last_success_at = max((at for at in arrived if at is not None), default=None)
        failing = {row.id for row in newest(FAILED, cap) + newest(PENDING, cap)}
        failed = [
            row
            for row in self._attempts.rows()
            if row.delivery_id in failing
            and not (row.response_status is not None and 200 <= row.response_status < 300)
            and (last_success_at is None or row.attempted_at > last_success_at)
        ]
        return DeliveryHealth(
            last_success_at=last_success_at, consecutive_failures=min(len(failed), cap)
        )

    async def pending(self) -> PendingDeliveries:
        """The deliveries still to be sent to live, enabled webhooks."""
        created = [
            row.created_at
            for row in self._deliveries.rows()
            if row.state == PENDING and _sendable(self._tables.webhooks.get(row.webhook_id))
        ]
        return PendingDeliveries(count=len(created), oldest_created_at=min(created, default=None))


def _sendable(hook: WebhookRow | None) -> bool:
    return hook is not None and hook.deleted_at is None and hook.disabled_at is None
