"""The tracking engine's queries: claim due subscriptions, read what is known, record results.

Claiming moves ``next_check_at`` forward by the lease: a claimed subscription is not due for anyone
else until the lease runs out, and a worker that dies mid-check simply lets it become due again. On
PostgreSQL the claim skips rows another worker is claiming (``FOR UPDATE SKIP LOCKED``); on
SQLite the write lock serialises claims. A worker that stops cleanly, or cannot finish what it
claimed, gives it back at once (:func:`release`, :func:`release_claim`) instead of letting it wait
for the lease. Every write of a claimed row matches on the lease, so a write repeated after its
commit went through (the database answered too late) is a no-op.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from shiptrack.domain.check import ClaimedPackage, ConnectionState, PackageState
from shiptrack.store.subscriptions import subscription_from_row
from shiptrack.store.tables import (
    accounts,
    carrier_connections,
    deliveries,
    status_changes,
    subscriptions,
    webhooks,
)


def _claimed(row: Any, lease_until: datetime | None) -> ClaimedPackage:
    return ClaimedPackage(
        subscription=subscription_from_row(row),
        created_at=row.created_at,
        status_since=row.status_since,
        announce=row.announce,
        settled=row.last_checked_at is not None and not row.announce,
        lease_until=lease_until,
    )


#: ``WHERE active`` written exactly as the partial index ``ix_subscriptions_due`` says it: SQLite
#: uses a partial index only when the query repeats its predicate, and SQLAlchemy would render the
#: boolean column as ``active = 1`` there.
_ACTIVE = sa.text("subscriptions.active")


async def claim_due(
    conn: AsyncConnection, *, now: datetime, lease_until: datetime, limit: int
) -> list[ClaimedPackage]:
    """Take up to ``limit`` due subscriptions, oldest due first."""
    due = (
        sa.select(subscriptions.c.id)
        .where(_ACTIVE, subscriptions.c.next_check_at <= now)
        .order_by(subscriptions.c.next_check_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = await conn.execute(
        subscriptions.update()
        .where(subscriptions.c.id.in_(due.scalar_subquery()))
        .values(next_check_at=lease_until, lease_until=lease_until)
        .returning(*subscriptions.c)
    )
    return [_claimed(row, lease_until) for row in rows]


async def lock_for_push(
    conn: AsyncConnection, *, account_id: int, carrier_code: str, tracking_numbers: Sequence[str]
) -> list[ClaimedPackage]:
    """The account's active subscriptions to these packages, locked for this transaction.

    A push takes precedence over a check under way: recording it clears the check's lease, so the
    check's (older) result is dropped instead of overwriting the push.
    """
    rows = await conn.execute(
        subscriptions.select()
        .where(
            subscriptions.c.account_id == account_id,
            subscriptions.c.carrier_code == carrier_code,
            subscriptions.c.tracking_number.in_(list(tracking_numbers)),
            _ACTIVE,
        )
        .with_for_update()
    )
    return [_claimed(row, row.lease_until) for row in rows]


async def connection_states(
    conn: AsyncConnection, connection_ids: Iterable[int]
) -> dict[int, ConnectionState]:
    """The connections (deleted ones included) and their accounts' engine settings."""
    rows = await conn.execute(
        sa.select(carrier_connections, accounts.c.exception_watch_days)
        .join(accounts, accounts.c.id == carrier_connections.c.account_id)
        .where(carrier_connections.c.id.in_(set(connection_ids)))
    )
    return {
        row.id: ConnectionState(
            id=row.id,
            account_id=row.account_id,
            carrier_code=row.carrier_code,
            simulated=row.simulated,
            base_url=row.base_url,
            account_number=row.account_number,
            sealed_credentials=row.credentials,
            backoff_until=row.backoff_until,
            failures=row.failures,
            last_error=row.last_error,
            exception_watch_days=row.exception_watch_days,
            requests_per_minute=row.requests_per_minute,
            options=row.options,
            deleted=row.deleted_at is not None,
        )
        for row in rows
    }


async def track_webhook_ids(
    conn: AsyncConnection, account_ids: Iterable[int]
) -> dict[int, list[int]]:
    """The live ``track`` webhooks of each account."""
    rows = await conn.execute(
        sa.select(webhooks.c.id, webhooks.c.account_id)
        .where(
            webhooks.c.account_id.in_(set(account_ids)),
            webhooks.c.event == "track",
            webhooks.c.deleted_at.is_(None),
        )
        .order_by(webhooks.c.id)
    )
    found: dict[int, list[int]] = {}
    for row in rows:
        found.setdefault(row.account_id, []).append(row.id)
    return found


async def owned(conn: AsyncConnection, claimed: Sequence[ClaimedPackage]) -> set[int]:
    """The claimed subscriptions still held by this caller (same lease, not stopped), locked for
    the rest of the transaction."""
    if not claimed:
        return set()
    rows = await conn.execute(
        sa.select(subscriptions.c.id, subscriptions.c.lease_until)
        .where(subscriptions.c.id.in_([item.subscription.id for item in claimed]), _ACTIVE)
        .with_for_update()
    )
    leases = {row.id: row.lease_until for row in rows}
    return {
        item.subscription.id
        for item in claimed
        if item.subscription.id in leases and leases[item.subscription.id] == item.lease_until
    }


