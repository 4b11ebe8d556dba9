"""Subscriptions (tracked packages) and their events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from shiptrack.domain.statuses import StatusCode
from shiptrack.domain.tracking import StartRequest, Subscription, TrackEvent
from shiptrack.store import histories
from shiptrack.store.dialect import insert
from shiptrack.store.tables import subscriptions, tracking_histories

_SUBSCRIPTION_FIELDS = frozenset(Subscription.__dataclass_fields__)


def subscription_from_row(row: sa.Row[tuple[object, ...]]) -> Subscription:
    """A subscription from a ``subscriptions`` row."""
    return Subscription(**{k: v for k, v in row._mapping.items() if k in _SUBSCRIPTION_FIELDS})


async def start(conn: AsyncConnection, requests: Sequence[StartRequest], *, now: datetime) -> None:
    """Watch packages: a new subscription is due at once; a stopped one resumes; an active one is
    left exactly as it is (start is idempotent). One statement for the whole batch."""
    if not requests:
        return
    # One row per package, in key order: concurrent batches from several processes then lock rows
    # in the same order and cannot deadlock.
    requests = sorted(
        {(r.account_id, r.carrier_code, r.tracking_number): r for r in requests}.values(),
        key=lambda r: (r.account_id, r.carrier_code, r.tracking_number),
    )
    statement = insert(conn, subscriptions)
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=["account_id", "carrier_code", "tracking_number"],
            set_={
                "active": True,
                "connection_id": statement.excluded.connection_id,
                "next_check_at": statement.excluded.next_check_at,
                "stop_reason": None,
                "stopped_at": None,
                # A restart notifies the current state, even if it has not changed.
                "announce": True,
                # A check claimed before the stop must not record over the restart (it would
                # clear ``announce`` and the promised notification would never be sent): without
                # its lease it drops its result, and the next claim announces.
                "lease_until": None,
                "updated_at": statement.excluded.updated_at,
            },
            where=sa.not_(subscriptions.c.active),
        ),
        [
            {
                "account_id": request.account_id,
                "connection_id": request.connection_id,
                "carrier_code": request.carrier_code,
                "tracking_number": request.tracking_number,
                "active": True,
                "status_code": StatusCode.UN,
                "sequence": 0,
                "next_check_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for request in requests
        ],
    )


def _the_package(
    account_id: int, carrier_code: str, tracking_number: str
) -> sa.ColumnElement[bool]:
    """The account's subscription to one package (unique: at most one row)."""
    return sa.and_(
        subscriptions.c.account_id == account_id,
        subscriptions.c.carrier_code == carrier_code,
        subscriptions.c.tracking_number == tracking_number,
    )


async def find(
    conn: AsyncConnection, *, account_id: int, carrier_code: str, tracking_number: str
) -> Subscription | None:
    """The account's subscription to a package, active or not."""
    row = (
        await conn.execute(
            subscriptions.select().where(_the_package(account_id, carrier_code, tracking_number))
        )
    ).first()
    return subscription_from_row(row) if row else None


async def stop(conn: AsyncConnection, subscription_id: int, *, reason: str, now: datetime) -> None:
    """Stop watching a package (idempotent: a stopped subscription keeps its first reason).

    A check under way loses its lease, so nothing of it is recorded (the account was told 204),
    and a stopped package holds no lease."""
    await conn.execute(
        subscriptions.update()
        .where(subscriptions.c.id == subscription_id, subscriptions.c.active)
        .values(
            active=False,
            stop_reason=reason,
            stopped_at=now,
            next_check_at=None,
            lease_until=None,
            updated_at=now,
        )
    )


async def page(
    conn: AsyncConnection,
    *,
    account_id: int,
    after_id: int,
    limit: int,
    status_code: str | None = None,
    carrier_code: str | None = None,
    active: bool | None = None,
) -> list[Subscription]:
    """One page of the account's subscriptions in id order, after ``after_id``."""
    query = subscriptions.select().where(
        subscriptions.c.account_id == account_id, subscriptions.c.id > after_id
    )
    if status_code is not None:
        query = query.where(subscriptions.c.status_code == status_code)
    if carrier_code is not None:
        query = query.where(subscriptions.c.carrier_code == carrier_code)
    if active is not None:
        query = query.where(subscriptions.c.active == active)
    rows = await conn.execute(query.order_by(subscriptions.c.id).limit(limit))
    return [subscription_from_row(row) for row in rows]


async def find_with_events(
    conn: AsyncConnection, *, account_id: int, carrier_code: str, tracking_number: str
) -> tuple[Subscription, list[TrackEvent]] | None:
    """The account's subscription to a package and its stored events, in one statement."""
    row = (
        await conn.execute(
            sa.select(subscriptions, tracking_histories.c.events.label("stored_events"))
            .outerjoin(
                tracking_histories, tracking_histories.c.subscription_id == subscriptions.c.id
            )
            .where(_the_package(account_id, carrier_code, tracking_number))
        )
    ).first()
    if row is None:
        return None
    return subscription_from_row(row), histories.scans(row.stored_events)
