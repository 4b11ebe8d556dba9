"""The webhook outbox: claiming due deliveries, recording attempts, listing and replaying.

A delivery is claimable when it is pending, due, its webhook is live and enabled, and no earlier
delivery of the same package to the same webhook is still pending: one package's notifications reach
a webhook in ``sequence`` order. Claiming moves ``next_attempt_at`` to the end of a lease, so a
dispatcher killed mid-send leaves the delivery to be claimed (and sent with the same ``webhook-id``)
again once the lease runs out; one that stops cleanly gives back what it did not send
(``release``). ``lease_until`` tells a claimed delivery from one waiting for a retry.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

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
from shiptrack.store.port import PendingDeliveries
from shiptrack.store.tables import (
    deliveries,
    delivery_attempts,
    status_changes,
    subscriptions,
    webhooks,
)
from shiptrack.store.webhooks import stored_signatures


def _delivery_view(row: sa.Row[tuple[object, ...]]) -> DeliveryView:
    """A delivery row joined to its package and status change, as lists show it."""
    return DeliveryView.of(
        row,
        carrier_code=row.carrier_code,
        tracking_number=row.tracking_number,
        status_code=row.status_code,
    )


def _deliveries_shown() -> sa.Select[tuple[object, ...]]:
    """Deliveries with the package's carrier and number and the change's status, as lists show
    them (test events have neither: outer joins)."""
    return (
        sa.select(
            deliveries,
            subscriptions.c.carrier_code,
            subscriptions.c.tracking_number,
            status_changes.c.status_code,
        )
        .outerjoin(subscriptions, subscriptions.c.id == deliveries.c.subscription_id)
        .outerjoin(status_changes, status_changes.c.id == deliveries.c.status_change_id)
    )


#: ``state = 'pending'`` written exactly as the partial index ``ix_deliveries_due`` says it: SQLite
#: uses a partial index only when the query repeats its predicate (a bound parameter does not).
_PENDING = sa.text("deliveries.state = 'pending'")


class SqlOutbox:
    """Status changes and deliveries in SQL (see :class:`shiptrack.store.port.Outbox`)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add_changes(self, changes: Sequence[StatusChangeRecord]) -> list[int]:
        """Keep status changes (each ``(subscription, sequence)`` unique); their ids, in order."""
        if not changes:
            return []
        result = await self._conn.execute(
            status_changes.insert().returning(status_changes.c.id, sort_by_parameter_order=True),
            [
                {
                    "subscription_id": change.subscription_id,
                    "sequence": change.sequence,
                    "previous_status": change.previous_status,
                    "status_code": change.status_code,
                    "status_detail_code": change.status_detail_code,
                    "occurred_at": change.occurred_at,
                    "detected_at": change.detected_at,
                    "correction": change.correction,
                }
                for change in changes
            ],
        )
        return [int(row[0]) for row in result]

    async def add_deliveries(self, entries: Sequence[OutboxEntry]) -> None:
        """Queue deliveries (the outbox), due at once, in the transaction of their change."""
        if not entries:
            return
        await self._conn.execute(
            deliveries.insert(),
            [
                {
                    "webhook_id": entry.webhook_id,
                    "status_change_id": entry.status_change_id,
                    "subscription_id": entry.subscription_id,
                    "sequence": entry.sequence,
                    "message_id": entry.message_id,
                    "payload": entry.payload,
                    "state": PENDING,
                    "attempts": 0,
                    "next_attempt_at": entry.created_at,
                    "created_at": entry.created_at,
                }
                for entry in entries
            ],
        )

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
        """Take up to ``limit`` due deliveries, oldest due first, each at the head of its queue.

        ``per_webhook`` (webhook id → free slots) and ``default_per_webhook`` cap how many go to one
        webhook, so a busy endpoint's backlog is not claimed only to wait for its turn: due rows are
        locked (``SKIP LOCKED``), the ones that fit are picked, and only those are leased.
        """
        earlier = deliveries.alias("earlier")
        head_of_queue = ~sa.exists().where(
            earlier.c.subscription_id == deliveries.c.subscription_id,
            earlier.c.webhook_id == deliveries.c.webhook_id,
            earlier.c.state == PENDING,
            earlier.c.sequence < deliveries.c.sequence,
        )
        capped = per_webhook is not None or default_per_webhook is not None
        due = (
            sa.select(deliveries.c.id, deliveries.c.webhook_id, deliveries.c.next_attempt_at)
            .join(webhooks, webhooks.c.id == deliveries.c.webhook_id)
            .where(
                deliveries.c.state == PENDING,
                deliveries.c.next_attempt_at <= now,
                webhooks.c.deleted_at.is_(None),
                webhooks.c.disabled_at.is_(None),
                head_of_queue,
            )
            .order_by(deliveries.c.next_attempt_at)
            .limit(limit * 4 if capped else limit)
            .with_for_update(skip_locked=True, of=deliveries)
        )
        if skip_webhooks:
            due = due.where(deliveries.c.webhook_id.notin_(list(skip_webhooks)))
        picked: sa.Select[tuple[int]]
        if capped:
            # Each webhook's free slots are applied by the database (a row number within each
            # webhook, oldest due first), so only the rows picked travel back, not every due row
            # looked at.
            locked = due.subquery("locked")
            free = {int(k): int(v) for k, v in (per_webhook or {}).items()}
            default = int(default_per_webhook or limit)
            cap: sa.ColumnElement[int] = (
                sa.case(free, value=locked.c.webhook_id, else_=default)
                if free
                else sa.literal(default, sa.Integer)
            )
            ranked = sa.select(
                locked.c.id,
                locked.c.next_attempt_at,
                sa.func.row_number()
                .over(
                    partition_by=locked.c.webhook_id,
                    order_by=(locked.c.next_attempt_at, locked.c.id),
                )
                .label("place"),
                cap.label("cap"),
            ).subquery("ranked")
            picked = (
                sa.select(ranked.c.id)
                .where(ranked.c.place <= ranked.c.cap)
                .order_by(ranked.c.next_attempt_at)
                .limit(limit)
            )
        else:
            picked = sa.select(due.subquery("locked").c.id)
        # One statement: the rows picked are leased and read back.
        claimed = await self._conn.execute(
            deliveries.update()
            .where(deliveries.c.id.in_(picked))
            .values(next_attempt_at=lease_until, lease_until=lease_until)
            .returning(
                deliveries.c.id,
                deliveries.c.webhook_id,
                deliveries.c.message_id,
                deliveries.c.payload,
                deliveries.c.attempts,
                deliveries.c.status_change_id,
            )
        )
        rows = list(claimed)
        if not rows:
            return []
        # What every delivery of one webhook shares, read once per webhook rather than per row.
        shared = {
            hook.id: {
                "webhook_id": hook.id,
                "account_id": hook.account_id,
                "lease_until": lease_until,
                "url": hook.url,
                "headers": hook.headers,
                "sealed_secret": hook.secret,
                "sealed_previous_secret": hook.previous_secret,
                "previous_secret_expires_at": hook.previous_secret_expires_at,
                "failing_since": hook.failing_since,
                "signatures": stored_signatures(hook.signatures),
            }
            for hook in await self._conn.execute(
                webhooks.select().where(webhooks.c.id.in_({row.webhook_id for row in rows}))
            )
        }
        return [
            ClaimedDelivery(
                id=row.id,
                message_id=row.message_id,
                payload=bytes(row.payload),
                attempts=row.attempts,
                test_event=row.status_change_id is None,
                **shared[row.webhook_id],
            )
            for row in rows
        ]

    async def record_attempts(self, attempts: Sequence[Attempt], *, again: bool = False) -> None:
        """Keep each attempt and move its delivery on (state, next attempt, delivered at), in two
        statements for the whole batch. A delivery whose lease was lost meanwhile keeps its attempt
        row and is left to the dispatcher holding it now.

        ``again``: these attempts may have been recorded already (an earlier try's commit may have
        gone through while the database stopped answering); an attempt already kept (same delivery,
        same start) is not kept twice, and its delivery, no longer under the lease, is not moved on
        twice."""
        if not attempts:
            return
        if again:
            attempts = await self._not_yet_kept(attempts)
            if not attempts:
                return
        await self._conn.execute(
            delivery_attempts.insert(),
            [
                {
                    "delivery_id": a.delivery.id,
                    "attempted_at": a.attempted_at,
                    "response_status": a.response_status,
                    "latency_ms": a.latency_ms,
                    "error": a.error,
                }
                for a in attempts
            ],
        )
        await self._conn.execute(
            deliveries.update()
            .where(
                deliveries.c.id == sa.bindparam("b_id"),
                deliveries.c.state == PENDING,
                deliveries.c.next_attempt_at == sa.bindparam("b_lease"),
            )
            .values(
                attempts=deliveries.c.attempts + 1,
                last_error=sa.bindparam("b_error"),
                lease_until=None,
                state=sa.bindparam("b_state"),
                next_attempt_at=sa.bindparam("b_next"),
                delivered_at=sa.bindparam("b_delivered"),
            ),
            [
                {
                    "b_id": a.delivery.id,
                    "b_lease": a.delivery.lease_until,
                    "b_error": a.error,
                    "b_state": a.state,
                    "b_next": a.next_attempt_at,
                    "b_delivered": a.delivered_at,
                }
                for a in attempts
            ],
        )

    async def _not_yet_kept(self, attempts: Sequence[Attempt]) -> list[Attempt]:
        rows = await self._conn.execute(
            sa.select(delivery_attempts.c.delivery_id, delivery_attempts.c.attempted_at).where(
                delivery_attempts.c.delivery_id.in_({a.delivery.id for a in attempts})
            )
        )
        kept = {(row.delivery_id, row.attempted_at) for row in rows}
        return [a for a in attempts if (a.delivery.id, a.attempted_at) not in kept]

    async def release(self, claimed: Collection[ClaimedDelivery], *, now: datetime) -> None:
        """Give claimed deliveries back unsent (no attempt counted): due at once, for any
        dispatcher. Only deliveries still held under this caller's lease change."""
        if not claimed:
            return
        await self._conn.execute(
            deliveries.update()
            .where(
                deliveries.c.id == sa.bindparam("b_id"),
                deliveries.c.state == PENDING,
                deliveries.c.lease_until == sa.bindparam("b_lease"),
            )
            .values(lease_until=None, next_attempt_at=now),
            [{"b_id": d.id, "b_lease": d.lease_until} for d in claimed],
        )

    async def release_claim(self, *, lease_until: datetime, now: datetime) -> int:
        """Give back whatever a claim that set ``lease_until`` took, when the claimer never learnt
        what (the database went away while answering it); how many. A claim sets
        ``next_attempt_at`` to the lease, so this reads the due index, not the table."""
        result = await self._conn.execute(
            deliveries.update()
            .where(
                deliveries.c.state == PENDING,
                deliveries.c.next_attempt_at == lease_until,
                deliveries.c.lease_until == lease_until,
            )
            .values(lease_until=None, next_attempt_at=now)
        )
        return int(result.rowcount)

    async def add_test_delivery(
        self, *, webhook_id: int, message_id: str, payload: bytes, now: datetime
    ) -> int:
        """Queue a test event for one webhook (outside any package's order)."""
        result = await self._conn.execute(
            deliveries.insert()
            .values(
                webhook_id=webhook_id,
                status_change_id=None,
                subscription_id=None,
                sequence=0,
                message_id=message_id,
                payload=payload,
                state=PENDING,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            .returning(deliveries.c.id)
        )
        return int(result.scalar_one())

    async def page(
        self,
        *,
        webhook_id: int,
        before_id: int | None,
        limit: int,
        state: str | None = None,
    ) -> list[DeliveryView]:
        """A page of a webhook's deliveries, newest first, with their package and status."""
        query = _deliveries_shown().where(deliveries.c.webhook_id == webhook_id)
        if before_id is not None:
            query = query.where(deliveries.c.id < before_id)
        if state is not None:
            query = query.where(deliveries.c.state == state)
        rows = await self._conn.execute(query.order_by(deliveries.c.id.desc()).limit(limit))
        return [_delivery_view(row) for row in rows]

    async def attempts_of(self, delivery_ids: Collection[int]) -> dict[int, list[AttemptView]]:
        """The attempts of each delivery, oldest first."""
        found: dict[int, list[AttemptView]] = {i: [] for i in delivery_ids}
        if not delivery_ids:
            return found
        rows = await self._conn.execute(
            delivery_attempts.select()
            .where(delivery_attempts.c.delivery_id.in_(list(delivery_ids)))
            .order_by(delivery_attempts.c.id)
        )
        for row in rows:
            found[row.delivery_id].append(
                AttemptView(
                    attempted_at=row.attempted_at,
                    response_status=row.response_status,
                    latency_ms=row.latency_ms,
                    error=row.error,
                )
            )
        return found

    async def changes_of(self, subscription_id: int, *, limit: int) -> list[StatusChangeRecord]:
        """The package's status changes, latest first (its ``(subscription_id, sequence)``
        unique index, walked backwards)."""
        rows = await self._conn.execute(
            status_changes.select()
            .where(status_changes.c.subscription_id == subscription_id)
            .order_by(status_changes.c.sequence.desc())
            .limit(limit)
        )
        return [StatusChangeRecord.of(row) for row in rows]

    async def deliveries_of_package(
        self, subscription_id: int, *, limit: int
    ) -> list[DeliveryView]:
        """The package's deliveries to any webhook, newest first (the ``subscription_id``
        index)."""
        query = (
            _deliveries_shown()
            .where(deliveries.c.subscription_id == subscription_id)
            .order_by(deliveries.c.id.desc())
            .limit(limit)
        )
        return [_delivery_view(row) for row in await self._conn.execute(query)]

    async def replay(
        self,
        *,
        webhook_id: int,
        now: datetime,
        delivery_id: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> int:
        """Send deliveries again (same ``webhook-id``): one by id, or every one created in a range.

        A delivery being attempted right now is left alone. Returns how many were queued again.
        """
        condition = [deliveries.c.webhook_id == webhook_id]
        if delivery_id is not None:
            condition.append(deliveries.c.id == delivery_id)
        if since is not None:
            condition.append(deliveries.c.created_at >= since)
        if until is not None:
            condition.append(deliveries.c.created_at < until)
        # In flight: claimed, and the lease has not run out (a retry waiting for later is not).
        not_in_flight = sa.or_(
            deliveries.c.state != PENDING,
            deliveries.c.lease_until.is_(None),
            deliveries.c.lease_until <= now,
        )
        result = await self._conn.execute(
            deliveries.update()
            .where(*condition, not_in_flight)
            .values(
                state=PENDING, attempts=0, next_attempt_at=now, lease_until=None, delivered_at=None
            )
        )
        return int(result.rowcount)

    async def exists(self, *, webhook_id: int, delivery_id: int) -> bool:
        """Whether a delivery of this webhook exists."""
        row = await self._conn.execute(
            sa.select(deliveries.c.id).where(
                deliveries.c.id == delivery_id, deliveries.c.webhook_id == webhook_id
            )
        )
        return row.first() is not None

    async def health(self, webhook_id: int, *, cap: int) -> DeliveryHealth:
        """A webhook's last success and the failed attempts after it, each read as a few short
        ranges of ``ix_deliveries_webhook_state``: the last success is the latest arrival among
        its :data:`RECENT_SUCCESSES` newest delivered deliveries; the failures are the attempts
        after it of its ``cap`` newest failed and ``cap`` newest pending deliveries."""
        mine = deliveries.c.webhook_id == webhook_id

        def newest(state: str, limit: int) -> sa.Select[tuple[int]]:
            return (
                sa.select(deliveries.c.id)
                .where(mine, deliveries.c.state == state)
                .order_by(deliveries.c.id.desc())
                .limit(limit)
            )

        recent = newest(DELIVERED, RECENT_SUCCESSES).add_columns(deliveries.c.delivered_at)
        last_success_at = await self._conn.scalar(
            sa.select(sa.func.max(recent.subquery().c.delivered_at))
        )
        failing = sa.union_all(
            sa.select(newest(FAILED, cap).subquery().c.id),
            sa.select(newest(PENDING, cap).subquery().c.id),
        ).subquery()
        status = delivery_attempts.c.response_status
        failed = (
            sa.select(delivery_attempts.c.id)
            .where(
                delivery_attempts.c.delivery_id.in_(sa.select(failing.c.id)),
                sa.or_(status.is_(None), status < 200, status >= 300),
            )
            .limit(cap)
        )
        if last_success_at is not None:
            failed = failed.where(delivery_attempts.c.attempted_at > last_success_at)
        counted = await self._conn.scalar(sa.select(sa.func.count()).select_from(failed.subquery()))
        return DeliveryHealth(
            last_success_at=last_success_at, consecutive_failures=int(counted or 0)
        )

    async def pending(self) -> PendingDeliveries:
        """Pending deliveries of live, enabled webhooks: their number and the oldest one's
        creation time. Read through the partial index of pending deliveries (``ix_deliveries_due``,
        whose predicate the query repeats word for word so that SQLite uses it too)."""
        row = (
            await self._conn.execute(
                sa.select(sa.func.count(), sa.func.min(deliveries.c.created_at))
                .select_from(deliveries.join(webhooks, webhooks.c.id == deliveries.c.webhook_id))
                .where(
                    _PENDING,
                    webhooks.c.deleted_at.is_(None),
                    webhooks.c.disabled_at.is_(None),
                )
            )
        ).one()
        return PendingDeliveries(count=int(row[0] or 0), oldest_created_at=row[1])
