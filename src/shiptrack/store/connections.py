"""Carrier connections of an account."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from shiptrack.domain.accounts import Connection
from shiptrack.store.tables import carrier_connections, subscriptions

_live = carrier_connections.c.deleted_at.is_(None)


def _connection(row: sa.Row[tuple[object, ...]], *, primary: bool) -> Connection:
    return Connection(
        id=row.id,
        account_id=row.account_id,
        carrier_code=row.carrier_code,
        nickname=row.nickname,
        account_number=row.account_number,
        base_url=row.base_url,
        simulated=row.simulated,
        primary=primary,
    )


async def create_connection(
    conn: AsyncConnection,
    *,
    account_id: int,
    carrier_code: str,
    nickname: str,
    account_number: str | None,
    base_url: str | None,
    sealed_credentials: str | None,
    simulated: bool,
    now: datetime,
    requests_per_minute: float | None = None,
    options: dict[str, str] | None = None,
) -> int:
    """Store a new connection and return its id."""
    result = await conn.execute(
        carrier_connections.insert()
        .values(
            account_id=account_id,
            carrier_code=carrier_code,
            nickname=nickname,
            account_number=account_number,
            base_url=base_url,
            credentials=sealed_credentials,
            simulated=simulated,
            requests_per_minute=requests_per_minute,
            options=options,
            created_at=now,
        )
        .returning(carrier_connections.c.id)
    )
    return int(result.scalar_one())


async def list_connections(
    conn: AsyncConnection, account_id: int, *, codes: Collection[str] | None = None
) -> list[Connection]:
    """The account's live connections, oldest first; the oldest of each carrier is primary.

    ``codes`` narrows the list to those connection carrier codes.
    """
    query = (
        carrier_connections.select()
        .where(carrier_connections.c.account_id == account_id, _live)
        .order_by(carrier_connections.c.id)
    )
    rows = list(await conn.execute(query))
    seen: set[str] = set()
    found = []
    for row in rows:
        primary = row.carrier_code not in seen
        seen.add(row.carrier_code)
        if codes is None or row.carrier_code in codes:
            found.append(_connection(row, primary=primary))
    return found


async def get_connection(
    conn: AsyncConnection, account_id: int, connection_id: int
) -> Connection | None:
    """One live connection of the account."""
    return next(
        (c for c in await list_connections(conn, account_id) if c.id == connection_id), None
    )


async def delete_connection(
    conn: AsyncConnection,
    *,
    account_id: int,
    connection_id: int,
    successor_id: int | None,
    now: datetime,
) -> None:
    """Disconnect a carrier account.

    Its active subscriptions move to ``successor_id`` (another connection of the same carrier)
    when there is one, and stop with the reason ``carrier_disconnected`` otherwise.
    """
    await conn.execute(
        carrier_connections.update()
        .where(
            carrier_connections.c.id == connection_id,
            carrier_connections.c.account_id == account_id,
        )
        .values(deleted_at=now)
    )
    moved = subscriptions.update().where(
        subscriptions.c.connection_id == connection_id, subscriptions.c.active
    )
    if successor_id is not None:
        await conn.execute(moved.values(connection_id=successor_id, updated_at=now))
    else:
        await conn.execute(
            moved.values(
                active=False,
                stop_reason="carrier_disconnected",
                stopped_at=now,
                next_check_at=None,
                updated_at=now,
            )
        )