async def update_checked(conn: AsyncConnection, packages: list[PackageState]) -> None:
    """Write the results of a batch of checks in one statement; the caller established with
    :func:`owned` that it holds them. The lease is cleared, and so is a restart's ``announce``:
    the check announced the current state."""
    if not packages:
        return
    await conn.execute(
        subscriptions.update()
        .where(subscriptions.c.id == sa.bindparam("b_id"))
        .values(
            lease_until=None,
            last_error=None,
            announce=False,
            **{name: sa.bindparam(f"b_{name}") for name in _CHECK_COLUMNS},
        ),
        [_checked_row(package) for package in packages],
    )


#: The columns a check sets from its outcome (besides those it clears).
_CHECK_COLUMNS = (
    "status_code",
    "status_detail_code",
    "carrier_status_code",
    "carrier_detail_code",
    "carrier_status_description",
    "exception_description",
    "ship_date",
    "estimated_delivery_date",
    "actual_delivery_date",
    "sequence",
    "status_since",
    "last_checked_at",
    "updated_at",
    "active",
    "stop_reason",
    "stopped_at",
    "next_check_at",
)


def _checked_row(package: PackageState) -> dict[str, Any]:
    stopped = package.stop_reason is not None
    return {
        "b_id": package.subscription_id,
        "b_status_code": package.status_code,
        "b_status_detail_code": package.status_detail_code,
        "b_carrier_status_code": package.carrier_status_code,
        "b_carrier_detail_code": package.carrier_detail_code,
        "b_carrier_status_description": package.carrier_status_description,
        "b_exception_description": package.exception_description,
        "b_ship_date": package.ship_date,
        "b_estimated_delivery_date": package.estimated_delivery_date,
        "b_actual_delivery_date": package.actual_delivery_date,
        "b_sequence": package.sequence,
        "b_status_since": package.status_since,
        "b_last_checked_at": package.checked_at,
        "b_updated_at": package.checked_at,
        "b_active": not stopped,
        "b_stop_reason": package.stop_reason,
        "b_stopped_at": package.checked_at if stopped else None,
        "b_next_check_at": package.next_check_at,
    }


async def insert_status_changes(conn: AsyncConnection, rows: list[dict[str, Any]]) -> list[int]:
    """Record status changes (each ``(subscription, sequence)`` unique); their ids, in order."""
    if not rows:
        return []
    result = await conn.execute(
        status_changes.insert().returning(status_changes.c.id, sort_by_parameter_order=True), rows
    )
    return [int(row[0]) for row in result]


async def insert_deliveries(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Queue webhook deliveries (the outbox), in the transaction that recorded the change."""
    if rows:
        await conn.execute(deliveries.insert(), rows)


async def reschedule(
    conn: AsyncConnection,
    claimed: Sequence[ClaimedPackage],
    *,
    next_check_at: datetime,
    error: str | None,
    now: datetime,
) -> None:
    """Put subscriptions back unchanged (after a transport error), with the error to show."""
    for item in claimed:
        await conn.execute(
            subscriptions.update()
            .where(
                subscriptions.c.id == item.subscription.id,
                subscriptions.c.lease_until == item.lease_until,
            )
            .values(
                lease_until=None,
                next_check_at=sa.case((subscriptions.c.active, next_check_at), else_=sa.null()),
                last_error=error,
                updated_at=now,
            )
        )


async def release(
    conn: AsyncConnection, claimed: Sequence[ClaimedPackage], *, now: datetime
) -> None:
    """Give claimed subscriptions back unchecked: due at once, for any worker. Only rows still
    held under this caller's lease change (one taken over, recorded or stopped meanwhile is left
    as it is); ``last_error`` and the rest stay."""
    rows = [
        {"b_id": item.subscription.id, "b_lease": item.lease_until}
        for item in claimed
        if item.lease_until is not None
    ]
    if not rows:
        return
    await conn.execute(
        subscriptions.update()
        .where(
            subscriptions.c.id == sa.bindparam("b_id"),
            subscriptions.c.lease_until == sa.bindparam("b_lease"),
        )
        .values(
            lease_until=None,
            next_check_at=sa.case((subscriptions.c.active, now), else_=sa.null()),
        ),
        rows,
    )


async def release_claim(conn: AsyncConnection, *, lease_until: datetime, now: datetime) -> int:
    """Give back whatever a claim that set ``lease_until`` took, when the claimer never learnt
    what (the database went away while answering it); how many rows. A claim sets
    ``next_check_at`` to the lease, so this reads the due index, not the table."""
    result = await conn.execute(
        subscriptions.update()
        .where(
            _ACTIVE,
            subscriptions.c.next_check_at == lease_until,
            subscriptions.c.lease_until == lease_until,
        )
        .values(lease_until=None, next_check_at=now)
    )
    return int(result.rowcount)


async def record_carrier_failure(
    conn: AsyncConnection, connection_id: int, *, until: datetime, error: str
) -> None:
    """Back a connection off: no worker calls the carrier through it before ``until``. Written
    again (its first commit went through unseen), it counts the failure once."""
    await conn.execute(
        carrier_connections.update()
        .where(
            carrier_connections.c.id == connection_id,
            sa.or_(
                carrier_connections.c.backoff_until.is_(None),
                carrier_connections.c.backoff_until != until,
            ),
        )
        .values(
            backoff_until=until,
            failures=carrier_connections.c.failures + 1,
            last_error=error,
        )
    )


async def record_carrier_success(conn: AsyncConnection, connection_id: int) -> None:
    """Clear a connection's back-off after a successful call."""
    await conn.execute(
        carrier_connections.update()
        .where(carrier_connections.c.id == connection_id, carrier_connections.c.failures > 0)
        .values(backoff_until=None, failures=0, last_error=None)
    )
